import { PostgresAdapter, sql, type Kysely } from 'kysely';

/*
 * SQLite's FTS5 search tables (migration 2026-12-04T0005) grow as segments, and a search reads
 * every segment: with eight segments at 100,000 clients, a name search's trigram lists were read
 * whole (12 ms), against 1 ms once merged, where FTS5 skips through them. Housekeeping merges them
 * (search-indexes.ts); with `usermerge` at 2 its merges leave at most one segment per level,
 * instead of three. PostgreSQL's trigram indexes need nothing: autovacuum folds their pending lists.
 */
const TABLES = ['api_clients_search', 'audit_events_search'];

export async function up(db: Kysely<any>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) return;
  for (const table of TABLES) await sql`insert into ${sql.id(table)}(${sql.id(table)}, rank) values ('usermerge', 2)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) return;
  // FTS5's default.
  for (const table of TABLES) await sql`insert into ${sql.id(table)}(${sql.id(table)}, rank) values ('usermerge', 4)`.execute(db);
}
