import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig, type ProxyOptions } from 'vite';

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
  plugins: [react()],
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
