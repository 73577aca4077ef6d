import { existsSync, readFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CONSOLE_PATHS, FIRST_DATA_ELEMENT_ID, FIRST_LIST_PATHS, PUBLIC_CONSOLE_PATHS } from '../../shared/console-routes.js';

/**
 * The console runs only its own scripts, talks only to its own origin, and cannot be
 * framed. Styles allow 'unsafe-inline' because Mantine sets CSS variables in style attributes.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

/** `vite build` writes dist/web; this file is dist/server/http/console.js when built, src/server/http/console.ts in tests. */
export function findConsoleRoot(): string | null {
  const directory = fileURLToPath(new URL('../../../dist/web/', import.meta.url));
  return existsSync(join(directory, 'index.html')) ? directory : null;
}

/** Paths that always belong to the APIs and the server: their 404 stays a problem body. */
const SERVER_PATHS = /^\/(api|oauth|graphql|\.well-known|assets|healthz|readyz|metrics)(\/|$|\?)/;

/**
 * Whether a 404 should be the console's own "Page not found": a browser (asking for HTML) loading
 * an address that is no console route, outside the APIs' paths.
 */
export function wantsConsolePage(method: string, url: string, accept: string | undefined): boolean {
  return (method === 'GET' || method === 'HEAD') && !SERVER_PATHS.test(url) && accept !== undefined && accept.includes('text/html');
}

/** Sends the console's index.html with its CSP; its router draws the page (or "Page not found"). */
export function sendConsolePage(reply: FastifyReply, page: string, status = 200, cacheControl = 'no-cache'): FastifyReply {
  return reply.code(status).header('Content-Security-Policy', CONSOLE_CSP).header('Cache-Control', cacheControl).type('text/html; charset=utf-8').send(page);
}

/** The built console's index.html, or null when it is not built. */
export function readConsolePage(root: string | null): string | null {
  if (root === null) return null;
  try {
    return readFileSync(join(root, 'index.html'), 'utf8');
  } catch {
    return null;
  }
}

/**
 * The API answers a signed-in browser's first screen asks for at once (src/web/first-load.ts), by
 * the URL the console asks them at: the session (with its CSRF token), who is signed in, and, on
 * the list's own addresses without a search, its first page in the default order and size.
 */
const FIRST_REQUESTS = ['/api/v1/session', '/api/v1/me'];
const FIRST_LIST_PAGE = '/api/v1/clients?limit=50&sort=-createdAt';

/**
 * The first screen's data for the console page a request asks for, or null. Each answer is the API's
 * own, asked in process with the request's cookie (the same authentication, permission checks and
 * serialisation as the browser's own request would get); one that is not a 200 is left out, and the
 * console asks for it itself. Nothing without a cookie, for a public page, or for a cross-site
 * navigation.
 */
async function firstData(app: FastifyInstance, request: FastifyRequest, pathname: string): Promise<Record<string, unknown> | null> {
  const cookie = request.headers.cookie;
  if (request.method !== 'GET' || cookie === undefined || request.headers['sec-fetch-site'] === 'cross-site') return null;
  if ((PUBLIC_CONSOLE_PATHS as readonly string[]).includes(pathname)) return null;
  const urls = [...FIRST_REQUESTS, ...((FIRST_LIST_PATHS as readonly string[]).includes(pathname) && !request.url.includes('?') ? [FIRST_LIST_PAGE] : [])];
  const answers = await Promise.all(
    urls.map((url) =>
      app.inject({ method: 'GET', url, headers: { cookie, accept: 'application/json' }, remoteAddress: request.ip }).then(
        (response) => (response.statusCode === 200 ? ([url, response.json()] as const) : null),
        () => null,
      ),
    ),
  );
  // Without a session there is nothing to show: the console finds that out and signs in.
  if (answers[0] === null) return null;
  return Object.fromEntries(answers.filter((answer) => answer !== null));
}

/**
 * index.html with the first screen's data in a JSON script element (not run; the CSP allows no
 * inline script): `<` escaped, so that no client's name can end the element.
 */
export function withFirstData(page: string, data: Record<string, unknown>): string {
  const json = JSON.stringify(data).replace(/</g, '\\u003c');
  const element = `<script type="application/json" id="${FIRST_DATA_ELEMENT_ID}">${json}</script>`;
  // Sliced, not String.replace: a `$&` in a name would be a replacement pattern.
  const end = page.lastIndexOf('</body>');
  return end === -1 ? `${page}${element}` : `${page.slice(0, end)}${element}${page.slice(end)}`;
}

export interface ConsoleOptions {
  /** The built console; defaults to dist/web. Null: serve no console. */
  readonly root?: string | null;
}

/** Serves the built console at `/`: its assets, and index.html for each console route (SPA fallback). */
export async function consoleRoutes(app: FastifyInstance, options: ConsoleOptions = {}): Promise<void> {
  const root = options.root === undefined ? findConsoleRoot() : options.root;
  const html = readConsolePage(root);
  if (root === null || html === null) {
    app.log.warn('the console is not built (dist/web/index.html is missing): run `npm run build` to serve it; the APIs work without it');
    return;
  }
  const page = html;

  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    // One route per built file, found at start: no catch-all that would answer for the API's 404s.
    wildcard: false,
    index: false,
    globIgnore: ['index.html', '**/*.br', '**/*.gz'],
    // The build writes name.br and name.gz beside each asset: sent as they are, with
    // Content-Encoding and Vary: Accept-Encoding, to a browser that accepts them.
    preCompressed: true,
    decorateReply: false,
    cacheControl: false,
    setHeaders(response, path) {
      // Vite puts a content hash in every name under assets/: those never change.
      response.setHeader('Cache-Control', path.includes(`${sep}assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
      // The same URL answers br, gzip or plain bytes: caches must key on what was accepted.
      response.setHeader('Vary', 'Accept-Encoding');
    },
  });

  // The console's own pages (one list with its router); every other path stays the API's, with its 404.
  for (const url of CONSOLE_PATHS) {
    app.get(url, { schema: { hide: true } }, async (request, reply) => {
      const data = await firstData(app, request, url);
      if (data === null) return sendConsolePage(reply, page);
      // One person's data: never stored by a cache, nor reused by the browser for another session.
      return sendConsolePage(reply, withFirstData(page, data), 200, 'no-store');
    });
  }
}
