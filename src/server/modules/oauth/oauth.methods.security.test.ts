import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../../../../test/support/databases.js';
import { startTestServer, type TestServer } from '../../../../test/support/server.js';

/** One request with any method (fetch refuses TRACE), answering status and headers. */
function send(server: TestServer, method: string, path: string): Promise<{ status: number; allow: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(`${server.url}${path}`, { method }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, allow: response.headers['allow'], body }));
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

/**
 * RFC 6749 §3.2 and RFC 9110 §15.5.6: the OAuth endpoints take POST only and the metadata
 * documents GET only; any other method, OPTIONS and TRACE included, is 405 naming the methods
 * that work, never a 404 that says the endpoint is not there.
 */
describe.each(testDialects())('the methods of the OAuth endpoints, on %s', (dialect) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer(dialect);
  });
  afterAll(async () => server?.close());

  it.each(['/oauth/token', '/oauth/introspect', '/oauth/revoke'])('answers every method but POST on %s with 405 and Allow: POST', async (path) => {
    for (const method of ['OPTIONS', 'TRACE', 'GET', 'HEAD', 'PUT', 'PATCH', 'DELETE']) {
      const answer = await send(server, method, path);
      expect({ method, status: answer.status, allow: answer.allow }).toEqual({ method, status: 405, allow: 'POST' });
    }
  });

  it.each(['/.well-known/oauth-authorization-server', '/.well-known/jwks.json'])(
    'answers every method but GET and HEAD on %s with 405 and Allow: GET, HEAD',
    async (path) => {
      for (const method of ['OPTIONS', 'TRACE', 'POST', 'PUT', 'PATCH', 'DELETE']) {
        const answer = await send(server, method, path);
        expect({ method, status: answer.status, allow: answer.allow }).toEqual({ method, status: 405, allow: 'GET, HEAD' });
      }
      expect((await send(server, 'GET', path)).status).toBe(200);
      expect((await send(server, 'HEAD', path)).status).toBe(200);
    },
  );

  it('answers TRACE on a REST path with 405 too, and never echoes the request', async () => {
    const answer = await send(server, 'TRACE', '/api/v1/clients');
    expect(answer.status).toBe(405);
    expect(answer.allow).toBe('GET, HEAD, POST');
    expect(answer.body).not.toContain('TRACE /api/v1/clients HTTP');
  });
});
