import { existsSync, readFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { CONSOLE_PATHS } from '../../shared/console-routes.js';

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
export function sendConsolePage(reply: FastifyReply, page: string, status = 200): FastifyReply {
  return reply.code(status).header('Content-Security-Policy', CONSOLE_CSP).header('Cache-Control', 'no-cache').type('text/html; charset=utf-8').send(page);
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
    app.get(url, { schema: { hide: true } }, async (_request, reply) => sendConsolePage(reply, page));
  }
}
