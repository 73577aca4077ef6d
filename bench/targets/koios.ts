import { sql } from 'kysely';
import { SYSTEM_ACTOR } from '../../src/server/actor.js';
import { loadConfig } from '../../src/server/config.js';
import type { DatabaseConfig } from '../../src/server/config.js';
import { migrateToLatest, openDatabase, type Dialect } from '../../src/server/db/database.js';
import { createLogger } from '../../src/server/logger.js';
import { startServer } from '../../src/server/server.js';
import { insertClients } from '../pagination.js';
import { announceReady, fail, freePort, onShutdown } from './common.js';

/**
 * The real Koios Access server, as `npm start` runs it (startServer: migrations, services, the
 * Fastify app on loopback), over a database the parent made for it and will drop:
 * BENCH_KOIOS_DIALECT=sqlite with BENCH_KOIOS_SQLITE_PATH, or =postgres with BENCH_KOIOS_PG_URL and
 * BENCH_KOIOS_PG_SCHEMA. BENCH_KOIOS_CLIENTS clients (default 100,000) are inserted in bulk before
 * the server starts; then one Administrator-role client is created through the service, and its
 * credentials are announced on the readiness line.
 */
function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
}

async function main(): Promise<void> {
  const dialect = required('BENCH_KOIOS_DIALECT') as Dialect;
  const count = Number(process.env['BENCH_KOIOS_CLIENTS'] ?? '100000');
  let databaseUrl: string;
  let seedConfig: DatabaseConfig;
  let schema: string | undefined;
  if (dialect === 'sqlite') {
    const path = required('BENCH_KOIOS_SQLITE_PATH');
    databaseUrl = `file:${path}`;
    seedConfig = { dialect, path, url: databaseUrl };
  } else if (dialect === 'postgres') {
    const base = required('BENCH_KOIOS_PG_URL');
    schema = required('BENCH_KOIOS_PG_SCHEMA');
    const url = new URL(base);
    url.searchParams.set('options', `-c search_path=${schema}`);
    databaseUrl = url.href;
    seedConfig = { dialect, url: base };
  } else {
    throw new Error(`BENCH_KOIOS_DIALECT must be sqlite or postgres, got ${String(dialect)}`);
  }

  // The clients go in before the server starts, straight into the table, as a grown database has them.
  const seeding = openDatabase(seedConfig, schema === undefined ? {} : { schema });
  try {
    await migrateToLatest(seeding, schema);
    if (count > 0) await insertClients(seeding.db, dialect, count);
    if (dialect === 'postgres') await sql`analyze api_clients`.execute(seeding.db);
  } finally {
    await seeding.close();
  }

  const port = await freePort();
  const config = loadConfig({
    KOIOS_DATABASE_URL: databaseUrl,
    HOST: '127.0.0.1',
    PORT: String(port),
    KOIOS_LOG_LEVEL: process.env['KOIOS_LOG_LEVEL'] ?? 'warn',
  });
  const server = await startServer(config, createLogger(config.logLevel));
  onShutdown(() => server.close());

  const administrator = await server.services.roles.resolve(SYSTEM_ACTOR, 'Administrator');
  const created = await server.services.clients.create(SYSTEM_ACTOR, { name: 'Bench administrator', roleId: administrator.id });
  announceReady({
    url: server.url,
    dialect,
    clients: count + 1,
    clientId: created.client.id,
    clientSecret: created.clientSecret,
    logLevel: config.logLevel,
  });
}

main().catch(fail);
