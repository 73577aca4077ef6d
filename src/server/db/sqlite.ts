import type SqliteDatabase from 'better-sqlite3';
import {
  CompiledQuery,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryResult,
} from 'kysely';
import type { Logger } from 'pino';
import { Unavailable } from '../errors.js';
import { isUniqueViolation } from './constraint-errors.js';

/**
 * How SQLite is driven when other processes (the CLI, a second server) write to the same file.
 *
 * - Every transaction takes the write lock up front (`BEGIN IMMEDIATE`): a deferred transaction
 *   that read first fails at once with SQLITE_BUSY or SQLITE_BUSY_SNAPSHOT when it tries to write
 *   after another process did, whatever the busy timeout.
 * - better-sqlite3 is synchronous, so SQLite's own busy timeout would block the event loop while
 *   another process holds the lock. It is 0 here; a busy database is waited for with timers
 *   instead, and the connection is lent to other queries meanwhile (reads do not need the lock
 *   in WAL mode). Past `busyTimeoutMs` the caller gets Unavailable (503).
 * - A full disk (SQLITE_FULL) is Unavailable too, logged as such, and reported by readiness until a
 *   write succeeds again.
 */
export const DEFAULT_SQLITE_BUSY_TIMEOUT_MS = 5000;

export interface SqliteDriverOptions {
  /** How long a write waits for a lock held by another process before Unavailable. */
  readonly busyTimeoutMs?: number;
  readonly logger?: Logger;
  /** How statements are prepared (database.ts keeps a cache); `database.prepare` by default. */
  readonly prepare?: (text: string) => SqliteDatabase.Statement;
  /** Told of each statement that fails, by kind (the metrics count them). */
  readonly onError?: (kind: 'statement' | 'busy' | 'disk_full') => void;
}

/** Waits between attempts, capped below YIELD_MS: a waiting process then tries at least once in each window the others leave it. */
const BACKOFF_MS = [1, 2, 3, 5];
/**
 * SQLite has no queue for its write lock: a process whose transactions follow each other without
 * a gap (a busy server) would keep it from every other process (the CLI) until their busy timeout.
 * After holding it back to back for BURST_MS, a process leaves it free for YIELD_MS.
 */
const BURST_MS = 100;
const YIELD_MS = 10;
const LOG_EVERY_MS = 10_000;
const PROBE_EVERY_MS = 1000;
const PROBE_KEY = 'koios_write_probe';

export const DATABASE_BUSY_MESSAGE = 'the database is busy (another process holds its write lock); try again shortly';
export const DISK_FULL_MESSAGE = 'the database disk is full; writes are refused until space is freed';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : '';
}

export function isBusy(error: unknown): boolean {
  return codeOf(error).startsWith('SQLITE_BUSY');
}

export function isDiskFull(error: unknown): boolean {
  return codeOf(error) === 'SQLITE_FULL';
}

/** The one connection of a process, its queue, and what it knows about the file's health. */
export class KoiosSqliteDriver implements Driver {
  readonly #database: SqliteDatabase.Database;
  readonly #prepare: (text: string) => SqliteDatabase.Statement;
  readonly #busyTimeoutMs: number;
  readonly #logger: Logger | undefined;
  readonly #onError: NonNullable<SqliteDriverOptions['onError']>;
  readonly #mutex = new Mutex();
  readonly #connection: DatabaseConnection;
  #diskFull = false;
  #lastProbe = 0;
  /** When this process's current run of back-to-back write transactions began, and the last one ended. */
  #burstStart = 0;
  #lastRelease = -Infinity;
  #yieldUntil = 0;
  readonly #logged = { busy: { at: 0, count: 0 }, full: { at: 0, count: 0 } };

