import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import SqliteDatabase from 'better-sqlite3';
import { sql } from 'kysely';
import type { InjectOptions } from 'fastify';
import pg from 'pg';
import * as prettier from 'prettier';
import { SYSTEM_ACTOR } from '../src/server/actor.js';
import { createApp } from '../src/server/app.js';
import { loadConfig } from '../src/server/config.js';
import { BULK_POOL, migrateToLatest, openDatabase, type DatabaseHandle, type Dialect } from '../src/server/db/database.js';
import { encodeCursor } from '../src/server/db/pagination.js';
import { mergeSearchIndexes } from '../src/server/db/search-indexes.js';
import { createLogger } from '../src/server/logger.js';
import { createMasterKey } from '../src/server/modules/master-key/master-key.js';
import { createServices } from '../src/server/services.js';
import { cleanUp, onCleanUp } from './children.js';

/**
 * `npm run bench -- scale [--max 10k|100k|1m] [--max-events N] [--dialect sqlite|postgres|both] [--svg PATH]`: how each hot query's
 * cost grows with the data. One database per dialect grows in steps (10k clients with 100k audit
 * events, then 100k with 1M, then 1M with 10M), seeded straight into the tables (batched multi-row
 * inserts in one transaction on SQLite, `unnest` arrays on PostgreSQL, the triggers and indexes of
 * the schema maintained as they are in production, then the search tables merged as housekeeping
 * does); after each step every query is timed in
 * process, one call at a time, and compared with its cost at the first step. Target: each within
 * 2× of its cost at 10k. Prints the tables and writes the curves as one SVG (docs/bench-scale.svg).
 * PostgreSQL as in `npm run bench` (KOIOS_BENCH_PG_URL, or the local test server when it answers),
 * in a schema of its own that is dropped at the end.
 */

interface Step {
  readonly clients: number;
  readonly events: number;
}
const STEPS: readonly Step[] = [
  { clients: 10_000, events: 100_000 },
  { clients: 100_000, events: 1_000_000 },
  { clients: 1_000_000, events: 10_000_000 },
];
const ROUNDS = 15;
const WARM_UP_ROUNDS = 3;
const TARGET_RATIO = 2;
/** Events per audited target, the same at every size: a text or target search finds about this many. */
const EVENTS_PER_TARGET = 20;
const ACTORS = 50;
const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const ISSUER = 'http://koios.bench';

const QUERIES = [
  'clients: first page',
  'clients: page after 90%',
  'clients: search name substring',
  'clients: search id prefix',
  'audit: search text',
  'audit: by target',
  'audit: by actor',
  'token (POST /oauth/token)',
  'GET /api/v1/me',
] as const;
type Query = (typeof QUERIES)[number];

interface StepResult {
  readonly step: Step;
  readonly seedSeconds: { clients: number; events: number };
  readonly medians: Map<Query, number>;
}

const out = (line = '') => process.stdout.write(`${line}\n`);

function parseCount(raw: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(raw.trim());
  if (match === null) throw new Error(`${flag}: expected a count such as 100k or 1m, got ${raw}`);
  return Math.round(Number(match[1]) * ({ '': 1, k: 1e3, m: 1e6 }[match[2]!.toLowerCase() as '' | 'k' | 'm'] ?? 1));
}

function parseArgs(argv: readonly string[]): { steps: Step[]; svg: string; dialects: readonly Dialect[] } {
  let maxClients = 1_000_000;
  let maxEvents = Infinity;
  let svg = 'docs/bench-scale.svg';
  let dialect = 'both';
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--max') maxClients = parseCount(value, flag);
    else if (flag === '--max-events') maxEvents = parseCount(value, flag);
    else if (flag === '--svg') svg = value;
    else if (flag === '--dialect') dialect = value;
    else throw new Error(`unknown option ${flag} (use --max, --max-events, --dialect, --svg)`);
    i++;
  }
  const steps = STEPS.filter((step) => step.clients <= maxClients).map((step) => ({ ...step, events: Math.min(step.events, maxEvents) }));
  if (steps.length === 0) throw new Error('--max is below the first step (10k)');
  if (!['sqlite', 'postgres', 'both'].includes(dialect)) throw new Error('--dialect must be sqlite, postgres or both');
  return { steps, svg, dialects: dialect === 'both' ? ['sqlite', 'postgres'] : [dialect as Dialect] };
}

