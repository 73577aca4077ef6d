import Fastify, { type FastifyBaseLogger } from 'fastify';
import type { Logger } from 'pino';
import { ConfigError, type MetricsListenerConfig } from '../config.js';
import type { Metrics } from './metrics.js';

export interface MetricsListener {
  /** The address actually bound (port 0 picks a free one). */
  readonly url: string;
  /** Serves these figures from now on; until then a scrape is answered 503 (the server is starting). */
  serve(metrics: Pick<Metrics, 'registry' | 'collectProcessMetrics'>): void;
  close(): Promise<void>;
}

/**
 * `GET /metrics` in the Prometheus text format, on a port of its own (KOIOS_METRICS_PORT, on
 * loopback unless KOIOS_METRICS_HOST says otherwise): the API port never serves it, so the
 * figures are not published to whoever can reach the API.
 *
 * It can be bound before the figures exist (`metrics` left out, then `serve`): a start-up binds it
 * before it opens the database, so a busy port fails the start before any migration has run.
 */
export async function startMetricsListener(options: {
  readonly config: MetricsListenerConfig;
  readonly metrics?: Pick<Metrics, 'registry' | 'collectProcessMetrics'>;
  readonly logger: Logger;
}): Promise<MetricsListener> {
  const { config, logger } = options;
  let metrics: Pick<Metrics, 'registry' | 'collectProcessMetrics'> | null = null;
  const app = Fastify({
    loggerInstance: logger.child({ listener: 'metrics' }) as FastifyBaseLogger,
    // A scraper's keep-alive connection must not hold shutdown.
    forceCloseConnections: true,
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    void reply.header('X-Content-Type-Options', 'nosniff');
    return payload;
  });
  // Scraped every few seconds: an info line per scrape would drown the log.
  app.get('/metrics', { logLevel: 'warn' }, async (_request, reply) => {
    if (metrics === null) return reply.code(503).header('Retry-After', '1').header('Cache-Control', 'no-store').type('text/plain').send('starting\n');
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).header('Cache-Control', 'no-store').send(text);
  });
  const serve = (figures: Pick<Metrics, 'registry' | 'collectProcessMetrics'>) => {
    if (metrics !== null) return;
    metrics = figures;
    figures.collectProcessMetrics();
  };
  let address: string;
  try {
    address = await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await app.close().catch(() => undefined);
    throw new ConfigError(
      'KOIOS_METRICS_PORT',
      `cannot listen on ${config.host}:${config.port} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
  logger.info(`metrics are served at ${address}/metrics`);
  if (options.metrics !== undefined) serve(options.metrics);
  return {
    url: address,
    serve,
    close: () => app.close(),
  };
}
