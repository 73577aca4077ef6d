import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { CONSOLE_PATHS } from '../../shared/console-routes.js';
import { CONSOLE_CSP, consoleRoutes, wantsConsolePage } from './console.js';

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
