import { closeSync, constants, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, sql, type DatabaseIntrospector, type TableMetadata, type Transaction } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import type { DatabaseConfig, DatabasePoolConfig } from '../config.js';
import { isUniqueViolation } from './constraint-errors.js';
import { migrations } from './migrations/index.js';
import { readsArrays, withNamedStatements } from './named-statements.js';
import type { Database } from './schema.js';
import { createSqliteDialect, DEFAULT_SQLITE_BUSY_TIMEOUT_MS, KoiosSqliteDriver } from './sqlite.js';

export type Dialect = DatabaseConfig['dialect'];
/** What repositories run their queries on: the database, or a transaction on it. */
export type Executor = Kysely<Database> | Transaction<Database>;

/**
 * Why a call to the database failed, as the metrics count it: a statement refused (a unique
 * violation is a 409, not a fault, and is left out), no connection to be had, a connection lost,
 * or SQLite's write lock held elsewhere past the busy timeout, or its disk full.
 */
export type DatabaseErrorKind = 'statement' | 'connect' | 'connection_lost' | 'busy' | 'disk_full';
export type DatabaseErrorListener = (kind: DatabaseErrorKind) => void;

export interface DatabaseHandle {
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;
  /** The PostgreSQL pool (null on SQLite). */
  readonly pool: pg.Pool | null;
  /** SQLite: a number that moves whenever another connection (the CLI) commits to the file. */
  readonly dataVersion?: () => number;
  /** PostgreSQL: a new dedicated connection with the pool's settings, for LISTEN; the name shows in pg_stat_activity. */
  readonly newClient?: (applicationName?: string) => pg.Client;
  /** Tells `listener` of each failure, by kind only (never the error's text); returns the unsubscribe. */
  onError(listener: DatabaseErrorListener): () => void;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** PostgreSQL schema to use (created if missing); tests give each file its own. */
  readonly schema?: string;
  readonly logger?: Logger;
  /** PostgreSQL pool size and timeouts (the configuration's defaults when absent). */
  readonly pool?: Partial<DatabasePoolConfig>;
  /** SQLite: how long a write waits for a lock held by another process (sqlite.ts). */
  readonly busyTimeoutMs?: number;
}

export const DEFAULT_POOL: DatabasePoolConfig = Object.freeze({ size: 10, connectTimeoutMs: 1000, statementTimeoutMs: 1500, idleTransactionTimeoutMs: 5000 });
/** For bulk loaders, seeders and test fixtures on a busy machine: waits measured in minutes, not seconds. */
export const BULK_POOL: DatabasePoolConfig = Object.freeze({
  size: 10,
  connectTimeoutMs: 30_000,
  statementTimeoutMs: 600_000,
  idleTransactionTimeoutMs: 600_000,
});
/** How much longer than the server's statement timeout the client waits before it gives up on a silent server. */
const CLIENT_TIMEOUT_MARGIN_MS = 500;

export function openDatabase(config: DatabaseConfig, options: DatabaseOptions = {}): DatabaseHandle {
  return config.dialect === 'sqlite' ? openSqlite(config.path, options) : openPostgres(config.url, options);
}

/** Bits of a file's mode that let anyone but its owner in. */
const NOT_OWNER = 0o077;

/**
 * The database file holds password hashes and (sealed) keys: it is created readable by its owner
 * only, in a folder created for the owner only. SQLite gives the -wal and -shm files the mode of
 * the database file, so they follow. Files that exist already are not changed behind the
 * operator's back; a looser mode is reported once at start.
 */
