import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { createApp } from './app.js';
import { ConfigError, loadConfig, redactDatabaseUrl, type Config } from './config.js';
import { createLogger } from './logger.js';
import { migrateToLatest, openDatabase, type DatabaseHandle } from './db/database.js';
import { resolveMasterKey } from './modules/master-key/sealed-keys.js';
import { createServices, type Services } from './services.js';
import { startMetricsListener, type MetricsListener } from './metrics/metrics.listener.js';

export interface RunningServer {
  readonly app: FastifyInstance;
  readonly services: Services;
  readonly database: DatabaseHandle;
  /** The address actually bound (PORT=0 picks a free port). */
  readonly url: string;
  /** Where `GET /metrics` is served; null without KOIOS_METRICS_PORT. */
  readonly metricsUrl: string | null;
  /** Graceful shutdown: stop accepting, finish in-flight requests, flush writes, close the pool. */
  close(): Promise<void>;
  /** The same, bounded by the configured shutdown deadline; says what had to be given up. */
  shutdown(): Promise<ShutdownReport>;
}

export interface ShutdownReport {
  /** Connections closed at the deadline with a request still unfinished (a half-sent body, a slow handler). */
  readonly cutConnections: number;
  /** Last-used times that could not be written before the deadline. */
  readonly droppedLastUsed: number;
  /** Usage counts that could not be written before the deadline. */
  readonly droppedUsage: number;
}

/** A migration may rewrite a large table: it runs on connections of its own without the request timeouts. */
const MIGRATION_STATEMENT_TIMEOUT_MS = 3_600_000;

/** Opens the database and checks it answers; an unreachable one is a configuration error. */
export async function openMigratedDatabase(config: Config, logger?: Logger): Promise<DatabaseHandle> {
  const open = (pool: Config['databasePool']): DatabaseHandle =>
    openDatabase(config.database, { pool, busyTimeoutMs: config.sqliteBusyTimeoutMs, ...(logger === undefined ? {} : { logger }) });
  let migrating: DatabaseHandle;
  try {
    migrating = open({ ...config.databasePool, size: 2, statementTimeoutMs: MIGRATION_STATEMENT_TIMEOUT_MS });
    await migrating.ping();
  } catch (error) {
    throw new ConfigError('KOIOS_DATABASE_URL', `cannot open ${redactDatabaseUrl(config.database)} (${(error as Error).message})`);
  }
  try {
    const applied = await migrateToLatest(migrating);
    if (applied.length > 0) logger?.info({ migrations: applied }, 'applied database migrations');
  } catch (error) {
    await migrating.close().catch(() => undefined);
    throw error;
  }
  // SQLite has no timeouts to lift: the migrated handle is the one served.
  if (config.database.dialect === 'sqlite') return migrating;
  await migrating.close().catch(() => undefined);
  return open(config.databasePool);
}

/** The services over an open database, with the configured master key (a key file made on first start). */
export async function createConfiguredServices(config: Config, database: DatabaseHandle, logger: Logger): Promise<Services> {
  try {
    const masterKey = await resolveMasterKey(config.masterKey, database.db, logger);
    return await createServices({
      database,
      logger,
      tokenSettings: config,
      masterKey,
      usageRetentionDays: config.usageRetentionDays,
      clientStateCacheSize: config.clientStateCacheSize,
    });
  } catch (error) {
    await database.close().catch(() => undefined);
    throw error;
  }
}

export async function startServer(config: Config, logger: Logger): Promise<RunningServer> {
  // Bound before the database is opened: a busy metrics port fails the start before any migration runs.
  const metricsListener = config.metrics === null ? null : await startMetricsListener({ config: config.metrics, logger });
  try {
    return await startServing(config, logger, metricsListener);
  } catch (error) {
    await metricsListener?.close().catch(() => undefined);
    throw error;
  }
}

