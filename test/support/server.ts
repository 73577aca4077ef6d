import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { createApp, type AppDeps } from '../../src/server/app.js';
import { loadConfig, type Config } from '../../src/server/config.js';
import { createLogger } from '../../src/server/logger.js';
import { createServices, type Services, type ServicesOptions } from '../../src/server/services.js';
import { startMetricsListener } from '../../src/server/metrics/metrics.listener.js';
import { createTestDatabase, type TestDatabase } from './databases.js';
import type { Dialect } from '../../src/server/db/database.js';

import { freePort } from './free-port.js';

export { freePort };

/** Every log line the server wrote, for tests that look for leaked secrets. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.lines.push(
      ...chunk
        .toString('utf8')
        .split('\n')
        .filter((line) => line.length > 0),
    );
    done();
  }
  text(): string {
    return this.lines.join('\n');
  }
}

export interface TestServer {
  readonly url: string;
  readonly config: Config;
  readonly app: FastifyInstance;
  readonly services: Services;
  readonly database: TestDatabase;
  readonly logs: LogCapture;
  /** `GET /metrics` is served here when the environment sets KOIOS_METRICS_PORT (0: a free port). */
  readonly metricsUrl: string | null;
  close(): Promise<void>;
}

export interface TestServerOptions {
  /** Extra environment for loadConfig (KOIOS_ACCESS_TOKEN_TTL, …). */
  readonly env?: Record<string, string>;
  /** Serve an existing database instead of a fresh one (a second instance). */
  readonly database?: TestDatabase;
  readonly services?: Partial<Omit<ServicesOptions, 'database' | 'tokenSettings'>>;
  /** The built console to serve instead of dist/web. */
  readonly consoleRoot?: string;
  /** What draws its first screen on the server (none with another consoleRoot, unless given). */
  readonly consoleRenderer?: AppDeps['consoleRenderer'];
}

/** The real server (real database, real HTTP on loopback) in this process, logging at debug into `logs`. */
export async function startTestServer(dialect: Dialect, options: TestServerOptions = {}): Promise<TestServer> {
  const database = options.database ?? (await createTestDatabase(dialect));
  const port = await freePort();
  const config = loadConfig({ ...database.env, HOST: '127.0.0.1', PORT: String(port), KOIOS_LOG_LEVEL: 'debug', ...options.env });
  const logs = new LogCapture();
  const logger = createLogger(config.logLevel, logs);
  const services = await createServices({ database: database.handle, logger, tokenSettings: config, masterKey: database.masterKey, ...options.services });
  const app = await createApp({
    config,
    database: database.handle,
    services,
    logger,
    ...(options.consoleRoot === undefined ? {} : { consoleRoot: options.consoleRoot }),
    ...(options.consoleRenderer === undefined ? {} : { consoleRenderer: options.consoleRenderer }),
  });
  const metrics = config.metrics === null ? null : await startMetricsListener({ config: config.metrics, metrics: services.metrics, logger });
  await app.listen({ host: config.host, port: config.port });
  return {
    url: config.issuer,
    metricsUrl: metrics?.url ?? null,
    config,
    app,
    services,
    database,
    logs,
    async close() {
      await Promise.all([app.close(), metrics?.close()]);
      await services.stop();
      if (options.database === undefined) await database.drop();
    },
  };
}
