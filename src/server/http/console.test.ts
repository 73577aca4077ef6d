import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../test/support/server.js';
import { rest, unique, userWith } from '../../../test/support/rest.js';
import { SYSTEM_ACTOR } from '../actor.js';
import { CONSOLE_PATHS, FIRST_DATA_ELEMENT_ID, type RenderConsole } from '../../shared/console-routes.js';
import { CONSOLE_CSP, consoleRoutes, wantsConsolePage, withFirstData } from './console.js';

const built = mkdtempSync(join(tmpdir(), 'koios-console-'));
mkdirSync(join(built, 'assets'));
writeFileSync(join(built, 'index.html'), '<!doctype html><div id="root"></div><script type="module" src="/assets/index-abc123.js"></script>');
writeFileSync(join(built, 'assets', 'index-abc123.js'), 'console.log("console")');
writeFileSync(join(built, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
afterAll(() => rmSync(built, { recursive: true, force: true }));

async function appServing(root: string | null) {
  const warnings: string[] = [];
  const app = Fastify({ logger: { level: 'warn', stream: { write: (line: string) => warnings.push(line) } } });
  await app.register(consoleRoutes, { root });
  app.get('/api/v1/me', async () => ({ ok: true }));
  await app.ready();
  return { app, warnings };
}

describe('the console plugin', () => {
  it.each([
    // Every page of the console's router (one shared list), with an id where the path takes one.
    ...CONSOLE_PATHS.map((path) => path.replace(':id', '0b7f3c2e-5d1a-4e8b-9c6f-2a4d8e1b7c30')),
    '/setup?token=abc',
    '/users/x',
  ])('answers index.html with the strict CSP for the console route %s', async (url) => {
    const { app } = await appServing(built);
    const response = await app.inject({ method: 'GET', url });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(response.headers['content-security-policy']).toBe(CONSOLE_CSP);
    expect(response.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(response.body).toContain('<div id="root">');
    await app.close();
  });

  it('serves hashed assets as immutable and leaves other paths to the API', async () => {
    const { app } = await appServing(built);
    const asset = await app.inject({ method: 'GET', url: '/assets/index-abc123.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['cache-control']).toContain('immutable');
    expect((await app.inject({ method: 'GET', url: '/favicon.svg' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/api/v1/me' })).json()).toEqual({ ok: true });
    expect((await app.inject({ method: 'GET', url: '/not-a-console-page' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'POST', url: '/login' })).statusCode).toBe(404);
    await app.close();
  });

  it('warns and serves nothing, without failing, when the console is not built', async () => {
    const { app, warnings } = await appServing(null);
    expect(warnings.join('\n')).toContain('npm run build');
    expect((await app.inject({ method: 'GET', url: '/login' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/api/v1/me' })).statusCode).toBe(200);
    await app.close();
  });

  it('does not fail when the directory exists but index.html does not', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'koios-console-empty-'));
    const { app, warnings } = await appServing(empty);
    expect(warnings.join('\n')).toContain('not built');
    await app.close();
    rmSync(empty, { recursive: true, force: true });
  });
});

describe("the console's Page not found", () => {
  it.each(['/nope', '/system/foo', '/users/x/y'])('answers %s from a browser with the console page and status 404', async (url) => {
    expect(wantsConsolePage('GET', url, 'text/html,application/xhtml+xml,*/*;q=0.8')).toBe(true);
  });

  it.each([
    ['GET', '/api/v1/nope', 'text/html'],
    ['GET', '/oauth/nope', 'text/html'],
    ['GET', '/graphql/x', 'text/html'],
    ['GET', '/assets/missing.js', 'text/html'],
    ['GET', '/nope', 'application/json'],
    ['GET', '/nope', undefined],
    ['POST', '/nope', 'text/html'],
  ])('keeps the problem body for %s %s (Accept %s)', (method, url, accept) => {
    expect(wantsConsolePage(method, url, accept)).toBe(false);
  });
});

describe('the console’s precompressed assets', () => {
  it('sends name.br or name.gz as the browser accepts, with Content-Encoding and Vary, and the plain file otherwise', async () => {
    const root = mkdtempSync(join(tmpdir(), 'koios-console-compressed-'));
    mkdirSync(join(root, 'assets'));
    writeFileSync(join(root, 'index.html'), '<!doctype html><div id="root"></div>');
    writeFileSync(join(root, 'assets', 'index-abc.js'), 'console.log("plain")');
    writeFileSync(join(root, 'assets', 'index-abc.js.br'), 'brotli bytes');
    writeFileSync(join(root, 'assets', 'index-abc.js.gz'), 'gzip bytes');
    const { app } = await appServing(root);
    const brotli = await app.inject({ method: 'GET', url: '/assets/index-abc.js', headers: { 'accept-encoding': 'gzip, deflate, br' } });
    expect(brotli.headers['content-encoding']).toBe('br');
    expect(brotli.headers['vary']).toContain('Accept-Encoding');
    expect(brotli.headers['content-type']).toMatch(/javascript/);
    expect(brotli.body).toBe('brotli bytes');
    const gzip = await app.inject({ method: 'GET', url: '/assets/index-abc.js', headers: { 'accept-encoding': 'gzip' } });
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(gzip.body).toBe('gzip bytes');
    const plain = await app.inject({ method: 'GET', url: '/assets/index-abc.js' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body).toBe('console.log("plain")');
    expect((await app.inject({ method: 'GET', url: '/assets/index-abc.js.br' })).statusCode).toBe(404);
    await app.close();
    rmSync(root, { recursive: true, force: true });
  });
});

/**
 * The console's server half from its sources, as `vite build --ssr` builds it (imported by URL: the
 * server's type check leaves the console's JSX to the console's own).
 */
const renderConsole = async () =>
  ((await import(new URL('../../web/server-render.tsx', import.meta.url).href)) as { renderConsole: RenderConsole }).renderConsole;

/** The root the server drew into the page, or null when it left it empty for the browser. */
const drawnRoot = (html: string) =>
  html.includes('<div id="root"></div>') ? null : /<div id="root" data-rendered-at="\d+" inert aria-hidden="true">(.*?)<\/div><script/s.exec(html)?.[1];

describe('the first screen’s data in the console page', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('sqlite', { consoleRoot: built, consoleRenderer: renderConsole });
  });
  afterAll(() => server.close());

  /** The page at `path` for `cookie` (and extra headers), with the data it carries, if any. */
  async function page(path: string, cookie: string | undefined, headers: Record<string, string> = {}) {
    const response = await fetch(`${server.url}${path}`, { headers: { accept: 'text/html', ...(cookie === undefined ? {} : { cookie }), ...headers } });
    const html = await response.text();
    const match = new RegExp(`<script type="application/json" id="${FIRST_DATA_ELEMENT_ID}">(.*?)</script>`, 's').exec(html);
    return { response, html, data: match === null ? null : (JSON.parse(match[1]!) as Record<string, unknown>) };
  }

  it('carries, for a signed-in browser, the API’s own answers to the list’s first requests, and is never stored', async () => {
    const admin = await userWith(server, 'Administrator');
    await server.services.clients.create(SYSTEM_ACTOR, { name: `Listed ${unique()}` });
    for (const path of ['/', '/system', '/system/connections']) {
      const { response, data } = await page(path, admin.session.cookie);
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(response.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
      expect(Object.keys(data!).sort()).toEqual(['/api/v1/clients?limit=50&sort=-createdAt', '/api/v1/me', '/api/v1/session']);
      for (const url of Object.keys(data!)) expect(data![url]).toEqual((await rest(server, 'GET', url, { session: admin.session })).body);
    }
    expect(((await page('/system/connections', admin.session.cookie)).data!['/api/v1/session'] as { csrfToken: string }).csrfToken).toBe(
      admin.session.csrfToken,
    );
  });

  it('draws the list’s first rows into the page from that same data, and only there', async () => {
    const admin = await userWith(server, 'Administrator');
    const name = `Drawn ${unique()}`;
    await server.services.clients.create(SYSTEM_ACTOR, { name });
    const { html, response } = await page('/system/connections', admin.session.cookie);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(drawnRoot(html)).toMatch(new RegExp(`<table[^>]*aria-label="API clients".*>${name}</a>`, 's'));
    // The addresses that lead to the list, a search, and other pages: the browser draws them.
    for (const path of ['/', '/system', '/system/connections?q=x', '/users', '/system/connections/0b7f3c2e-5d1a-4e8b-9c6f-2a4d8e1b7c30'])
      expect(drawnRoot((await page(path, admin.session.cookie)).html), path).toBeNull();
  });

  it('carries no list page where the list is not the page or has a search, only the session and who is signed in', async () => {
    const admin = await userWith(server, 'Administrator');
    for (const path of ['/users', '/system/connections/0b7f3c2e-5d1a-4e8b-9c6f-2a4d8e1b7c30', '/system/connections?q=x', '/system/connections?page=2']) {
      expect(Object.keys((await page(path, admin.session.cookie)).data!).sort(), path).toEqual(['/api/v1/me', '/api/v1/session']);
    }
  });

  it('holds to the permission checks: a user who may not read clients gets no list in the page', async () => {
    const auditor = await userWith(server, ['audit:read']);
    const { data } = await page('/system/connections', auditor.session.cookie);
    expect(Object.keys(data!).sort()).toEqual(['/api/v1/me', '/api/v1/session']);
    expect((data!['/api/v1/me'] as { permissions: string[] }).permissions).toEqual(['audit:read']);
  });

  it('draws nothing on the server for a user who may not read clients: the browser shows what is missing', async () => {
    const auditor = await userWith(server, ['audit:read']);
    await server.services.clients.create(SYSTEM_ACTOR, { name: `Hidden ${unique()}` });
    expect(drawnRoot((await page('/system/connections', auditor.session.cookie)).html)).toBeNull();
  });

  it('never carries another session’s data', async () => {
    const [first, second] = [await userWith(server, 'Viewer'), await userWith(server, 'Viewer')];
    const [one, two] = [await page('/system/connections', first.session.cookie), await page('/system/connections', second.session.cookie)];
    expect((one.data!['/api/v1/me'] as { id: string }).id).toBe(first.user.id);
    expect((two.data!['/api/v1/me'] as { id: string }).id).toBe(second.user.id);
    expect((two.data!['/api/v1/session'] as { csrfToken: string }).csrfToken).toBe(second.session.csrfToken);
    expect(two.html).not.toContain(first.session.csrfToken);
    expect(drawnRoot(two.html)).toContain(`Account: <!-- -->${second.user.name}`);
    expect(drawnRoot(two.html)).not.toContain(first.user.name);
  });

  it.each([
    ['no cookie', '/system/connections', undefined, {}, 'no-cache'],
    // Its head is sent before the session is known: never stored, as a signed-in page.
    ['a dead cookie', '/system/connections', 'koios_session=not-a-session', {}, 'no-store'],
    ['a public page', '/login', 'SESSION', {}, 'no-cache'],
    ['a cross-site navigation', '/system/connections', 'SESSION', { 'sec-fetch-site': 'cross-site' }, 'no-cache'],
  ])('carries nothing for %s: the plain page', async (_what, path, cookie, headers, cacheControl) => {
    const admin = await userWith(server, 'Administrator');
    const { response, data, html } = await page(path, cookie === 'SESSION' ? admin.session.cookie : cookie, headers);
    expect(response.status).toBe(200);
    expect(data).toBeNull();
    expect(html).not.toContain(admin.session.csrfToken);
    expect(drawnRoot(html)).toBeNull();
    expect(html).toBe(readFileSync(join(built, 'index.html'), 'utf8'));
    expect(response.headers.get('cache-control')).toBe(cacheControl);
  });

  it('escapes the data so that no client’s name can end its element or start a script', async () => {
    const admin = await userWith(server, 'Administrator');
    const name = `</script><script>alert(1)</script><!-- ${unique()}`;
    await server.services.clients.create(SYSTEM_ACTOR, { name });
    const { html, data } = await page('/system/connections', admin.session.cookie);
    expect(html).not.toContain('<script>alert(1)');
    expect(html.match(/<\/script>/g)).toHaveLength(1 + 1); // the data's element and the console's own script
    // The rows drawn on the server show the name as text, escaped by React.
    const suffix = name.slice(name.lastIndexOf(' ') + 1);
    expect(drawnRoot(html)).toContain(`&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;!-- ${suffix}`);
    expect(html).not.toContain(`<!-- ${suffix}`);
    const items = (data!['/api/v1/clients?limit=50&sort=-createdAt'] as { items: { name: string }[] }).items;
    expect(items.map((item) => item.name)).toContain(name);
    // In a page with a body, as the built one: the data goes in it whole, whatever its characters.
    const tricky = { name: "$& $' $` </body> \u2028 <!--" };
    const withBody = withFirstData('<html><body><div id="root"></div></body></html>', tricky);
    expect(withBody.endsWith('</script></body></html>')).toBe(true);
    const inPage = /<script type="application\/json" id="koios-first-data">(.*)<\/script><\/body>/s.exec(withBody)![1]!;
    expect(JSON.parse(inPage)).toEqual(tricky);
  });
});

describe('the console’s server half', () => {
  it('starts loading with any console page, the sign-in one included', async () => {
    let loads = 0;
    const renderer: RenderConsole = () => Promise.resolve(null);
    const server = await startTestServer('sqlite', {
      consoleRoot: built,
      consoleRenderer: () => {
        loads += 1;
        return Promise.resolve(renderer);
      },
    });
    try {
      expect(loads).toBe(0);
      // The sign-in page, which carries no data and draws nothing, already asks for it.
      const signIn = await fetch(`${server.url}/login`, { headers: { accept: 'text/html' } });
      expect(signIn.status).toBe(200);
      expect(loads).toBe(1);
    } finally {
      await server.close();
    }
  });
});

describe('the console page while its first screen is being drawn', () => {
  let server: TestServer;
  let drawing: (html: string | null) => void = () => undefined;
  beforeAll(async () => {
    const renderer: RenderConsole = () => new Promise((resolve) => (drawing = resolve));
    server = await startTestServer('sqlite', { consoleRoot: built, consoleRenderer: async () => renderer });
  });
  afterAll(() => server.close());

  it('sends the page up to its root at once, so that the browser fetches the CSS and scripts meanwhile', async () => {
    const admin = await userWith(server, 'Administrator');
    const response = await fetch(`${server.url}/system/connections`, { headers: { accept: 'text/html', cookie: admin.session.cookie } });
    expect(response.headers.get('cache-control')).toBe('no-store');
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let received = '';
    // Nothing is drawn yet: what comes is the page before its root.
    while (!received.endsWith('<!doctype html>')) received += decoder.decode((await reader.read()).value, { stream: true });
    expect(received).toBe('<!doctype html>');
    drawing('<p>drawn</p>');
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) received += decoder.decode(chunk.value, { stream: true });
    expect(received).toMatch(
      /^<!doctype html><div id="root" data-rendered-at="\d+" inert aria-hidden="true"><p>drawn<\/p><\/div><script type="module" src="\/assets\/index-abc123.js"><\/script><script type="application\/json" id="koios-first-data">/,
    );
  });
});
