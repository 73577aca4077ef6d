import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { createApp } from './app.js';
import { ConfigError, loadConfig, redactDatabaseUrl, type Config } from './config.js';
import { createLogger } from './logger.js';
import { migrateToLatest, openDatabase, type DatabaseHandle } from './db/database.js';
import { createServices, type Services } from './services.js';

export interface RunningServer {
  readonly app: FastifyInstance;
  readonly services: Services;
  readonly database: DatabaseHandle;
  /** The address actually bound (PORT=0 picks a free port). */
  readonly url: string;
  /** Graceful shutdown: stop accepting, finish in-flight requests, flush writes, close the pool. */
  close(): Promise<void>;
}

/** Opens the database and checks it answers; an unreachable one is a configuration error. */
export async function openMigratedDatabase(config: Config, logger?: Logger): Promise<DatabaseHandle> {
  let database: DatabaseHandle;
  try {
    database = openDatabase(config.database, logger === undefined ? {} : { logger });
    await database.ping();
  } catch (error) {
    throw new ConfigError('KOIOS_DATABASE_URL', `cannot open ${redactDatabaseUrl(config.database)} (${(error as Error).message})`);
  }
  try {
    const applied = await migrateToLatest(database);
    if (applied.length > 0) logger?.info({ migrations: applied }, 'applied database migrations');
  } catch (error) {
    await database.close().catch(() => undefined);
    throw error;
  }
  return database;
}

export async function startServer(config: Config, logger: Logger): Promise<RunningServer> {
  const database = await openMigratedDatabase(config, logger);
  const services = await createServices({ database, logger, tokenSettings: config });

  if (config.admin !== null) {
    const created = await services.users.ensureFirstAdministrator(config.admin);
    if (created !== null) logger.info({ email: created.email }, 'created the first Administrator from KOIOS_ADMIN_EMAIL');
  }
  const setupToken = await services.users.issueSetupToken();

  const app = await createApp({ config, database, services, logger });
  const address = await app.listen({ host: config.host, port: config.port });
  const url = address.replace('[::1]', 'localhost');
  logger.info({ database: config.database.dialect }, `Koios Access is listening on ${url}`);
  if (setupToken !== null) {
    // Printed, not logged as a field: the operator needs the whole link once; it works until a user exists.
    process.stdout.write(`\nNo user exists yet. Create the first Administrator at:\n  ${config.issuer}/setup?token=${setupToken}\n\n`);
  }

  let closing: Promise<void> | undefined;
  return {
    app,
    services,
    database,
    url,
    close() {
      closing ??= (async () => {
        await app.close();
        await services.stop();
        await database.close();
      })();
      return closing;
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
    logger.info({ signal }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

/** One clear line and a non-zero exit (CONTRACT §2). */
function exitWith(error: unknown): never {
  const line = error instanceof ConfigError ? error.message : `start-up failed: ${(error as Error).message}`;
  process.stderr.write(`koios: ${line}\n`);
  process.exit(1);
}
