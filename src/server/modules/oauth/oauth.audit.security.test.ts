import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../actor.js';
import { testDialects } from '../../../../test/support/databases.js';
import { startTestServer, type TestServer } from '../../../../test/support/server.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

describe.each(testDialects())('the audit trail of signing keys and revocations on %s', (dialect) => {
  let server: TestServer;

  const entries = async (action: string) => (await server.services.audit.list(SYSTEM_ACTOR, { action, limit: 200 })).items;

  beforeAll(async () => {
    server = await startTestServer(dialect);
  });
  afterAll(async () => server.close());

  it('audits a key rotation with who rotated, the new key and the keys it retired', async () => {
    const before = server.services.signingKeys.current().kid;
    const kid = await server.services.signingKeys.rotate(SYSTEM_ACTOR);
    const [entry, ...more] = await entries('keys.rotated');
    expect(more).toHaveLength(0);
    expect(entry!.actor).toEqual({ type: 'system', id: null, name: 'system' });
    expect(entry!.target).toEqual({ type: 'system', id: null, name: 'token signing keys' });
    expect(entry!.details).toEqual({ kid, retired: [before] });
    // Never key material.
    expect(JSON.stringify(entry)).not.toMatch(/PRIVATE KEY|"d":/);
  });

  it('writes one token.revoked entry however many times the same token is revoked', async () => {
    const { client, clientSecret } = await server.services.clients.create(SYSTEM_ACTOR, { name: 'revokes twice' });
    const credentials = { client_id: client.id, client_secret: clientSecret };
    const issued = await fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      headers: FORM,
      body: new URLSearchParams({ grant_type: 'client_credentials', ...credentials }),
    });
    const token = ((await issued.json()) as { access_token: string }).access_token;
    expect(decodeProtectedHeader(token).kid).toBeTypeOf('string');
    for (let n = 0; n < 3; n += 1) {
      const answer = await fetch(`${server.url}/oauth/revoke`, { method: 'POST', headers: FORM, body: new URLSearchParams({ token, ...credentials }) });
      expect(answer.status).toBe(200);
    }
    const revoked = (await entries('token.revoked')).filter((entry) => entry.target?.id === client.id);
    expect(revoked).toHaveLength(1);
    expect(revoked[0]!.actor).toMatchObject({ type: 'client', id: client.id });
  });
});
