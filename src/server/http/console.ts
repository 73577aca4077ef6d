import { existsSync, readFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  CONSOLE_PATHS,
  FIRST_DATA_ELEMENT_ID,
  FIRST_LIST_PATHS,
  PUBLIC_CONSOLE_PATHS,
  RENDERED_AT_ATTRIBUTE,
  type RenderConsole,
} from '../../shared/console-routes.js';

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

/**
 * The console's server half (`vite build --ssr`, src/web/server-render.tsx), which draws the first
 * screen from the answers a page carries; null when it is not built. Imported on first use: it is
 * a few megabytes of code that a server without signed-in browsers never runs.
 */
export function findConsoleRenderer(): (() => Promise<RenderConsole>) | null {
  const file = fileURLToPath(new URL('../../../dist/web-server/server-render.js', import.meta.url));
  if (!existsSync(file)) return null;
  let loading: Promise<RenderConsole> | undefined;
  return () => (loading ??= import(pathToFileURL(file).href).then((module: { renderConsole: RenderConsole }) => module.renderConsole));
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
export function sendConsolePage(reply: FastifyReply, page: string | Readable, status = 200, cacheControl = 'no-cache'): FastifyReply {
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

/** Whether the page may carry a session's data: a page behind sign-in, asked for by the browser itself with a cookie (not by another site). */
function mayCarryData(request: FastifyRequest, pathname: string): boolean {
  return (
    request.method === 'GET' &&
    request.headers.cookie !== undefined &&
    request.headers['sec-fetch-site'] !== 'cross-site' &&
    !(PUBLIC_CONSOLE_PATHS as readonly string[]).includes(pathname)
  );
}

/**
 * The first screen's data for the console page a request asks for, or null. Each answer is the API's
 * own, asked in process with the request's cookie (the same authentication, permission checks and
 * serialisation as the browser's own request would get); one that is not a 200 is left out, and the
 * console asks for it itself. Nothing without a cookie, for a public page, or for a cross-site
 * navigation.
 */
async function firstData(app: FastifyInstance, request: FastifyRequest, pathname: string): Promise<Record<string, unknown> | null> {
  const cookie = request.headers.cookie;
  if (cookie === undefined || !mayCarryData(request, pathname)) return null;
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

/** The built page's empty root, which the console's first screen drawn on the server fills. */
const EMPTY_ROOT = '<div id="root"></div>';

/**
 * index.html with the first screen's data in a JSON script element (not run; the CSP allows no
 * inline script): `<` escaped, so that no client's name can end the element. With `drawn` (React's
 * HTML of the first screen for that data, every text and attribute escaped by React), in the root,
 * with the time it was drawn at; the root is inert until the console takes it over (src/web/app.tsx).
 */
export function withFirstData(page: string, data: Record<string, unknown>, drawn?: { readonly html: string; readonly at: number }): string {
  const json = JSON.stringify(data).replace(/</g, '\\u003c');
  const element = `<script type="application/json" id="${FIRST_DATA_ELEMENT_ID}">${json}</script>`;
  // Sliced, not String.replace: a `$&` in a name would be a replacement pattern.
  const root = drawn === undefined ? -1 : page.indexOf(EMPTY_ROOT);
  const filled =
    root === -1
      ? page
      : // Inert and hidden from assistive technology until the console has taken it over: nothing in it works before.
        `${page.slice(0, root)}<div id="root" ${RENDERED_AT_ATTRIBUTE}="${drawn!.at}" inert aria-hidden="true">${drawn!.html}</div>${page.slice(root + EMPTY_ROOT.length)}`;
  const end = filled.lastIndexOf('</body>');
  return end === -1 ? `${filled}${element}` : `${filled.slice(0, end)}${element}${filled.slice(end)}`;
}

export interface ConsoleOptions {
  /** The built console; defaults to dist/web. Null: serve no console. */
  readonly root?: string | null;
  /** Draws a signed-in browser's first screen into its page (findConsoleRenderer); none by default: the browser draws every page. */
  readonly render?: (() => Promise<RenderConsole>) | null;
}

/** The first screen's HTML for this page and data, or undefined (not drawn here, or the drawing failed: the browser draws it). */
async function draw(
  request: FastifyRequest,
  render: (() => Promise<RenderConsole>) | null,
  answers: Record<string, unknown>,
): Promise<{ html: string; at: number } | undefined> {
  if (render === null) return undefined;
  const at = Date.now();
  const query = request.url.indexOf('?');
  const [pathname, search] = query === -1 ? [request.url, ''] : [request.url.slice(0, query), request.url.slice(query)];
  try {
    const html = await (await render())({ pathname, search, answers, now: at });
    return html === null ? undefined : { html, at };
  } catch (error) {
    request.log.warn({ err: error }, 'the console’s first screen could not be drawn on the server; the browser draws it');
    return undefined;
  }
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
  // Everything before the root: sent before the data is asked for (below).
  const head = page.includes(EMPTY_ROOT) ? page.slice(0, page.indexOf(EMPTY_ROOT)) : '';
  const render = options.render ?? null;

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
      // Any console page (the sign-in one first) loads the server half in the background, so that
      // the first signed-in page does not also wait for its 2.5 MB to load.
      if (render !== null) render().catch(() => undefined);
      if (!mayCarryData(request, url)) return sendConsolePage(reply, page);
      // The head at once: the browser fetches the CSS and the scripts while the data is asked for
      // and the first screen drawn, instead of after.
      const body = new PassThrough();
      body.write(head);
      void (async () => {
        const data = await firstData(app, request, url);
        return data === null ? page : withFirstData(page, data, await draw(request, render, data));
      })().then(
        (whole) => body.end(whole.slice(head.length)),
        (error: unknown) => {
          request.log.error({ err: error }, 'the console page’s first data failed: sent without it');
          body.end(page.slice(head.length));
        },
      );
      // One person's data: never stored by a cache, nor reused by the browser for another session.
      // Sent before the session is known, so the plain page a dead cookie gets is not stored either.
      return sendConsolePage(reply, body, 200, 'no-store');
    });
  }
}
