import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../../../test/support/databases.js';
import { startTestServer, type TestServer } from '../../../test/support/server.js';

/** Every http(s) URL in a text whose origin is not the server's. */
const foreignUrls = (text: string, origin: string) => (text.match(/https?:\/\/[^\s"'<>)]+/g) ?? []).filter((url) => new URL(url).origin !== origin);

/** The directives of a Content-Security-Policy header, by name. */
const directives = (header: string | null) =>
  new Map(
    (header ?? '')
      .split(';')
      .map((part) => part.trim().split(/\s+/))
      .filter((words) => words[0] !== '')
      .map(([name, ...sources]) => [name!, sources]),
  );

/**
 * Human API docs at /api/docs, served from the package itself so that they
 * work on a closed network, under a Content-Security-Policy of their own that allows only this server.
 */
describe.each(testDialects())('the human API docs at /api/docs on %s', (dialect) => {
  let server: TestServer;
  let page: Response;
  let html: string;

  beforeAll(async () => {
    server = await startTestServer(dialect);
    page = await fetch(`${server.url}/api/docs`);
    html = await page.text();
  });
  afterAll(async () => server?.close());

  it('serves an HTML page that names no other host', () => {
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(html).toContain('id="swagger-ui"');
    expect(foreignUrls(html, new URL(server.url).origin)).toEqual([]);
  });

  it('sends a CSP that allows scripts, styles and fetches from this server only, no inline code, and no framing', () => {
    const csp = directives(page.headers.get('content-security-policy'));
    expect(csp.get('default-src')).toEqual(["'none'"]);
    expect(csp.get('script-src')).toEqual(["'self'"]);
    expect(csp.get('style-src')).toEqual(["'self'"]);
    expect(csp.get('connect-src')).toEqual(["'self'"]);
    expect(csp.get('img-src')).toEqual(["'self'", 'data:']);
    expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('loads every script, stylesheet and icon the page references from this server, each under the same CSP', async () => {
    const references = [...html.matchAll(/\b(?:src|href)="([^"]+)"/g)].map((match) => new URL(match[1]!, page.url).href);
    expect(references.filter((url) => url.endsWith('.js')).length).toBeGreaterThanOrEqual(3);
    expect(references.filter((url) => url.endsWith('.css')).length).toBeGreaterThanOrEqual(1);
    for (const url of references) {
      expect(new URL(url).origin, url).toBe(new URL(server.url).origin);
      const asset = await fetch(url);
      expect(asset.status, url).toBe(200);
      expect((await asset.arrayBuffer()).byteLength, url).toBeGreaterThan(0);
      expect(asset.headers.get('content-security-policy'), url).toBe(page.headers.get('content-security-policy'));
      if (url.endsWith('.js')) expect(asset.headers.get('content-type'), url).toMatch(/javascript/);
      if (url.endsWith('.css')) expect(asset.headers.get('content-type'), url).toMatch(/^text\/css/);
    }
  });

  it('points Swagger UI at this server’s document and at no online validator', async () => {
    const initializer = await (await fetch(`${server.url}/api/docs/static/swagger-initializer.js`)).text();
    expect(initializer).toContain("resolveUrl('./json')");
    expect(initializer).toMatch(/validatorUrl: null/);
    // Comments may cite the web (the package's does); code must not load from it.
    const code = initializer
      .split('\n')
      .filter((line) => !line.trim().startsWith('//'))
      .join('\n');
    expect(foreignUrls(code, new URL(server.url).origin)).toEqual([]);
    const served = (await (await fetch(`${server.url}/api/docs/json`)).json()) as unknown;
    const document = (await (await fetch(`${server.url}/api/v1/openapi.json`)).json()) as unknown;
    expect(served).toEqual(document);
  });

  it('keeps the strict CSP everywhere else: the API and the document itself allow nothing to run', async () => {
    for (const path of ['/api/v1/openapi.json', '/api/v1/me', '/healthz']) {
      const answer = await fetch(`${server.url}${path}`);
      expect(answer.headers.get('content-security-policy'), path).toBe("default-src 'none'; frame-ancestors 'none'");
    }
  });
});