async function startServing(config: Config, logger: Logger, metricsListener: MetricsListener | null): Promise<RunningServer> {
  const database = await openMigratedDatabase(config, logger);
  const services = await createConfiguredServices(config, database, logger);

  if (config.admin !== null) {
    const created = await services.users.ensureFirstAdministrator(config.admin);
    if (created !== null) logger.info({ email: created.email }, 'created the first Administrator from KOIOS_ADMIN_EMAIL');
  }
  const setupToken = await services.users.issueSetupToken();

  const app = await createApp({ config, database, services, logger });
  metricsListener?.serve(services.metrics);
  const address = await app.listen({ host: config.host, port: config.port });
  const url = address.replace('[::1]', 'localhost');
  logger.info({ database: config.database.dialect }, `Koios Access is listening on ${url}`);
  if (setupToken !== null) {
    // Printed, not logged as a field: the operator needs the whole link once; it works until a user exists.
    process.stdout.write(`\nNo user exists yet. Create the first Administrator at:\n  ${config.issuer}/setup?token=${setupToken}\n\n`);
  }

  const sockets = new Set<Socket>();
  app.server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  let closing: Promise<ShutdownReport> | undefined;
  const shutdown = (): Promise<ShutdownReport> => {
    closing ??= (async () => {
      const deadline = Date.now() + config.shutdownTimeoutMs;
      // Kept back from the requests for the last writes and closing the database.
      const reserve = Math.min(1000, config.shutdownTimeoutMs / 4);
      const scrapes = metricsListener?.close().catch(() => undefined);
      const http = app.close();
      // In-flight requests finish; a keep-alive connection is closed as soon as it is idle (its
      // request answered), not when the client or the keep-alive timeout ends it.
      const idle = setInterval(() => app.server.closeIdleConnections(), 50);
      let cutConnections = 0;
      let timer: NodeJS.Timeout | undefined;
      try {
        const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, deadline - reserve - Date.now()))));
        const finished = await Promise.race([http.then(() => true), late]);
        if (!finished) {
          // What is left cannot finish in time: a half-sent request, a client that stopped reading.
          cutConnections = sockets.size;
          app.server.closeAllConnections();
          await http;
        }
      } finally {
        clearInterval(idle);
        clearTimeout(timer);
      }
      const { droppedLastUsed, droppedUsage } = await services.stop(deadline - reserve / 2);
      await scrapes;
      await database.close();
      return { cutConnections, droppedLastUsed, droppedUsage };
    })();
    return closing;
  };
  return {
    app,
    services,
    database,
    url,
    metricsUrl: metricsListener?.url ?? null,
    shutdown,
    async close() {
      await shutdown();
    },
  };
}

/** `npm start` and `koios serve`: configuration → server → listen, until SIGTERM or SIGINT. */
export async function runServer(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    exitWith(error);
  }
  const logger = createLogger(config.logLevel);
  let server;
  try {
    server = await startServer(config, logger);
  } catch (error) {
    exitWith(error);
  }
  const shutdown = (signal: string) => {
    logger.info({ signal, deadlineMs: config.shutdownTimeoutMs }, 'shutting down');
    // The backstop: whatever still hangs (a frozen database) does not keep the process past its
    // deadline. A little early, as exiting itself takes a few milliseconds.
    setTimeout(
      () => {
        logger.error({ droppedLastUsed: server.services.lastUsed.pendingCount() }, 'shutdown deadline passed; exiting with work unfinished');
        process.exit(1);
      },
      Math.max(config.shutdownTimeoutMs - 100, config.shutdownTimeoutMs * 0.9),
    );
    server.shutdown().then(
      ({ cutConnections, droppedLastUsed, droppedUsage }) => {
        if (cutConnections > 0) logger.warn({ cutConnections }, 'shutdown deadline reached: closed connections whose requests had not finished');
        if (droppedLastUsed > 0) logger.warn({ droppedLastUsed }, 'shutdown deadline reached: last-used times not written to the database were dropped');
        if (droppedUsage > 0) logger.warn({ droppedUsage }, 'shutdown deadline reached: usage counts not written to the database were dropped');
        process.exit(cutConnections > 0 || droppedLastUsed > 0 || droppedUsage > 0 ? 1 : 0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

/** One clear line and a non-zero exit. */
function exitWith(error: unknown): never {
  const line = error instanceof ConfigError ? error.message : `start-up failed: ${(error as Error).message}`;
  process.stderr.write(`koios: ${line}\n`);
  process.exit(1);
}
