import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import type { Actor } from '../actor.js';
import { authenticationHook, type Authenticator } from './authenticate.js';

const actor: Actor = { type: 'client', id: '0b7f3c2e-5d1a-4e8b-9c6f-000000000001', name: 'Billing', permissions: new Set() };

/** A door whose `authenticated` step throws, with the actor known at once or after a wait. */
async function doorWith(authenticate: Authenticator['authenticate']) {
  const app = Fastify();
  app.addHook(
    'onRequest',
    authenticationHook({ authenticate }, () => {
      throw new Error('counting the caller failed');
    }),
  );
  app.get('/', () => ({ ok: true }));
  await app.ready();
  return app;
}

describe('the authentication hook', () => {
  it.each([
    ['known at once', () => actor],
    ['known after a wait', () => Promise.resolve(actor)],
  ])('ends the request with an error when what follows a caller let in throws (%s), rather than leaving it waiting', async (_, authenticate) => {
    const app = await doorWith(authenticate);
    try {
      const response = await app.inject({ method: 'GET', url: '/' });
      expect(response.statusCode).toBe(500);
    } finally {
      await app.close();
    }
  });
});