  constructor(database: SqliteDatabase.Database, options: SqliteDriverOptions = {}) {
    this.#database = database;
    this.#prepare = options.prepare ?? ((text) => database.prepare(text));
    this.#busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_SQLITE_BUSY_TIMEOUT_MS;
    this.#logger = options.logger;
    this.#onError = options.onError ?? (() => undefined);
    this.#connection = {
      executeQuery: <R>(query: CompiledQuery) => this.#execute<R>(query),
      streamQuery: () => {
        throw new Error('streaming is not used with SQLite');
      },
    };
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    await this.#mutex.lock();
    return this.#connection;
  }

  async releaseConnection(): Promise<void> {
    this.#mutex.unlock();
  }

  async beginTransaction(): Promise<void> {
    for (let now = performance.now(); now < this.#yieldUntil; now = performance.now()) await this.#pause(this.#yieldUntil - now);
    const now = performance.now();
    if (now - this.#lastRelease > 1) this.#burstStart = now;
    else if (now - this.#burstStart > BURST_MS) {
      this.#yieldUntil = now + YIELD_MS;
      this.#burstStart = this.#yieldUntil;
      await this.#pause(YIELD_MS);
    }
    await this.#execute(CompiledQuery.raw('begin immediate'));
  }

  async commitTransaction(): Promise<void> {
    await this.#execute(CompiledQuery.raw('commit'));
    this.#lastRelease = performance.now();
  }

  async rollbackTransaction(): Promise<void> {
    // SQLite rolls back by itself after some errors (SQLITE_FULL among them); a second rollback
    // would fail with "no transaction is active" and hide the error that caused it.
    if (this.#database.inTransaction) this.#database.prepare('rollback').run();
    this.#lastRelease = performance.now();
  }

  /** Sleeps with the connection lent to others (nothing is open on it). */
  async #pause(ms: number): Promise<void> {
    this.#mutex.unlock();
    try {
      await sleep(ms);
    } finally {
      await this.#mutex.lock();
    }
  }

  async destroy(): Promise<void> {
    this.#database.close();
  }

  /**
   * True from a write refused for a full disk until the readiness probe can write again. Not
   * cleared by any write that succeeds: a small one may fit in a page that had room left.
   */
  get diskFull(): boolean {
    return this.#diskFull;
  }

  /**
   * Readiness while the disk is known to be full: at most once a second, tries a small write that
   * needs new pages (then undoes it) to learn whether space was freed. Throws Unavailable while full.
   */
  async checkWritable(): Promise<void> {
    if (!this.#diskFull) return;
    if (Date.now() - this.#lastProbe >= PROBE_EVERY_MS) {
      this.#lastProbe = Date.now();
      await this.#mutex.lock();
      try {
        this.#database.prepare('begin immediate').run();
        try {
          this.#database.prepare('insert into settings (key, value) values (?, hex(zeroblob(4000)))').run(PROBE_KEY);
          this.#database.prepare('delete from settings where key = ?').run(PROBE_KEY);
          this.#database.prepare('commit').run();
          this.#diskFull = false;
          this.#logger?.info('the database accepts writes again');
        } finally {
          if (this.#database.inTransaction) this.#database.prepare('rollback').run();
        }
      } catch (error) {
        // Busy: another process is writing, so nothing new is learnt; full: still full.
        if (!isBusy(error) && !isDiskFull(error)) throw error;
      } finally {
        this.#mutex.unlock();
      }
    }
    if (this.#diskFull) throw new Unavailable(DISK_FULL_MESSAGE);
  }

  /** Runs one statement; a busy database is retried on timers until the busy timeout. */
  async #execute<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const deadline = Date.now() + this.#busyTimeoutMs;
    for (let attempt = 0; ; attempt += 1) {
      try {
        return this.#run<R>(query);
      } catch (error) {
        if (isDiskFull(error)) {
          this.#diskFull = true;
          this.#log('full', 'error', 'the database disk is full: writes are refused with 503 until space is freed');
          this.#onError('disk_full');
          throw new Unavailable(DISK_FULL_MESSAGE);
        }
        if (!isBusy(error)) {
          if (!isUniqueViolation(error)) this.#onError('statement');
          throw error;
        }
        const inTransaction = this.#database.inTransaction;
        const remaining = deadline - Date.now();
        // A transaction's snapshot that another writer overtook never becomes writable again.
        if (remaining <= 0 || (inTransaction && codeOf(error) === 'SQLITE_BUSY_SNAPSHOT')) {
          this.#log('busy', 'warn', `the database stayed locked by another process for ${this.#busyTimeoutMs} ms; answered 503`);
          this.#onError('busy');
          throw new Unavailable(DATABASE_BUSY_MESSAGE);
        }
        const wait = Math.min(remaining, (BACKOFF_MS[attempt] ?? BACKOFF_MS[BACKOFF_MS.length - 1]!) * (0.5 + Math.random()));
        // Outside a transaction nothing is open on the connection: reads use it meanwhile.
        await (inTransaction ? sleep(wait) : this.#pause(wait));
      }
    }
  }

  #run<R>(query: CompiledQuery): QueryResult<R> {
    const statement = this.#prepare(query.sql);
    const parameters = query.parameters as unknown[];
    if (statement.reader) {
      const rows = statement.all(parameters) as R[];
      return { rows };
    }
    const { changes, lastInsertRowid } = statement.run(parameters);
    return {
      numAffectedRows: BigInt(changes),
      insertId: BigInt(lastInsertRowid),
      rows: [],
    };
  }

  /** One line per kind of trouble every 10 s, with how many statements it refused meanwhile. */
  #log(kind: 'busy' | 'full', level: 'warn' | 'error', message: string): void {
    const entry = this.#logged[kind];
    entry.count += 1;
    if (Date.now() - entry.at < LOG_EVERY_MS) return;
    this.#logger?.[level]({ refused: entry.count, code: kind === 'full' ? 'SQLITE_FULL' : 'SQLITE_BUSY' }, message);
    entry.at = Date.now();
    entry.count = 0;
  }
}

/** SQLite runs DDL in transactions: migrations then hold the write lock, so two processes starting together apply them once. */
class TransactionalSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

export function createSqliteDialect(driver: KoiosSqliteDriver): Dialect {
  return {
    createDriver: () => driver,
    createQueryCompiler: () => new SqliteQueryCompiler(),
    createAdapter: () => new TransactionalSqliteAdapter(),
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    createIntrospector: (db: Kysely<any>): DatabaseIntrospector => new SqliteIntrospector(db),
  };
}

/** First come, first served; the single connection is lent to one query or transaction at a time. */
class Mutex {
  #held = false;
  readonly #waiting: (() => void)[] = [];

  async lock(): Promise<void> {
    if (!this.#held) {
      this.#held = true;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  unlock(): void {
    const next = this.#waiting.shift();
    if (next === undefined) this.#held = false;
    else next();
  }
}
