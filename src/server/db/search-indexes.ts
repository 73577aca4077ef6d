import { PostgresAdapter, sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

/** SQLite's FTS5 search tables (migration 2026-12-04T0005). */
const SQLITE_SEARCH_TABLES = ['api_clients_search', 'audit_events_search'] as const;
/** Pages written by one merge step: a few milliseconds of the single writer's time each. */
const MERGE_PAGES_PER_STEP = 256;
/** A bound on one run's steps (a gigabyte of merged pages), should other writes keep counting as work. */
const MERGE_STEPS_MAX = 1024;

/**
 * Merges the segments of SQLite's search tables, in small steps that let other writes through.
 * A search reads every segment, and across several FTS5 walks each trigram's list whole; in one
 * it skips through them (at 100,000 clients a name search took 12 ms over eight segments, 1 ms
 * over one). With `usermerge` at 2 (migration 2026-12-04T0011) a level holding two segments is
 * merged, so at most one segment per level remains. PostgreSQL: nothing to do.
 */
export async function mergeSearchIndexes(db: Kysely<Database>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) return;
  const totalChanges = async () => Number((await sql<{ n: number }>`select total_changes() as n`.execute(db)).rows[0]!.n);
  for (const table of SQLITE_SEARCH_TABLES) {
    for (let step = 0; step < MERGE_STEPS_MAX; step++) {
      const before = await totalChanges();
      await sql`insert into ${sql.id(table)}(${sql.id(table)}, rank) values ('merge', ${MERGE_PAGES_PER_STEP})`.execute(db);
      // FTS5 counts two or more changes when a merge step did work, fewer when nothing was left to merge.
      if ((await totalChanges()) - before < 2) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}