/** Deterministic hex from a counter: ids that do not collide and need no set to check. */
function hexOf(label: string, n: number, digits: number): string {
  return createHash('sha256').update(`${label}:${n}`).digest('hex').slice(0, digits);
}
function uuidOf(label: string, n: number): string {
  const h = hexOf(label, n, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const WORDS = ['billing', 'export', 'warehouse', 'sync', 'ledger', 'audit', 'koios', 'reporting', 'crm', 'payroll', 'data', 'lake', 'ölwerk', '東京'];
const BASE_TIME = Date.UTC(2025, 0, 1);
const CLIENT_COLUMNS = [
  'id',
  'name',
  'name_key',
  'description',
  'description_key',
  'enabled',
  'secret_hash',
  'secret_hint',
  'last_used_at',
  'created_at',
  'updated_at',
] as const;
type Row = readonly (string | number | null)[];

/** The n-th client: newer n are created later; 40% never used, 30% disabled, 35% with a description. */
function clientRowOf(n: number): Row {
  const h = hexOf('client', n, 16);
  const pick = (i: number, mod: number) => parseInt(h.slice(i * 2, i * 2 + 4), 16) % mod;
  const name = `${WORDS[pick(0, WORDS.length)]} ${WORDS[pick(1, WORDS.length)]} ${pick(2, 100_000)}`;
  const description = pick(3, 100) < 35 ? `nightly export ${pick(4, 1000)}` : null;
  const createdAt = new Date(BASE_TIME + n * 5000).toISOString();
  const lastUsedAt = pick(5, 100) < 40 ? null : new Date(BASE_TIME + 400 * 86_400_000 + pick(6, 86_400) * 1000).toISOString();
  return [uuidOf('client', n), name, name, description, description, pick(7, 100) < 30 ? 0 : 1, hexOf('hash', n, 43), 'none', lastUsedAt, createdAt, createdAt];
}

const ACTIONS = ['client.created', 'client.updated', 'client.enabled', 'client.disabled', 'client.secret_regenerated', 'role.updated', 'user.updated'];
const EVENT_COLUMNS = ['occurred_at', 'actor_type', 'actor_id', 'actor_name', 'action', 'target_type', 'target_id', 'target_name', 'details'] as const;

/** The k-th audited target's name: a word and a token no other target has. */
function targetNameOf(k: number): string {
  return `job ${((Math.imul(k + 1, 2654435761) >>> 0) + 2 ** 32).toString(36)}`;
}
/** The n-th audit event: EVENTS_PER_TARGET consecutive events per target, one of ACTORS users acting. */
function eventRowOf(n: number): Row {
  const target = Math.floor(n / EVENTS_PER_TARGET);
  const actor = n % ACTORS;
  return [
    new Date(BASE_TIME + n * 1000).toISOString(),
    'user',
    uuidOf('user', actor),
    `Operator ${actor}`,
    ACTIONS[n % ACTIONS.length]!,
    'client',
    uuidOf('target', target),
    targetNameOf(target),
    '{}',
  ];
}

/** The audited targets' and actors' rows (k, id, name): the events of rows `from` ≤ n < `to` refer to these. */
function eventPartsOf(from: number, to: number): { targets: Row[]; actors: Row[] } {
  const targets: Row[] = [];
  for (let k = Math.floor(from / EVENTS_PER_TARGET); k <= Math.floor((to - 1) / EVENTS_PER_TARGET); k++) {
    targets.push([k, uuidOf('target', k), targetNameOf(k)]);
  }
  const actors = Array.from({ length: ACTORS }, (_, actor): Row => [actor, uuidOf('user', actor), `Operator ${actor}`]);
  return { targets, actors };
}

/** Writes rows `from` ≤ n < `to` of a table straight into the database, as fast as the dialect allows. */
interface Seeder {
  insert(table: 'api_clients', columns: readonly string[], rowOf: (n: number) => Row, from: number, to: number): Promise<void>;
  /**
   * Audit events `from` ≤ n < `to`, the rows `eventRowOf` describes, generated inside the database
   * from a series joined with its targets and actors (sent once each): ten million rows sent from
   * here took over an hour per dialect.
   */
  insertEvents(from: number, to: number): Promise<void>;
  analyze(): Promise<void>;
  close(): Promise<void>;
}

/** SQLite: each seeded table's FTS5 table, and what its insert trigger (migration 2026-12-04T0005) writes there. */
const SQLITE_SEARCH = {
  api_clients: { search: 'api_clients_search', trigger: 'api_clients_search_insert', rowid: 'rowid', columns: 'name_key, description_key, id' },
  audit_events: {
    search: 'audit_events_search',
    trigger: 'audit_events_search_insert',
    rowid: 'id',
    columns: 'actor_name, target_name, action, actor_id, target_id',
  },
} as const;

function sqliteSeeder(path: string): Seeder {
  const db = new SqliteDatabase(path);
  db.pragma('busy_timeout = 10000');
  // Seeding only: a gigabyte of page cache keeps the indexes' scattered inserts (random ids, the
  // trigram tables) in memory rather than in the 2 MB default, and a crash would only mean seeding again.
  db.pragma('cache_size = -1000000');
  db.pragma('synchronous = off');
  /**
   * Runs a bulk insert into `table` with its FTS5 table filled after, by one INSERT … SELECT of
   * the rows its insert trigger would have written one by one, and the trigger then made again
   * from its own SQL. Row by row, each insert also paid FTS5's automatic merges (10 s for 200,000
   * events against 3.6 s this way); the segments left are merged after each step anyway.
   */
  const withSearchFilledAfter = (table: 'api_clients' | 'audit_events', fill: () => void) => {
    const { search, trigger, rowid, columns } = SQLITE_SEARCH[table];
    const triggerSql = db.prepare(`select sql from sqlite_master where type = 'trigger' and name = ?`).pluck().get(trigger) as string;
    const newValues = columns.split(', ').map((column) => `new.${column}`);
    check(
      triggerSql.replace(/\s+/g, ' ').includes(`insert into ${search}(rowid, ${columns}) values (new.${rowid}, ${newValues.join(', ')});`),
      `${trigger} no longer writes what the seeder writes in its place: ${triggerSql}`,
    );
    const after = db.prepare(`select coalesce(max(${rowid}), 0) from ${table}`).pluck().get() as number;
    db.transaction(() => {
      db.exec(`drop trigger ${trigger}`);
      db.exec(`insert into ${search}(${search}, rank) values ('automerge', 0)`);
    })();
    try {
      fill();
    } finally {
      db.transaction(() => {
        db.prepare(`insert into ${search}(rowid, ${columns}) select ${rowid}, ${columns} from ${table} where ${rowid} > ?`).run(after);
        db.exec(triggerSql);
        // FTS5's default, which the migrations leave as it is.
        db.exec(`insert into ${search}(${search}, rank) values ('automerge', 4)`);
      })();
      db.pragma('wal_checkpoint(truncate)');
    }
  };
  return {
    async insert(table, columns, rowOf, from, to) {
      withSearchFilledAfter(table, () => {
        const rowsPerInsert = Math.floor(30_000 / columns.length);
        const placeholders = (rows: number) => Array.from({ length: rows }, () => `(${columns.map(() => '?').join(',')})`).join(',');
        const full = db.prepare(`insert into ${table} (${columns.join(',')}) values ${placeholders(rowsPerInsert)}`);
        // One transaction per million rows: one fsync per batch, and a bounded WAL.
        for (let batch = from; batch < to; batch += 1_000_000) {
          const end = Math.min(to, batch + 1_000_000);
          db.transaction(() => {
            for (let start = batch; start < end; start += rowsPerInsert) {
              const count = Math.min(rowsPerInsert, end - start);
              const values: (string | number | null)[] = [];
              for (let n = start; n < start + count; n++) values.push(...rowOf(n));
              (count === rowsPerInsert ? full : db.prepare(`insert into ${table} (${columns.join(',')}) values ${placeholders(count)}`)).run(values);
            }
          })();
          db.pragma('wal_checkpoint(truncate)');
        }
      });
    },
    async insertEvents(from, to) {
      const { targets, actors } = eventPartsOf(from, to);
      db.exec(`create temp table if not exists bench_targets (k integer primary key, id text not null, name text not null);
        create temp table if not exists bench_actors (k integer primary key, id text not null, name text not null);
        create temp table if not exists bench_actions (k integer primary key, action text not null);
        delete from bench_targets; delete from bench_actors; delete from bench_actions;`);
      const part = (table: string) => db.prepare(`insert into ${table} values (?, ?, ?)`);
      db.transaction(() => {
        const target = part('bench_targets');
        for (const row of targets) target.run(row);
        const actor = part('bench_actors');
        for (const row of actors) actor.run(row);
        const action = db.prepare('insert into bench_actions values (?, ?)');
        ACTIONS.forEach((name, k) => action.run(k, name));
      })();
      // The series drives the loop (cross join keeps it outermost); each row looks up its target,
      // actor and action by key.
      const insert = db.prepare(`with recursive series(n) as (select cast(? as integer) union all select n + 1 from series where n < cast(? as integer))
        insert into audit_events (${EVENT_COLUMNS.join(', ')})
        select strftime('%Y-%m-%dT%H:%M:%fZ', ${BASE_TIME / 1000} + series.n, 'unixepoch'), 'user', a.id, a.name, c.action, 'client', t.id, t.name, '{}'
        from series cross join bench_targets t cross join bench_actors a cross join bench_actions c
        where t.k = series.n / ${EVENTS_PER_TARGET} and a.k = series.n % ${ACTORS} and c.k = series.n % ${ACTIONS.length}`);
      withSearchFilledAfter('audit_events', () => {
        // One transaction per million rows: a bounded WAL.
        for (let batch = from; batch < to; batch += 1_000_000) {
          const end = Math.min(to, batch + 1_000_000);
          db.transaction(() => insert.run(batch, end - 1))();
          db.pragma('wal_checkpoint(truncate)');
        }
      });
      db.exec('drop table bench_targets; drop table bench_actors; drop table bench_actions');
    },
    async analyze() {
      // As `pragma optimize` would leave it on a database that grew to this size.
      db.exec('analyze');
    },
    async close() {
      db.close();
    },
  };
}

function postgresSeeder(url: string, schema: string): Seeder {
  const client = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
  const connected = client.connect();
  const types: Record<string, string> = { enabled: 'int' };
  /**
   * Runs a bulk insert into `table` without its trigram GIN indexes, then makes them again from
   * their own definitions, in the caller's transaction: the searches read the same indexes
   * production has. Kept row by row through their pending lists, as production keeps them, they
   * held the audit log to about 2,500 rows a second (100,000 events in 46 s against 8 s this way).
   */
  const withoutGin = async (table: 'api_clients' | 'audit_events', fill: () => Promise<unknown>) => {
    const gin = await client.query<{ name: string; definition: string }>(
      `select indexname as name, indexdef as definition from pg_indexes where schemaname = current_schema() and tablename = $1 and indexdef ilike '% using gin %'`,
      [table],
    );
    for (const index of gin.rows) await client.query(`drop index ${pg.escapeIdentifier(index.name)}`);
    await fill();
    await client.query(`set local maintenance_work_mem = '512MB'`);
    for (const index of gin.rows) await client.query(index.definition);
  };
  return {
    async insert(table, columns, rowOf, from, to) {
      await connected;
      const arrays = `${columns.map((column, i) => `$${i + 1}::${types[column] ?? 'text'}[]`).join(', ')}`;
      const statement = `insert into ${table} (${columns.join(', ')}) select * from unnest(${arrays})`;
      await client.query('begin');
      try {
        await withoutGin(table, async () => {
          for (let start = from; start < to; start += 20_000) {
            const byColumn: (string | number | null)[][] = columns.map(() => []);
            for (let n = start; n < Math.min(to, start + 20_000); n++) rowOf(n).forEach((value, i) => byColumn[i]!.push(value));
            await client.query(statement, byColumn);
          }
        });
        await client.query('commit');
      } catch (error) {
        await client.query('rollback').catch(() => undefined);
        throw error;
      }
    },
    async insertEvents(from, to) {
      await connected;
      const { targets, actors } = eventPartsOf(from, to);
      await client.query('begin');
      try {
        await client.query(`create temp table bench_targets (k bigint primary key, id text not null, name text not null) on commit drop;
          create temp table bench_actors (k bigint primary key, id text not null, name text not null) on commit drop;
          create temp table bench_actions (k bigint primary key, action text not null) on commit drop`);
        const send = async (table: string, rows: readonly Row[]) => {
          for (let start = 0; start < rows.length; start += 20_000) {
            const chunk = rows.slice(start, start + 20_000);
            await client.query(
              `insert into ${table} select * from unnest($1::bigint[], $2::text[], $3::text[])`,
              [0, 1, 2].map((i) => chunk.map((row) => row[i])),
            );
          }
        };
        await send('bench_targets', targets);
        await send('bench_actors', actors);
        await client.query('insert into bench_actions select * from unnest($1::bigint[], $2::text[])', [ACTIONS.map((_, k) => k), ACTIONS]);
        await client.query('analyze bench_targets; analyze bench_actors; analyze bench_actions');
        await withoutGin('audit_events', () =>
          client.query(
            `insert into audit_events (${EVENT_COLUMNS.join(', ')})
           select to_char(timestamp '${new Date(BASE_TIME).toISOString().slice(0, 19).replace('T', ' ')}' + n * interval '1 second', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
             'user', a.id, a.name, c.action, 'client', t.id, t.name, '{}'
           from generate_series($1::bigint, $2::bigint) as n
             join bench_targets t on t.k = n / ${EVENTS_PER_TARGET}
             join bench_actors a on a.k = n % ${ACTORS}
             join bench_actions c on c.k = n % ${ACTIONS.length}
           order by n`,
            [from, to - 1],
          ),
        );
        await client.query('commit');
      } catch (error) {
        await client.query('rollback').catch(() => undefined);
        throw error;
      }
    },
    async analyze() {
      await connected;
      // As autovacuum would have them on a database that grew to this size.
      await client.query('vacuum analyze api_clients');
      await client.query('vacuum analyze audit_events');
    },
    async close() {
      await client.end();
    },
  };
}

function median(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 0 ? (sorted[middle - 1]! + sorted[middle]!) / 2 : sorted[middle]!;
}

async function timeMedian(run: () => Promise<void>): Promise<number> {
  for (let i = 0; i < WARM_UP_ROUNDS; i++) await run();
  const samples: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const start = performance.now();
    await run();
    samples.push(performance.now() - start);
  }
  return median(samples);
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

interface Database {
  readonly dialect: Dialect;
  readonly handle: DatabaseHandle;
  readonly databaseUrl: string;
  readonly seeder: Seeder;
  dispose(): Promise<void>;
}

async function openSqliteDatabase(): Promise<Database> {
  const dir = mkdtempSync(join(tmpdir(), 'koios-scale-'));
  const path = join(dir, 'koios.db');
  const handle = openDatabase({ dialect: 'sqlite', path, url: `file:${path}` });
  await migrateToLatest(handle);
  const seeder = sqliteSeeder(path);
  return {
    dialect: 'sqlite',
    handle,
    databaseUrl: `file:${path}`,
    seeder,
    async dispose() {
      await seeder.close().catch(() => undefined);
      await handle.close().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function openPostgresDatabase(url: string): Promise<Database> {
  const schema = `bench_scale_${randomBytes(6).toString('hex')}`;
  const handle = openDatabase({ dialect: 'postgres', url }, { schema, pool: BULK_POOL });
  let dropped: Promise<void> | undefined;
  // Run once: at the end of the bench, or by children.ts's clean-up if the bench is interrupted.
  const dispose = () => (dropped ??= drop());
  const drop = async () => {
    try {
      await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(handle.db);
    } finally {
      await handle.close().catch(() => undefined);
    }
  };
  onCleanUp(dispose);
  await migrateToLatest(handle, schema);
  const seeder = postgresSeeder(url, schema);
  const withSchema = new URL(url);
  withSchema.searchParams.set('options', `-c search_path=${schema}`);
  return {
    dialect: 'postgres',
    handle,
    databaseUrl: withSchema.href,
    seeder,
    async dispose() {
      await seeder.close().catch(() => undefined);
      await dispose();
    },
  };
}

/** Grows one database through the steps, timing every query after each. */
async function runDialect(database: Database, steps: readonly Step[]): Promise<StepResult[]> {
  const { dialect, handle, seeder } = database;
  const masterKeyBytes = randomBytes(32);
  const masterKey = createMasterKey(masterKeyBytes, 'KOIOS_MASTER_KEY');
  const config = loadConfig({
    KOIOS_DATABASE_URL: database.databaseUrl,
    KOIOS_MASTER_KEY: masterKeyBytes.toString('base64'),
    KOIOS_ISSUER: ISSUER,
    KOIOS_LOG_LEVEL: 'warn',
  });
  const logger = createLogger('warn');
  const services = await createServices({ database: handle, tokenSettings: config, masterKey, logger, lastUsedFlushMs: 60_000 });
  const app = await createApp({ config, database: handle, services, logger });
  const results: StepResult[] = [];
  try {
    // The client that asks for tokens and calls /me: made through the service, with a real secret and the Viewer role.
    const roles = await services.roles.list(SYSTEM_ACTOR);
    const viewer = roles.find((role) => role.name === 'Viewer');
    check(viewer !== undefined, 'no Viewer role');
    const created = await services.clients.create(SYSTEM_ACTOR, { name: 'scale bench caller', roleId: viewer!.id });
    const basic = `Basic ${Buffer.from(`${encodeURIComponent(created.client.id)}:${encodeURIComponent(created.clientSecret)}`).toString('base64')}`;
    const tokenRequest: InjectOptions = {
      method: 'POST',
      url: '/oauth/token',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'grant_type=client_credentials',
    };
    const tokenAnswer = await app.inject(tokenRequest);
    check(tokenAnswer.statusCode === 200, `token: ${tokenAnswer.statusCode} ${tokenAnswer.body}`);
    const accessToken = (tokenAnswer.json() as { access_token: string }).access_token;

    let clients = 0;
    let events = 0;
    for (const step of steps) {
      let started = performance.now();
      await seeder.insert('api_clients', CLIENT_COLUMNS, clientRowOf, clients, step.clients);
      const clientSeconds = (performance.now() - started) / 1000;
      out(
        `${dialect}: ${step.clients.toLocaleString('en')} clients seeded (+${(step.clients - clients).toLocaleString('en')} in ${clientSeconds.toFixed(1)} s)`,
      );
      started = performance.now();
      await seeder.insertEvents(events, step.events);
      const eventSeconds = (performance.now() - started) / 1000;
      // Made inside the database: the last one must be the row eventRowOf describes.
      const last = await handle.db.selectFrom('audit_events').select(EVENT_COLUMNS).orderBy('id', 'desc').limit(1).executeTakeFirstOrThrow();
      const expected = eventRowOf(step.events - 1);
      check(
        EVENT_COLUMNS.every((column, i) => last[column] === expected[i]),
        `seeded event ${JSON.stringify(last)} is not ${JSON.stringify(expected)}`,
      );
      out(
        `${dialect}: ${step.events.toLocaleString('en')} audit events seeded (+${(step.events - events).toLocaleString('en')} in ${eventSeconds.toFixed(1)} s)`,
      );
      clients = step.clients;
      events = step.events;
      await seeder.analyze();
      // As hourly housekeeping leaves the search tables (SQLite's FTS5 segments merged) once its runs
      // catch up: one run merges at most a gigabyte, and the 9M events' merge needs more.
      started = performance.now();
      let merged = false;
      while (!merged) merged = await mergeSearchIndexes(handle.db);
      out(`${dialect}: search indexes merged in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      results.push({
        step,
        seedSeconds: { clients: clientSeconds, events: eventSeconds },
        medians: await measureStep(app, services, handle, step, tokenRequest, accessToken),
      });
      const medians = results.at(-1)!.medians;
      // Each step's figures as soon as they are known: the tables come only at the end of a long run.
      out(
        `${dialect}: ${formatCount(step.clients)} clients / ${formatCount(step.events)} events measured: ${QUERIES.map((q) => `${q} ${medians.get(q)!.toFixed(2)}`).join('; ')}`,
      );
    }
  } finally {
    await app.close();
    await services.stop();
  }
  return results;
}

type Services = Awaited<ReturnType<typeof createServices>>;
type App = Awaited<ReturnType<typeof createApp>>;

async function measureStep(
  app: App,
  services: Services,
  handle: DatabaseHandle,
  step: Step,
  tokenRequest: InjectOptions,
  accessToken: string,
): Promise<Map<Query, number>> {
  const medians = new Map<Query, number>();
  const total = step.clients + 1;
  // The cursor after 90% of the default order (-createdAt), as a walk there would end.
  const deep = await handle.db
    .selectFrom('api_clients')
    .select(['created_at', 'id'])
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .offset(Math.floor(total * 0.9) - 1)
    .limit(1)
    .executeTakeFirstOrThrow();
  const deepCursor = encodeCursor({ sort: '-createdAt', value: deep.created_at, id: deep.id });
  // A client from the middle: its name's word-word-number, and the first 8 characters of its id.
  const middle = clientRowOf(Math.floor(step.clients / 2));
  const nameSearch = String(middle[1]);
  const idPrefix = String(middle[0]).slice(0, 8);
  const middleEvent = Math.floor(step.events / 2);
  const target = Math.floor(middleEvent / EVENTS_PER_TARGET);
  const actorId = uuidOf('user', 7);

  const runs: Record<Query, () => Promise<void>> = {
    'clients: first page': async () => {
      const page = await services.clients.list(SYSTEM_ACTOR, { limit: 50 });
      check(page.items.length === 50 && page.total === total, `first page: ${page.items.length} items, total ${page.total}`);
    },
    'clients: page after 90%': async () => {
      const page = await services.clients.list(SYSTEM_ACTOR, { limit: 50, cursor: deepCursor });
      check(page.items.length === 50, `deep page: ${page.items.length} items`);
    },
    'clients: search name substring': async () => {
      const page = await services.clients.list(SYSTEM_ACTOR, { limit: 50, search: nameSearch.slice(1) });
      check(
        page.items.some((client) => client.id === middle[0]),
        `name search ${nameSearch} missed its client`,
      );
    },
    'clients: search id prefix': async () => {
      const page = await services.clients.list(SYSTEM_ACTOR, { limit: 50, search: idPrefix });
      check(
        page.items.some((client) => client.id === middle[0]),
        `id search ${idPrefix} missed its client`,
      );
    },
    'audit: search text': async () => {
      const page = await services.audit.list(SYSTEM_ACTOR, { limit: 50, search: targetNameOf(target).slice(4) });
      check(page.items.length === EVENTS_PER_TARGET, `audit text search: ${page.items.length} events`);
    },
    'audit: by target': async () => {
      const page = await services.audit.list(SYSTEM_ACTOR, { limit: 50, targetId: uuidOf('target', target) });
      check(page.items.length === EVENTS_PER_TARGET, `audit by target: ${page.items.length} events`);
    },
    'audit: by actor': async () => {
      const page = await services.audit.list(SYSTEM_ACTOR, { limit: 50, actorId });
      check(page.items.length === 50, `audit by actor: ${page.items.length} events`);
    },
    'token (POST /oauth/token)': async () => {
      const answer = await app.inject(tokenRequest);
      check(answer.statusCode === 200, `token: ${answer.statusCode}`);
    },
    'GET /api/v1/me': async () => {
      const answer = await app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${accessToken}` } });
      check(answer.statusCode === 200, `me: ${answer.statusCode}`);
    },
  };
  for (const query of QUERIES) medians.set(query, await timeMedian(runs[query]));
  return medians;
}

function formatCount(n: number): string {
  return n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : String(n);
}

function machine(): string {
  const cores = cpus();
  return `${cores.length} × ${cores[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}, ${process.platform}`;
}

/** One Markdown table per dialect: median ms at each step, and the last step's ratio to the first. */
function printTables(byDialect: ReadonlyMap<Dialect, StepResult[]>): string[] {
  const missed: string[] = [];
  for (const [dialect, results] of byDialect) {
    const first = results[0]!;
    const last = results.at(-1)!;
    out();
    out(`${dialect}: median ms of ${ROUNDS} calls, one at a time`);
    out(`| query | ${results.map((r) => `${formatCount(r.step.clients)} clients / ${formatCount(r.step.events)} events`).join(' | ')} | last ÷ first |`);
    out(`|---|${results.map(() => '---:').join('|')}|---:|`);
    for (const query of QUERIES) {
      const ratio = last.medians.get(query)! / first.medians.get(query)!;
      const verdict = results.length < 2 ? '' : ratio <= TARGET_RATIO ? ' met' : ' MISSED';
      if (verdict === ' MISSED') missed.push(`${dialect}: ${query}`);
      out(`| ${query} | ${results.map((r) => r.medians.get(query)!.toFixed(2)).join(' | ')} | ${ratio.toFixed(2)}×${verdict} |`);
    }
    out(
      `| seeding (rows/s) | ${results
        .map((r, i) => {
          const previous = results[i - 1]?.step ?? { clients: 0, events: 0 };
          const clientRate = (r.step.clients - previous.clients) / r.seedSeconds.clients;
          const eventRate = (r.step.events - previous.events) / r.seedSeconds.events;
          return `${Math.round(clientRate).toLocaleString('en')} clients, ${Math.round(eventRate).toLocaleString('en')} events`;
        })
        .join(' | ')} | |`,
    );
  }
  return missed;
}

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22'];

/** The cost of each query relative to its cost at the first step, one panel per dialect, log scale. */
export function svgPlot(byDialect: ReadonlyMap<Dialect, StepResult[]>, subtitle: string): string {
  const panelWidth = 300;
  const height = 240;
  const left = 44;
  const top = 48;
  const plotHeight = 160;
  const yMin = 0.25;
  const yMax = 64;
  const y = (ratio: number) =>
    top + plotHeight - ((Math.log2(Math.min(yMax, Math.max(yMin, ratio))) - Math.log2(yMin)) / (Math.log2(yMax) - Math.log2(yMin))) * plotHeight;
  const dialects = [...byDialect.keys()];
  const width = left + dialects.length * (panelWidth + 20) + 200;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height + 20}" viewBox="0 0 ${width} ${height + 20}" font-family="sans-serif" font-size="11">`,
  );
  parts.push(`<rect width="100%" height="100%" fill="#fff"/>`);
  parts.push(
    `<text x="${left}" y="16" font-size="13" font-weight="bold">Cost at size ÷ cost at 10k clients / 100k events (median, log scale; target ≤ 2×)</text>`,
  );
  parts.push(`<text x="${left}" y="30" fill="#555">${escapeXml(subtitle)}</text>`);
  dialects.forEach((dialect, panel) => {
    const results = byDialect.get(dialect)!;
    const x0 = left + panel * (panelWidth + 20);
    const steps = Math.max(2, results.length);
    const x = (i: number) => x0 + 20 + (i / (steps - 1)) * (panelWidth - 40);
    parts.push(`<rect x="${x0}" y="${top}" width="${panelWidth}" height="${plotHeight}" fill="none" stroke="#999"/>`);
    parts.push(`<text x="${x0 + panelWidth / 2}" y="${top - 2}" text-anchor="middle" font-weight="bold">${dialect}</text>`);
    for (const tick of [0.25, 0.5, 1, 2, 4, 8, 16, 32, 64]) {
      parts.push(
        `<line x1="${x0}" x2="${x0 + panelWidth}" y1="${y(tick)}" y2="${y(tick)}" stroke="${tick === 2 ? '#d00' : '#eee'}"${tick === 2 ? ' stroke-dasharray="4 3"' : ''}/>`,
      );
      if (panel === 0) parts.push(`<text x="${x0 - 4}" y="${y(tick) + 4}" text-anchor="end">${tick}×</text>`);
    }
    results.forEach(({ step }, i) => {
      parts.push(`<text x="${x(i)}" y="${top + plotHeight + 14}" text-anchor="middle">${formatCount(step.clients)} / ${formatCount(step.events)}</text>`);
    });
    QUERIES.forEach((query, q) => {
      const base = results[0]!.medians.get(query)!;
      const points = results.map((r, i) => `${x(i).toFixed(1)},${y(r.medians.get(query)! / base).toFixed(1)}`);
      parts.push(`<polyline fill="none" stroke="${COLORS[q]}" stroke-width="1.5" points="${points.join(' ')}"/>`);
      for (const point of points) parts.push(`<circle cx="${point.split(',')[0]}" cy="${point.split(',')[1]}" r="2" fill="${COLORS[q]}"/>`);
    });
  });
  const legendX = left + dialects.length * (panelWidth + 20);
  QUERIES.forEach((query, q) => {
    parts.push(`<line x1="${legendX}" x2="${legendX + 16}" y1="${top + 6 + q * 16}" y2="${top + 6 + q * 16}" stroke="${COLORS[q]}" stroke-width="2"/>`);
    parts.push(`<text x="${legendX + 20}" y="${top + 10 + q * 16}">${escapeXml(query)}</text>`);
  });
  parts.push(`<text x="${left}" y="${height + 12}" fill="#555">x: clients / audit events. Red dashes: the 2× target.</text>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}

async function postgresUrl(): Promise<string | null> {
  const configured = process.env['KOIOS_BENCH_PG_URL'];
  const url = configured ?? DEFAULT_PG_URL;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    return url;
  } catch (error) {
    if (configured !== undefined) throw new Error(`KOIOS_BENCH_PG_URL is set but does not answer: ${(error as Error).message}`);
    out(`note: PostgreSQL is not reachable at ${url}; SQLite only. Set KOIOS_BENCH_PG_URL to include it.`);
    return null;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function scaleBench(argv: readonly string[]): Promise<number> {
  const { steps, svg, dialects } = parseArgs(argv);
  const date = new Date().toISOString().slice(0, 10);
  out(`machine: ${machine()}; ${date}`);
  const pgUrl = dialects.includes('postgres') ? await postgresUrl() : null;
  const byDialect = new Map<Dialect, StepResult[]>();
  const failures: string[] = [];
  try {
    for (const dialect of dialects.filter((d) => d === 'sqlite' || pgUrl !== null)) {
      const database = dialect === 'sqlite' ? await openSqliteDatabase() : await openPostgresDatabase(pgUrl!);
      try {
        byDialect.set(dialect, await runDialect(database, steps));
      } catch (error) {
        failures.push(`${dialect}: ${(error as Error).stack ?? String(error)}`);
      } finally {
        await database.dispose();
      }
    }
  } finally {
    failures.push(...(await cleanUp()));
  }
  const missed = printTables(byDialect);
  if (byDialect.size > 0) {
    // Formatted as the repository's prettier settings say, so the committed plot passes `npm run lint`.
    const options = (await prettier.resolveConfig(svg)) ?? {};
    writeFileSync(svg, await prettier.format(svgPlot(byDialect, `${machine()}; ${date}`), { ...options, parser: 'html' }));
    out();
    out(`wrote ${svg}`);
  }
  if (missed.length > 0) out(`\nover ${TARGET_RATIO}× at the largest size: ${missed.join('; ')}`);
  if (failures.length > 0) {
    out(`\n${failures.length} failure(s):`);
    for (const failure of failures) out(`- ${failure}`);
    return 1;
  }
  return 0;
}
