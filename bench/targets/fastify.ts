import Fastify from 'fastify';
import { announceReady, fail, HELLO, onShutdown } from './common.js';

/** The reference: a bare Fastify route answering a small JSON object, no logger, no hooks. */
async function main(): Promise<void> {
  const app = Fastify({ logger: false });
  app.get('/json', async () => HELLO);
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  onShutdown(() => app.close());
  announceReady({ url: address });
}

main().catch(fail);
