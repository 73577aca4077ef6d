import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../actor.js';
import { testDialects } from '../../../../test/support/databases.js';
import { basicHeader } from '../../../../test/support/oauth.js';
import { startTestServer, type TestServer } from '../../../../test/support/server.js';

/** A whole session of token traffic at debug level leaves no secret, token or Authorization header in the logs. */
describe.each(testDialects())('logs of the token service on %s', (dialect) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(dialect);
  });
  afterAll(async () => server.close());

  it('contain no client secret, access token or Authorization header value', async () => {
    const roles = await server.services.roles.list(SYSTEM_ACTOR);
    const { client, clientSecret } = await server.services.clients.create(SYSTEM_ACTOR, {
      name: 'logged',
      roleId: roles.find((role) => role.name === 'Viewer')!.id,
    });
    const basic = basicHeader({ id: client.id, secret: clientSecret });
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const post = (path: string, body: Record<string, string>, headers: Record<string, string> = {}) =>
      fetch(`${server.url}${path}`, { method: 'POST', headers: { ...form, ...headers }, body: new URLSearchParams(body) });

    const viaBasic = (await (await post('/oauth/token', { grant_type: 'client_credentials' }, { authorization: basic })).json()) as { access_token: string };
    const viaPost = (await (await post('/oauth/token', { grant_type: 'client_credentials', client_id: client.id, client_secret: clientSecret })).json()) as {
      access_token: string;
    };
    await fetch(`${server.url}/api/v1/me`, { headers: { authorization: `Bearer ${viaBasic.access_token}` } });
    await fetch(`${server.url}/api/v1/me?access_token=${viaPost.access_token}`);
    await post(`/oauth/token?client_id=${client.id}&client_secret=${clientSecret}`, { grant_type: 'client_credentials' });
    await post('/oauth/token', { grant_type: 'client_credentials', client_id: client.id, client_secret: `${clientSecret}x` });
    await post('/oauth/introspect', { token: viaPost.access_token }, { authorization: basic });
    await post('/oauth/revoke', { token: viaPost.access_token }, { authorization: basic });
    await fetch(`${server.url}/api/v1/me`, { headers: { authorization: `Bearer ${viaPost.access_token}` } });
    const regenerated = await server.services.clients.regenerateSecret(SYSTEM_ACTOR, client.id);
    await post('/oauth/token', { grant_type: 'client_credentials', client_id: client.id, client_secret: regenerated.clientSecret });
    await server.services.lastUsed.flush();
    await server.services.failures.flush();

    const logs = server.logs.text();
    expect(server.logs.lines.length).toBeGreaterThan(10);
    for (const secret of [clientSecret, regenerated.clientSecret, viaBasic.access_token, viaPost.access_token, basic.slice('Basic '.length)]) {
      expect(logs).not.toContain(secret);
      // Pieces too: a token's signature or a secret's random part must not appear either.
      expect(logs).not.toContain(secret.slice(-30));
    }
    expect(logs).toContain('client authentication refused');
  });
});