export function prepareSqliteFile(path: string, logger?: Logger): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  try {
    closeSync(openSync(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    let mode: number;
    try {
      mode = statSync(file).mode & 0o777;
    } catch {
      continue;
    }
    if ((mode & NOT_OWNER) !== 0) {
      logger?.warn(
        { file, mode: mode.toString(8).padStart(4, '0') },
        `a database file can be read by other users of this host; restrict it with: chmod 600 ${path}*`,
      );
    }
  }
}

/** The listeners of one handle's failures; a failing listener never fails the query. */
function errorListeners() {
  const listeners = new Set<DatabaseErrorListener>();
  return {
    emit(kind: DatabaseErrorKind): void {
      for (const listener of listeners) {
        try {
          listener(kind);
        } catch {
          // Counting a failure must not become one.
        }
      }
    },
    onError(listener: DatabaseErrorListener): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

function openSqlite(path: string, options: DatabaseOptions): DatabaseHandle {
  if (path !== ':memory:') prepareSqliteFile(path, options.logger);
  const errors = errorListeners();
  const database = new SqliteDatabase(path);
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_SQLITE_BUSY_TIMEOUT_MS;
  // WAL lets readers (the CLI, a second process) run beside the server's writer. Opening may wait
  // synchronously for another process (nothing is served yet); afterwards the busy timeout is 0
  // and sqlite.ts waits for locks on timers, so the event loop never blocks on another process.
  database.pragma(`busy_timeout = ${busyTimeoutMs}`);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 0');
  // SQLite's own lower() folds ASCII letters only; PostgreSQL's folds every letter. Searches compare
  // lower(column) with a JavaScript-lowered pattern (the audit log's), so lower() is JavaScript's
  // here too and "élodie" finds "Élodie" on both. No index is built on lower().
  database.function('lower', { deterministic: true }, (value: unknown) => (value === null ? null : String(value).toLowerCase()));
  const driver = new KoiosSqliteDriver(database, {
    busyTimeoutMs,
    prepare: withStatementCache(database),
    onError: errors.emit,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  const db = new Kysely<Database>({ dialect: createSqliteDialect(driver) });
  // Read on every authenticated request (changes.ts); prepared once, because `pragma()` prepares
  // anew each call and that was 7% of the token path's CPU profile.
  const dataVersion = database.prepare('PRAGMA data_version').pluck();
  return {
    db,
    dialect: 'sqlite',
    pool: null,
    dataVersion: () => dataVersion.get() as number,
    onError: errors.onError,
    async ping() {
      database.prepare('select 1').get();
      // A full disk leaves reads working; readiness says writes are refused.
      await driver.checkWritable();
    },
    async close() {
      await db.destroy();
    },
  };
}

const STATEMENT_CACHE_SIZE = 256;

/**
 * Kysely's SQLite driver prepares every query anew; compiling a page query was 10% of a
 * `GET /api/v1/clients` CPU profile. Statements are kept by their SQL text (parameters are bound
 * per call), the least recently used dropped past 256 (`in (?, ?, …)` lists of every length make
 * new texts). A statement still being iterated is busy; that call gets a fresh one.
 */
export function withStatementCache(database: SqliteDatabase.Database): (text: string) => SqliteDatabase.Statement {
  const statements = new Map<string, SqliteDatabase.Statement>();
  const prepare = (text: string): SqliteDatabase.Statement => {
    const cached = statements.get(text);
    if (cached !== undefined && !cached.busy) {
      statements.delete(text);
      statements.set(text, cached);
      return cached;
    }
    const statement = database.prepare(text);
    if (readsArrays(text)) statement.raw(true);
    if (cached === undefined) {
      statements.set(text, statement);
      if (statements.size > STATEMENT_CACHE_SIZE) statements.delete(statements.keys().next().value as string);
    }
    return statement;
  };
  return prepare;
}

function openPostgres(url: string, options: DatabaseOptions): DatabaseHandle {
  const schema = options.schema;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`invalid schema name ${schema}`);
  const settings = { ...DEFAULT_POOL, ...options.pool };
  const logger = options.logger;
  const errors = errorListeners();
  const connection: pg.ClientConfig = {
    connectionString: url,
    connectionTimeoutMillis: settings.connectTimeoutMs,
    // The server ends a slow statement or a forgotten transaction; the client-side timeout covers
    // a server that answers nothing at all (frozen, or a network partition).
    statement_timeout: settings.statementTimeoutMs,
    idle_in_transaction_session_timeout: settings.idleTransactionTimeoutMs,
    query_timeout: settings.statementTimeoutMs + CLIENT_TIMEOUT_MARGIN_MS,
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
  };
  const pool = new pg.Pool({ ...connection, max: settings.size, idleTimeoutMillis: 30_000 });
  // An idle client's connection dying (a PostgreSQL restart) is emitted on the pool; unhandled, it
  // would kill the process (node-postgres #2635).
  pool.on('error', (error) => logger?.warn({ err: describeError(error) }, 'postgres pool connection lost'));
  // pg-pool removes its own error listener while a client is checked out, so a connection that dies
  // mid-transaction would emit an unhandled 'error' and end the process: every client keeps one.
  pool.on('connect', (client) => guardClient(client, logger, errors.emit));
  countConnectFailures(pool, errors.emit);
  const db = new Kysely<Database>({ dialect: new OwnSchemaPostgresDialect({ pool }) });
  return {
    db,
    dialect: 'postgres',
    pool,
    newClient: (applicationName) =>
      guardClient(new pg.Client({ ...connection, ...(applicationName === undefined ? {} : { application_name: applicationName }) }), logger, errors.emit),
    onError: errors.onError,
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      await db.destroy();
    },
  };
}

/**
 * Kysely's PostgreSQL introspector lists the tables of every schema in the database, and fails with
 * "schema … does not exist" when another process drops a schema while it runs. The migrator only
 * asks whether its own tables exist, so this one looks at the connection's search path alone.
 */
class OwnSchemaPostgresDialect extends PostgresDialect {
  override createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    const base = super.createIntrospector(db);
    return {
      getSchemas: () => base.getSchemas(),
      getMetadata: (options) => base.getMetadata(options),
      async getTables(): Promise<TableMetadata[]> {
        const { rows } = await sql<{ name: string; schema: string; kind: string }>`
          select c.relname as name, n.nspname as schema, c.relkind as kind
          from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
          where c.relkind in ('r', 'p', 'v', 'm') and n.nspname = any (current_schemas(false))`.execute(db);
        return rows.map((row) => ({ name: row.name, schema: row.schema, isView: row.kind === 'v' || row.kind === 'm', columns: [] }));
      },
    };
  }
}

/** The parts of a driver error worth a log line; never the query's parameters. */
function describeError(error: Error): Record<string, unknown> {
  const { code } = error as { code?: unknown };
  return { message: error.message, ...(typeof code === 'string' ? { code } : {}) };
}

/**
 * Makes a client safe to lose: a permanent 'error' listener, and a query that timed out on the
 * client side ends the connection. pg keeps such a connection open with the statement still
 * running, so it would go back to the pool and every later query on it would queue behind the
 * one that never answers. Marked hot queries go out as named statements (named-statements.ts).
 */
function guardClient<T extends pg.Client | pg.PoolClient>(client: T, logger: Logger | undefined, onError: DatabaseErrorListener): T {
  client.on('error', (error) => {
    logger?.warn({ err: describeError(error) }, 'postgres connection lost');
    onError('connection_lost');
  });
  const query = withNamedStatements(client, client.query.bind(client) as (...args: unknown[]) => unknown);
  (client as { query: unknown }).query = (...args: unknown[]) => {
    const result = query(...args);
    if (result instanceof Promise) {
      result.catch((error: unknown) => {
        if ((error as Error).message === 'Query read timeout') destroyConnection(client);
        if (!isUniqueViolation(error)) onError('statement');
      });
    }
    return result;
  };
  return client;
}

/** A connection that cannot be had (refused, or none free before the connect timeout) is counted; pg has no event for it. */
function countConnectFailures(pool: pg.Pool, onError: DatabaseErrorListener): void {
  const connect = pool.connect.bind(pool) as (...args: unknown[]) => unknown;
  (pool as { connect: unknown }).connect = (...args: unknown[]) => {
    const result = connect(...args);
    if (result instanceof Promise) result.catch(() => onError('connect'));
    return result;
  };
}

function destroyConnection(client: pg.Client | pg.PoolClient): void {
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}

/** Applies pending migrations; returns the names applied. Safe to run from several processes. */
export async function migrateToLatest(handle: DatabaseHandle, schema?: string): Promise<string[]> {
  if (handle.dialect === 'postgres' && schema !== undefined) {
    await sql`create schema if not exists ${sql.id(schema)}`.execute(handle.db);
  }
  const migrator = new Migrator({
    db: handle.db,
    provider: { getMigrations: async () => migrations },
    ...(schema === undefined ? {} : { migrationTableSchema: schema }),
  });
  // Up to date (every start after the first): no write lock is taken, so a CLI command beside a
  // busy writer does not queue for it.
  if ((await migrator.getMigrations()).every((migration) => migration.executedAt !== undefined)) return [];
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((result) => result.status === 'Error');
    throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message ?? String(error)}`);
  }
  return (results ?? []).filter((result) => result.status === 'Success').map((result) => result.migrationName);
}
