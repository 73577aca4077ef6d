import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { announceReady, fail, HELLO, onShutdown } from './common.js';

/** The floor: the same JSON object from a bare node:http handler. */
async function main(): Promise<void> {
  const server = createServer((request, response) => {
    if (request.method === 'GET' && request.url === '/json') {
      const body = JSON.stringify(HELLO);
      response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
      response.end(body);
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  onShutdown(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  announceReady({ url: `http://127.0.0.1:${port}` });
}

main().catch(fail);
