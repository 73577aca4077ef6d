import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../../../test/support/databases.js';
import { actorWith } from '../../../test/support/oauth.js';
import { stateOf } from '../../../test/support/rest.js';
import { concretePath, openApiPath, routeTable } from '../../../test/support/routes.js';
import { startTestServer, type TestServer } from '../../../test/support/server.js';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
const UNKNOWN_ID = '7d1e2f3a-4b5c-4d6e-8f7a-9b0c1d2e3f4a';

/**
 * RFC 9110 §15.5.6: a wrong method on an existing /api/v1 path is 405 with `Allow`
 * and a problem body, for every path of the route table, before authentication and body parsing.
 */
describe.each(testDialects())('405 Method Not Allowed on every /api/v1 path on %s', (dialect) => {
  let server: TestServer;
  let token: string;
  /** Each /api/v1 path of Fastify's route table, with the methods the OpenAPI document gives it. */
  let paths: { url: string; allowed: string[] }[];

  beforeAll(async () => {
    server = await startTestServer(dialect);
    token = (await actorWith(server, 'method administrator', 'Administrator')).token;
    const document = (await (await fetch(`${server.url}/api/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const urls = [...new Set(routeTable(server.app).map((route) => route.url))].filter((url) => url.startsWith('/api/v1/'));
    paths = urls.map((url) => {
      const documented = Object.keys(document.paths[openApiPath(url)] ?? {}).map((method) => method.toUpperCase());
      return { url, allowed: METHODS.filter((method) => documented.includes(method) || (method === 'HEAD' && documented.includes('GET'))) };
    });
  });
  afterAll(async () => server?.close());

  const wrongCalls = () =>
    paths.flatMap(({ url, allowed }) => METHODS.filter((method) => !allowed.includes(method)).map((method) => ({ url, allowed, method })));

  it('covers every path of the route table, each with at least one method and one wrong one', () => {
    expect(paths.length).toBeGreaterThan(10);
    for (const { url, allowed } of paths) expect(allowed.length, url).toBeGreaterThan(0);
    expect(wrongCalls().length).toBeGreaterThan(paths.length);
  });

  it('answers each wrong method with 405, Allow listing the path’s methods, and a problem body, to an anonymous caller', async () => {
    const wrong: string[] = [];
    for (const { url, allowed, method } of wrongCalls()) {
      const answer = await fetch(`${server.url}${concretePath(url, UNKNOWN_ID)}`, { method });
      const text = await answer.text();
      const body = method === 'HEAD' ? null : (JSON.parse(text) as Record<string, unknown>);
      const ok =
        answer.status === 405 &&
        answer.headers.get('allow') === allowed.join(', ') &&
        answer.headers.get('content-type')?.startsWith('application/problem+json') === true &&
        (body === null || (body['status'] === 405 && body['code'] === 'method_not_allowed' && body['title'] === 'Method not allowed'));
      if (!ok) wrong.push(`${method} ${url}: ${answer.status} Allow=${answer.headers.get('allow')} ${text.slice(0, 200)}`);
    }
    expect(wrong).toEqual([]);
  });

  it('answers 405 before reading the body: a text body is not 415, a body over 1 MiB is not 413, and nothing changes', async () => {
    const before = await stateOf(server);
    const wrong: string[] = [];
    for (const { url, method } of wrongCalls().filter((call) => call.method !== 'GET' && call.method !== 'HEAD')) {
      for (const [contentType, body] of [
        ['text/plain', 'not json'],
        ['application/json', JSON.stringify({ name: 'x'.repeat(1024 * 1024 + 1) })],
      ] as const) {
        const answer = await fetch(`${server.url}${concretePath(url, UNKNOWN_ID)}`, {
          method,
          headers: { 'content-type': contentType, authorization: `Bearer ${token}` },
          body,
        });
        if (answer.status !== 405) wrong.push(`${method} ${url} with ${contentType}: ${answer.status}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(await stateOf(server)).toEqual(before);
  });

  it('leaves the right methods alone: none of them answers 405', async () => {
    const wrong: string[] = [];
    for (const { url, allowed } of paths) {
      for (const method of allowed.filter((candidate) => candidate === 'GET' || candidate === 'HEAD')) {
        const answer = await fetch(`${server.url}${concretePath(url, UNKNOWN_ID)}`, { method, headers: { authorization: `Bearer ${token}` } });
        if (answer.status === 405) wrong.push(`${method} ${url}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
