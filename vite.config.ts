import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin, type ProxyOptions } from 'vite';

/**
 * Writes `name.br` and `name.gz` beside every built text asset, once at build time, so that the
 * server sends them as they are (Content-Encoding) instead of compressing on each request.
 */
function precompress(): Plugin {
  let outDir = '';
  const files = (directory: string): string[] =>
    readdirSync(directory).flatMap((name) => {
      const path = join(directory, name);
      return statSync(path).isDirectory() ? files(path) : [path];
    });
  return {
    name: 'koios-precompress',
    apply: 'build',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
    },
    closeBundle() {
      for (const path of files(outDir).filter((file) => /\.(js|css|svg|json|txt)$/.test(file))) {
        const content = readFileSync(path);
        if (content.length < 1024) continue;
        writeFileSync(`${path}.br`, brotliCompressSync(content, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
        writeFileSync(`${path}.gz`, gzipSync(content, { level: 9 }));
      }
    },
  };
}

/** The API server `npm start` runs; the dev server forwards every non-console path to it. */
const API_ORIGIN = 'http://127.0.0.1:3000';

const toApi: ProxyOptions = {
  target: API_ORIGIN,
  changeOrigin: true,
  // The server refuses cookie-authenticated changes from another origin (SECURITY 22). In
  // development the page is on Vite's port, so present the API's own origin instead.
  configure: (proxy) => {
    proxy.on('proxyReq', (request) => {
      if (request.getHeader('origin') !== undefined) request.setHeader('origin', API_ORIGIN);
    });
  },
};

export default defineConfig({
  root: fileURLToPath(new URL('./src/web', import.meta.url)),
  plugins: [react(), precompress()],
  build: {
    outDir: fileURLToPath(new URL('./dist/web', import.meta.url)),
    emptyOutDir: true,
    // The console's CSP allows scripts from 'self' only: no inline module-preload polyfill.
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 1500,
  },
  server: {
    host: '127.0.0.1',
    proxy: { '/api': toApi, '/oauth': toApi, '/.well-known': toApi, '/graphql': toApi },
  },
});
