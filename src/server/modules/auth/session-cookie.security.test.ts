import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../actor.js';
import { testDialects } from '../../../../test/support/databases.js';
import { PASSWORD, rest, signIn, stateOf, unique, userWith } from '../../../../test/support/rest.js';
import { startTestServer, type TestServer } from '../../../../test/support/server.js';

/**
 * The console's session: a cookie no script can read and no other site sends along with a change
 * (HttpOnly, SameSite, and Secure with the `__Host-` prefix over HTTPS, ASVS 5.0 3.3); a change
 * made with it needs the console's own origin and the session's CSRF token (ASVS 5.0 3.5); and
 * signing out ends the session on the server, not only in the browser.
 */
describe.each(testDialects())('the console session cookie, on %s', (dialect) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer(dialect);
  });
  afterAll(async () => server?.close());

  /** Straight to the listening port: with an https issuer, the issuer is not where the test server listens. */
  async function signInAnswer(target: TestServer, email: string) {
    return fetch(`http://127.0.0.1:${target.config.port}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: PASSWORD }),
    });
  }

  it('is HttpOnly, SameSite=Lax and Path=/ over HTTP', async () => {
    const { email } = await userWith(server, 'Viewer');
    const answer = await signInAnswer(server, email);
    expect(answer.status).toBe(200);
    const cookie = answer.headers.getSetCookie().find((line) => line.startsWith('koios_session='))!;
    expect(cookie).toMatch(/; HttpOnly/i);
    expect(cookie).toMatch(/; SameSite=Lax/i);
    expect(cookie).toMatch(/; Path=\//i);
    expect(cookie).not.toMatch(/; Domain=/i);
  });

  it('is Secure and named with the __Host- prefix when the server is reached over HTTPS', async () => {
    const https = await startTestServer(dialect, { database: server.database, env: { KOIOS_ISSUER: 'https://koios.example' } });
    try {
      const email = `https-${unique()}@example.com`;
      await https.services.users.create(SYSTEM_ACTOR, { email, password: PASSWORD });
      const answer = await signInAnswer(https, email);
      expect(answer.status).toBe(200);
      const cookie = answer.headers.getSetCookie().find((line) => line.startsWith('__Host-koios_session='));
      expect(cookie).toBeDefined();
      expect(cookie).toMatch(/; Secure/i);
      expect(cookie).toMatch(/; HttpOnly/i);
      expect(cookie).toMatch(/; Path=\//i);
      expect(cookie).not.toMatch(/; Domain=/i);
    } finally {
      await https.close();
    }
  });

  it('refuses a change made with the cookie from another origin, or without the CSRF token, and nothing changes', async () => {
    const { session } = await userWith(server, 'Administrator');
    const before = await stateOf(server);
    const body = JSON.stringify({ name: `cross-site ${unique()}` });
    const withoutToken = await fetch(`${server.url}/api/v1/clients`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: session.cookie, origin: server.url },
      body,
    });
    expect(withoutToken.status).toBe(403);
    const crossSite = await fetch(`${server.url}/api/v1/clients`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: session.cookie, origin: 'https://evil.example', 'x-csrf-token': session.csrfToken },
      body,
    });
    expect(crossSite.status).toBe(403);
    const wrongToken = await fetch(`${server.url}/api/v1/clients`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: session.cookie, origin: server.url, 'x-csrf-token': 'not-the-token' },
      body,
    });
    expect(wrongToken.status).toBe(403);
    expect(await stateOf(server)).toEqual(before);
    // The same request from the console's origin with its token is the rule's other side.
    expect((await rest(server, 'POST', '/api/v1/clients', { session }, { name: `same-site ${unique()}` })).status).toBe(201);
  });

  it('ends on the server when signing out: the old cookie is refused afterwards, even if a copy was kept', async () => {
    const { email } = await userWith(server, 'Viewer');
    const session = await signIn(server, email, PASSWORD);
    expect((await rest(server, 'GET', '/api/v1/session', { session })).status).toBe(200);
    expect((await rest(server, 'DELETE', '/api/v1/session', { session })).status).toBe(204);
    expect((await rest(server, 'GET', '/api/v1/session', { session })).status).toBe(401);
    expect((await rest(server, 'GET', '/api/v1/me', { session })).status).toBe(401);
  });
});
