import { existsSync, readFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { CONSOLE_PATHS } from '../../shared/console-routes.js';

/**
 * SECURITY 27: the console runs only its own scripts, talks only to its own origin, and cannot be
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

export interface ConsoleOptions {
  /** The built console; defaults to dist/web. Null: serve no console. */
  readonly root?: string | null;
}

/** Serves the built console at `/`: its assets, and index.html for each console route (SPA fallback). */
export async function consoleRoutes(app: FastifyInstance, options: ConsoleOptions = {}): Promise<void> {
  const root = options.root === undefined ? findConsoleRoot() : options.root;
  let html: string | null = null;
  try {
    html = root === null ? null : readFileSync(join(root, 'index.html'), 'utf8');
  } catch {
    html = null;
  }
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
    globIgnore: ['index.html'],
    decorateReply: false,
    cacheControl: false,
    setHeaders(response, path) {
      // Vite puts a content hash in every name under assets/: those never change.
      response.setHeader('Cache-Control', path.includes(`${sep}assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });

  // The console's own pages (one list with its router); every other path stays the API's, with its 404.
  for (const url of CONSOLE_PATHS) {
    app.get(url, { schema: { hide: true } }, async (_request, reply) =>
      reply.header('Content-Security-Policy', CONSOLE_CSP).header('Cache-Control', 'no-cache').type('text/html; charset=utf-8').send(page),
    );
  }
}
