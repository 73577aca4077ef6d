import { sign } from 'node:crypto';
import { sql } from 'kysely';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../actor.js';
import { testDialects } from '../../../../test/support/databases.js';
import {
  answerOf,
  basicHeader,
  builtInRoleIds,
  INSECURE,
  newClient as newClientOf,
  tokenFor as tokenOf,
  type ClientCredentials,
} from '../../../../test/support/oauth.js';
import { startTestServer, type TestServer } from '../../../../test/support/server.js';

/**
 * Token introspection (RFC 7662) and revocation (RFC 7009), both behind client authentication:
 * a dead token is only `{"active": false}`, and a client revokes
 * its own tokens and nobody else's.
 */
const NO_THROTTLE = { perClient: 10_000, perAddress: 100_000, windowSeconds: 60 };
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

type Client = ClientCredentials;

describe.each(testDialects())('introspection and revocation (RFC 7662, RFC 7009) on %s', (dialect) => {
  let server: TestServer;
  let as: oauth.AuthorizationServer;
  let roleIds: { viewer: string; administrator: string };
  /** Holds no clients:read: sees only its own tokens. */
  let plain: Client;
  /** A Viewer, who holds clients:read. */
  let viewer: Client;

  const newClient = (name: string, roleId: string | null) => newClientOf(server, name, roleId);
  const tokenFor = (client: Client, scope?: string) => tokenOf(as, client, { method: 'client_secret_post', scope });

  const post = async (path: string, body: Record<string, string>, headers: Record<string, string> = {}) =>
    answerOf(await fetch(`${server.url}${path}`, { method: 'POST', headers: { ...FORM, ...headers }, body: new URLSearchParams(body) }));

  const introspect = (caller: Client, token: string) => post('/oauth/introspect', { token }, { authorization: basicHeader(caller) });
  const revoke = (caller: Client, token: string, extra: Record<string, string> = {}) =>
    post('/oauth/revoke', { token, ...extra }, { authorization: basicHeader(caller) });
  /** The token with its lifetime moved into the past, signed with the server's own key: dead by expiry alone. */
  const expiredCopyOf = (token: string) => {
    const now = Math.floor(Date.now() / 1000);
    const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const input = `${b64url(decodeProtectedHeader(token))}.${b64url({ ...decodeJwt(token), iat: now - 7200, exp: now - 3600 })}`;
    return `${input}.${sign(null, Buffer.from(input), server.services.signingKeys.current().privateKey).toString('base64url')}`;
  };
  const meStatus = async (token: string) => (await fetch(`${server.url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } })).status;

  beforeAll(async () => {
    server = await startTestServer(dialect, { services: { throttleLimits: NO_THROTTLE } });
    roleIds = await builtInRoleIds(server);
    as = await oauth.processDiscoveryResponse(new URL(server.url), await oauth.discoveryRequest(new URL(server.url), { algorithm: 'oauth2', ...INSECURE }));
    const auditor = await server.services.roles.create(SYSTEM_ACTOR, { name: `auditor ${dialect}`, permissions: ['audit:read'] });
    plain = await newClient('introspects its own', auditor.id);
    viewer = await newClient('introspects all', roleIds.viewer);
  });
  afterAll(async () => server?.close());

  describe('introspection (RFC 7662)', () => {
    it('requires client authentication: 401 invalid_client without it or with a wrong secret, never token information', async () => {
      const token = await tokenFor(plain);
      const anonymous = await post('/oauth/introspect', { token });
      expect(anonymous.status).toBe(401);
      expect(anonymous.json['error']).toBe('invalid_client');
      expect(anonymous.json).not.toHaveProperty('active');

      const wrong = await introspect({ id: plain.id, secret: `${plain.secret}x` }, token);
      expect(wrong.status).toBe(401);
      expect(wrong.json['error']).toBe('invalid_client');
      expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic\b/i);

      // A bearer token is not client authentication either.
      const withBearer = await post('/oauth/introspect', { token }, { authorization: `Bearer ${token}` });
      expect(withBearer.status).toBe(401);
      expect(withBearer.json).not.toHaveProperty('active');
    });

    it('describes an active token of the caller: active, client_id, sub, scope, iss, aud, exp, iat, jti (oauth4webapi)', async () => {
      const token = await tokenFor(plain);
      const claims = decodeJwt(token);
      const response = await oauth.introspectionRequest(as, { client_id: plain.id }, oauth.ClientSecretBasic(plain.secret), token, INSECURE);
      const answer = await oauth.processIntrospectionResponse(as, { client_id: plain.id }, response);
      expect(answer.active).toBe(true);
      expect(answer.client_id).toBe(plain.id);
      expect(answer.sub).toBe(plain.id);
      expect(answer.scope).toBe('audit:read');
      expect(answer.iss).toBe(server.url);
      expect(answer.aud === server.config.audience || (Array.isArray(answer.aud) && answer.aud.includes(server.config.audience))).toBe(true);
      expect(answer.exp).toBe(claims.exp);
      expect(answer.iat).toBe(claims.iat);
      expect(answer.jti).toBe(claims.jti);
      if (answer.token_type !== undefined) expect(String(answer.token_type).toLowerCase()).toBe('bearer');
    });

    it('accepts client_secret_post for introspection too', async () => {
      const token = await tokenFor(plain);
      const answer = await post('/oauth/introspect', { token, client_id: plain.id, client_secret: plain.secret });
      expect(answer.status).toBe(200);
      expect(answer.json['active']).toBe(true);
    });

    it('says only {"active": false} about another client’s token to a caller without clients:read', async () => {
      const othersToken = await tokenFor(viewer);
      const answer = await introspect(plain, othersToken);
      expect(answer.status).toBe(200);
      expect(answer.json).toEqual({ active: false });
      expect(answer.text).not.toContain(viewer.id);
    });

    it('describes another client’s token to a caller whose role holds clients:read', async () => {
      const othersToken = await tokenFor(plain);
      const answer = await introspect(viewer, othersToken);
      expect(answer.status).toBe(200);
      expect(answer.json).toMatchObject({ active: true, client_id: plain.id, sub: plain.id, scope: 'audit:read' });
    });

    it('says only {"active": false} about garbage, forged and expired tokens', async () => {
      const genuine = await tokenFor(plain);
      const expired = expiredCopyOf(genuine);
      const [h, p] = genuine.split('.');
      const dead = ['garbage', 'a.b.c', `${h}.${p}.`, `${h}.${p}.${'A'.repeat(86)}`, expired, 'x'.repeat(5000)];
      for (const token of dead) {
        const answer = await introspect(viewer, token);
        expect(answer.status, token.slice(0, 40)).toBe(200);
        expect(answer.json, token.slice(0, 40)).toEqual({ active: false });
      }
    });

    it('answers invalid_request when the token parameter is missing', async () => {
      const answer = await post('/oauth/introspect', {}, { authorization: basicHeader(plain) });
      expect(answer.status).toBe(400);
      expect(answer.json['error']).toBe('invalid_request');
    });
  });

  describe('revocation (RFC 7009)', () => {
    it('revokes the caller’s own token: 200, then 401 at the APIs and inactive at introspection, while its other tokens still work', async () => {
      const client = await newClient('revokes its own', roleIds.viewer);
      const [doomed, kept] = [await tokenFor(client), await tokenFor(client)];
      expect(await meStatus(doomed)).toBe(200);

      const response = await oauth.revocationRequest(as, { client_id: client.id }, oauth.ClientSecretBasic(client.secret), doomed, INSECURE);
      await expect(oauth.processRevocationResponse(response)).resolves.toBeUndefined();

      expect(await meStatus(doomed)).toBe(401);
      expect((await introspect(client, doomed)).json).toEqual({ active: false });
      expect((await introspect(viewer, doomed)).json).toEqual({ active: false });
      expect(await meStatus(kept)).toBe(200);
      expect((await introspect(client, kept)).json['active']).toBe(true);
      // Revoking twice is still a success, and the token stays dead.
      expect((await revoke(client, doomed)).status).toBe(200);
      expect(await meStatus(doomed)).toBe(401);
    });

    it('keeps a revoked token dead after the client is disabled and re-enabled', async () => {
      const client = await newClient('revoked then re-enabled', roleIds.viewer);
      const token = await tokenFor(client);
      expect((await revoke(client, token)).status).toBe(200);
      await server.services.clients.setEnabled(SYSTEM_ACTOR, client.id, false);
      await server.services.clients.setEnabled(SYSTEM_ACTOR, client.id, true);
      expect(await meStatus(token)).toBe(401);
    });

    it('answers 200 for an unknown, malformed or expired token (RFC 7009 §2.2)', async () => {
      for (const token of ['garbage', 'a.b.c', 'x'.repeat(5000), expiredCopyOf(await tokenFor(plain))]) {
        const answer = await revoke(plain, token);
        expect(answer.status, token.slice(0, 20)).toBe(200);
      }
      expect(await meStatus(await tokenFor(plain))).toBe(200);
    });

    it('refuses to revoke another client’s token with a 4xx error, and that token keeps working', async () => {
      const victim = await newClient('victim', roleIds.viewer);
      const token = await tokenFor(victim);
      for (const attacker of [plain, viewer, await newClient('admin attacker', roleIds.administrator)]) {
        const answer = await revoke(attacker, token);
        expect(answer.status, attacker.id).toBeGreaterThanOrEqual(400);
        expect(answer.status, attacker.id).toBeLessThan(500);
        expect(answer.json['error'], attacker.id).toBeTypeOf('string');
      }
      expect(await meStatus(token)).toBe(200);
      expect((await introspect(victim, token)).json['active']).toBe(true);
    });

    it('requires client authentication, and a failed one revokes nothing', async () => {
      const client = await newClient('unauthenticated revocation', roleIds.viewer);
      const token = await tokenFor(client);

      const anonymous = await post('/oauth/revoke', { token });
      expect(anonymous.status).toBe(401);
      expect(anonymous.json['error']).toBe('invalid_client');

      const wrong = await revoke({ id: client.id, secret: `${client.secret}x` }, token);
      expect(wrong.status).toBe(401);
      expect(wrong.json['error']).toBe('invalid_client');
      expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic\b/i);

      const withItsOwnBearer = await post('/oauth/revoke', { token }, { authorization: `Bearer ${token}` });
      expect(withItsOwnBearer.status).toBe(401);

      expect(await meStatus(token)).toBe(200);
    });

    it('ignores a token_type_hint that does not match and still revokes the access token (RFC 7009 §2.1, §2.2)', async () => {
      const client = await newClient('hint', roleIds.viewer);
      const withAccessHint = await tokenFor(client);
      expect((await revoke(client, withAccessHint, { token_type_hint: 'access_token' })).status).toBe(200);
      expect(await meStatus(withAccessHint)).toBe(401);

      // "If the server is unable to locate the token using the given hint, it MUST extend its
      // search across all of its supported token types"; "an invalid token type hint value is
      // ignored by the authorization server and does not influence the revocation response".
      for (const hint of ['refresh_token', 'something_else']) {
        const token = await tokenFor(client);
        const answer = await revoke(client, token, { token_type_hint: hint });
        expect(answer.status, hint).toBe(200);
        expect(await meStatus(token), hint).toBe(401);
      }
    });

    it('answers invalid_request when the token parameter is missing', async () => {
      const answer = await post('/oauth/revoke', {}, { authorization: basicHeader(plain) });
      expect(answer.status).toBe(400);
      expect(answer.json['error']).toBe('invalid_request');
    });

    it('answers 503, never 200, when the revocation cannot be stored, and the token is not reported revoked (fosite CVE-2020-15223)', async () => {
      const client = await newClient('storage failure', roleIds.viewer);
      const token = await tokenFor(client);
      await sql`alter table revoked_tokens rename to revoked_tokens_away`.execute(server.services.db);
      let answer: Awaited<ReturnType<typeof revoke>>;
      try {
        answer = await revoke(client, token);
      } finally {
        await sql`alter table revoked_tokens_away rename to revoked_tokens`.execute(server.services.db);
      }
      expect(answer.status).toBe(503);
      expect(answer.json['error']).toBe('temporarily_unavailable');
      expect(answer.text).not.toMatch(/revoked_tokens|sqlite|relation|syntax/i);
      // Once storage is back, the same revocation succeeds.
      expect((await revoke(client, token)).status).toBe(200);
      expect(await meStatus(token)).toBe(401);
    });
  });

  describe('every path that authenticates a client checks its state', () => {
    it('refuses introspection and revocation to a disabled client, and to a replaced secret', async () => {
      const client = await newClient('dead caller', roleIds.viewer);
      const token = await tokenFor(client);
      await server.services.clients.setEnabled(SYSTEM_ACTOR, client.id, false);
      for (const path of ['/oauth/introspect', '/oauth/revoke']) {
        const answer = await post(path, { token }, { authorization: basicHeader(client) });
        expect(answer.status, path).toBe(401);
        expect(answer.json['error'], path).toBe('invalid_client');
      }
      await server.services.clients.setEnabled(SYSTEM_ACTOR, client.id, true);
      // The refused revocation revoked nothing: the token works again with the client.
      expect(await meStatus(token)).toBe(200);

      const { clientSecret } = await server.services.clients.regenerateSecret(SYSTEM_ACTOR, client.id);
      for (const path of ['/oauth/introspect', '/oauth/revoke']) {
        const answer = await post(path, { token }, { authorization: basicHeader(client) });
        expect(answer.status, path).toBe(401);
        expect(answer.json['error'], path).toBe('invalid_client');
      }
      const fresh = await tokenFor({ id: client.id, secret: clientSecret });
      expect((await introspect({ id: client.id, secret: clientSecret }, fresh)).json['active']).toBe(true);
    });
  });
});
