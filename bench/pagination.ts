import { performance } from 'node:perf_hooks';
import { sql, type Kysely } from 'kysely';
import { SYSTEM_ACTOR } from '../src/server/actor.js';
import type { DatabaseHandle, Dialect } from '../src/server/db/database.js';
import type { Database } from '../src/server/db/schema.js';
import type { Services } from '../src/server/services.js';
import { clientRow, insertClientRows, type ClientRow } from '../test/support/client-rows.js';

/** What every scenario gets: a fresh, migrated database of one dialect and the services over it. */
export interface BenchContext {
  readonly dialect: Dialect;
  readonly handle: DatabaseHandle;
  readonly db: Kysely<Database>;
  readonly services: Services;
}

/** One line of the printed table. */
export interface BenchResult {
  readonly dialect: Dialect;
  readonly query: string;
  readonly samples: readonly number[];
  /** The query it is compared with (time ÷ time): a deep page with the first page, metrics on with off. */
  readonly comparedWith?: string;
  /** Set when the measurement failed (its samples are then empty); the run exits non-zero. */
  readonly error?: string;
}

export const CLIENT_COUNT = 100_000;
const LIST_ROUNDS = 30;
const BULK_ROUNDS = 5;
const WARM_UP_ROUNDS = 5;

/** mulberry32: deterministic data, so runs compare. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ['Billing', 'export', 'Warehouse', 'sync', 'Ledger', 'audit', 'Koios', 'Reporting', 'crm', 'Payroll', 'Data', 'Lake', 'Ölwerk', '東京'];

/**
 * Inserts `count` clients straight into the table (see insertClientRows). Creation times repeat
 * (about 12 clients a minute), 40% were never used, 30% are disabled.
 */
export async function insertClients(db: Kysely<Database>, dialect: Dialect, count: number, seed = 1): Promise<string[]> {
  const random = prng(seed);
  const int = (n: number) => Math.floor(random() * n);
  const hex = (digits: number) => Array.from({ length: digits }, () => int(16).toString(16)).join('');
  const base = Date.UTC(2025, 0, 1);
  const ids = new Set<string>();
  const rows: ClientRow[] = [];
  while (rows.length < count) {
    const id = `${hex(8)}-${hex(4)}-4${hex(3)}-${'89ab'[int(4)]}${hex(3)}-${hex(12)}`;
    if (ids.has(id)) continue;
    ids.add(id);
    const name = `${WORDS[int(WORDS.length)]} ${WORDS[int(WORDS.length)]} ${int(1000)}`;
    const description = random() < 0.35 ? `Nightly export ${int(100)}` : null;
    const createdAt = new Date(base + int(Math.ceil(count / 12)) * 60_000).toISOString();
    const enabled = random() >= 0.3;
    const lastUsedAt = random() < 0.4 ? null : new Date(base + 400 * 86_400_000 + int(5000) * 1000).toISOString();
    rows.push(clientRow(rows.length, { id, name, description, enabled, createdAt, lastUsedAt }));
  }
  await insertClientRows(db, dialect, rows);
  return [...ids];
}

async function time(rounds: number, run: () => Promise<void>): Promise<number[]> {
  for (let i = 0; i < WARM_UP_ROUNDS; i++) await run();
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    await run();
    samples.push(performance.now() - start);
  }
  return samples;
}

/** One table line: the timings of `run`, or the error that stopped it (the other lines still run). */
async function measure(
  dialect: Dialect,
  query: string,
  rounds: number,
  run: () => Promise<void>,
  options: { comparedWith?: string; prepare?: () => Promise<void> } = {},
): Promise<BenchResult> {
  const comparedWith = options.comparedWith === undefined ? {} : { comparedWith: options.comparedWith };
  try {
    await options.prepare?.();
    return { dialect, query, samples: await time(rounds, run), ...comparedWith };
  } catch (error) {
    return { dialect, query, samples: [], ...comparedWith, error: (error as Error).message };
  }
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

/** The cursor after the first `position` clients in `sort`, found by walking there with limit 200. */
async function cursorAt(services: Services, sort: string, position: number): Promise<string> {
  let cursor: string | null = null;
  for (let seen = 0; seen < position; seen += 200) {
    const page = await services.clients.list(SYSTEM_ACTOR, { limit: 200, sort, cursor });
    check(page.items.length === 200 && page.nextCursor !== null, `the ${sort} walk ended early at ${seen + page.items.length}`);
    cursor = page.nextCursor;
  }
  return cursor!;
}

/**
 * services.clients.list over 100,000 clients: the first page (limit 50) and the page after the
 * first 90,000 (keyset pagination should make them cost about the same), for the default sort
 * (-createdAt) and by name; and a bulk disable of 1,000 clients.
 */
export async function paginationScenario({ dialect, db, services }: BenchContext): Promise<BenchResult[]> {
  const ids = await insertClients(db, dialect, CLIENT_COUNT);
  // Fresh statistics, as autovacuum would have them on a database that grew to this size.
  if (dialect === 'postgres') await sql`analyze api_clients`.execute(db);

  const results: BenchResult[] = [];
  for (const sort of ['-createdAt', 'name']) {
    const label = sort === '-createdAt' ? '-createdAt (default)' : sort;
    const first = `list first page, limit 50, ${label}`;
    results.push(
      await measure(dialect, first, LIST_ROUNDS, async () => {
        const page = await services.clients.list(SYSTEM_ACTOR, { limit: 50, ...(sort === '-createdAt' ? {} : { sort }) });
        check(page.items.length === 50 && page.total === CLIENT_COUNT, `first page by ${sort}: ${page.items.length} items, total ${page.total}`);
      }),
    );
    let cursor: string | null = null;
    results.push(
      await measure(
        dialect,
        `list page after 90,000, limit 50, ${label}`,
        LIST_ROUNDS,
        async () => {
          const page = await services.clients.list(SYSTEM_ACTOR, { limit: 50, sort, cursor });
          check(page.items.length === 50 && page.total === CLIENT_COUNT, `deep page by ${sort}: ${page.items.length} items, total ${page.total}`);
        },
        {
          comparedWith: first,
          prepare: async () => {
            cursor = await cursorAt(services, sort, 90_000);
          },
        },
      ),
    );
  }

  // Each round disables 1,000 clients that are enabled (a real change, with its 1,000 audit entries).
  check(ids.length === CLIENT_COUNT, 'the clients were not all inserted');
  let enabled: string[] = [];
  let round = 0;
  results.push(
    await measure(
      dialect,
      'bulk disable 1,000 clients',
      BULK_ROUNDS,
      async () => {
        const batch = enabled.slice(round * 1000, (round + 1) * 1000);
        round++;
        const result = await services.clients.bulk(SYSTEM_ACTOR, 'disable', batch);
        check(result.succeeded.length === 1000 && result.notFound.length === 0, `bulk disable: ${result.succeeded.length} succeeded`);
      },
      {
        prepare: async () => {
          enabled = (await db.selectFrom('api_clients').select('id').where('enabled', '=', 1).orderBy('id').execute()).map((row) => row.id);
          check(enabled.length >= (WARM_UP_ROUNDS + BULK_ROUNDS) * 1000, 'not enough enabled clients for the bulk rounds');
        },
      },
    ),
  );
  return results;
}
