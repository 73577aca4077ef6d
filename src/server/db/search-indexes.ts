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
 * merged, so at most one segment per level remains. Whether nothing was left to merge: a run stops
 * after MERGE_STEPS_MAX steps, and a merge it leaves half done keeps its inputs as segments (at 10M
 * audit events, 26 segments after one run). PostgreSQL: nothing to do.
 */
export async function mergeSearchIndexes(db: Kysely<Database>): Promise<boolean> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) return true;
  let finished = true;
  const totalChanges = async () => Number((await sql<{ n: number }>`select total_changes() as n`.execute(db)).rows[0]!.n);
  for (const table of SQLITE_SEARCH_TABLES) {
    let step = 0;
    for (; step < MERGE_STEPS_MAX; step++) {
      const before = await totalChanges();
      await sql`insert into ${sql.id(table)}(${sql.id(table)}, rank) values ('merge', ${MERGE_PAGES_PER_STEP})`.execute(db);
      // FTS5 counts two or more changes when a merge step did work, fewer when nothing was left to merge.
      if ((await totalChanges()) - before < 2) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (step === MERGE_STEPS_MAX) finished = false;
  }
  return finished;
}

/** Entries of a trigram's list read to rank it: a leaf page or two. */
const PROBE_ENTRIES = 64;
/** Trigrams probed, at most (a search is at most SEARCH_MAX_LENGTH characters). */
const PROBED_TRIGRAMS_MAX = 12;
/** Trigrams kept for the candidate query, the rarest first. */
const RARE_TRIGRAMS_MAX = 3;
/** A trigram this many times as common as the rarest costs more to walk than it narrows. */
const RARE_TRIGRAMS_SPREAD = 4;

/**
 * The FTS5 query finding a contains-search's candidate clients on SQLite, from its rarest
 * trigrams. FTS5 ANDs lists by seeking each one to the others' rows, so one common trigram costs
 * as much as the whole search: at a million clients "illing data 50199" took 41 ms to find its
 * candidates through six trigrams (four of them in 7% to 27% of the rows) and 0.8 ms through the
 * two rarest (0.9% each, 79 candidates). FTS5 keeps no frequencies (its fts5vocab table counts a
 * list by reading it whole), so each distinct trigram's rarity is estimated from the first
 * PROBE_ENTRIES rows of its list: fewer is its exact count; otherwise how far into the table's
 * rowids they reach. Up to RARE_TRIGRAMS_MAX of the rarest are kept, none more than
 * RARE_TRIGRAMS_SPREAD times as common as the rarest. Any subset of the search's trigrams is a necessary
 * condition and the candidates are checked with the same LIKE, so the results are those of a scan
 * whatever the estimate; only the time depends on it. Null below three characters.
 */
export async function rareTrigramQuery(db: Kysely<Database>, search: string): Promise<string | null> {
  const characters = [...search.toLowerCase()];
  if (characters.length < 3) return null;
  // Every third character's and the last: they cover every character, and each probe costs.
  const trigrams = new Set<string>();
  for (let i = 0; i + 3 <= characters.length; i += 3) trigrams.add(characters.slice(i, i + 3).join(''));
  trigrams.add(characters.slice(-3).join(''));
  const probed = [...trigrams].slice(0, PROBED_TRIGRAMS_MAX);
  // One statement: the table's last rowid, then each trigram's probe.
  const probes = await sql<{ i: number; n: number; last: number | null }>`
    select -1 as i, 0 as n, max(rowid) as last from api_clients
    ${sql.join(
      probed.map(
        (trigram, i) => sql`union all select ${sql.lit(i)}, count(*), max(r) from (
          select rowid as r from api_clients_search where api_clients_search match ${quoted(trigram)} limit ${sql.lit(PROBE_ENTRIES)})`,
      ),
      sql` `,
    )}`.execute(db);
  const rows = Math.max(1, Number(probes.rows.find((row) => Number(row.i) === -1)?.last ?? 1));
  const ranked = probes.rows
    .filter((row) => Number(row.i) >= 0)
    .map((row) => {
      const n = Number(row.n);
      return { trigram: probed[Number(row.i)]!, estimate: n < PROBE_ENTRIES ? n : (PROBE_ENTRIES * rows) / Math.max(1, Number(row.last)) };
    })
    .sort((a, b) => a.estimate - b.estimate);
  const rarest = ranked[0]!.estimate;
  // None: no client can match, and that one trigram says so at once.
  if (rarest === 0) return quoted(ranked[0]!.trigram);
  return ranked
    .slice(0, RARE_TRIGRAMS_MAX)
    .filter(({ estimate }) => estimate <= rarest * RARE_TRIGRAMS_SPREAD)
    .map(({ trigram }) => quoted(trigram))
    .join(' AND ');
}

function quoted(trigram: string): string {
  return `"${trigram.replaceAll('"', '""')}"`;
}
