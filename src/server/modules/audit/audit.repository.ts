import type { Executor } from '../../db/database.js';
import type { AuditEventsTable } from '../../db/schema.js';
import type { Insertable } from 'kysely';
import { chunks, containsPattern, trigramQuery } from '../../db/pagination.js';
import { PostgresAdapter, sql, type SqlBool } from 'kysely';

export interface AuditListQuery {
  readonly limit: number;
  /** Events older than this id (newest first). */
  readonly beforeId: number | null;
  readonly actorId: string | null;
  readonly targetId: string | null;
  readonly action: string | null;
  /** Case-insensitive text in the actor's or target's name, the action, or an id. */
  readonly search: string | null;
}

/**
 * The searched columns in one lower-cased text, exactly the expression PostgreSQL's trigram index
 * holds (migration 2026-12-04T0005): text inside one column is inside this, so it narrows the rows
 * through the index and the per-column test decides.
 */
const SEARCH_TEXT = sql.raw(
  `(lower(coalesce(actor_name, '')) || ' ' || lower(coalesce(target_name, '')) || ' ' || lower(action) || ' ' || ` +
    `lower(coalesce(actor_id, '')) || ' ' || lower(coalesce(target_id, ''))) collate "C"`,
);

export function createAuditRepository(db: Executor) {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  return {
    /** An aggregate matters only while its window is open; the entry it counted stays in the log. */
    async deleteAggregatesBefore(windowStart: string): Promise<void> {
      await db.deleteFrom('audit_aggregates').where('window_start', '<=', windowStart).execute();
    },
    /**
     * The aggregate row of `key`, created (for `windowStart`, with no entry yet) if missing, and
     * locked until the transaction ends (PostgreSQL row lock, SQLite's single writer).
     */
    async lockAggregate(key: string, windowStart: string): Promise<{ window_start: string; event_id: number | string }> {
      return db
        .insertInto('audit_aggregates')
        .values({ key, window_start: windowStart, event_id: 0 })
        .onConflict((oc) => oc.column('key').doUpdateSet({ key: sql`audit_aggregates.key` }))
        .returning(['window_start', 'event_id'])
        .executeTakeFirstOrThrow();
    },
    /** Points an aggregate at the entry that counts its window. */
    async pointAggregate(key: string, windowStart: string, eventId: number): Promise<void> {
      await db.updateTable('audit_aggregates').set({ window_start: windowStart, event_id: eventId }).where('key', '=', key).execute();
    },
    /** An entry's details (JSON), or undefined if there is no such entry. */
    async findDetails(id: number): Promise<string | undefined> {
      return (await db.selectFrom('audit_events').select('details').where('id', '=', id).executeTakeFirst())?.details;
    },
    async updateDetails(id: number, details: string): Promise<void> {
      await db.updateTable('audit_events').set({ details }).where('id', '=', id).execute();
    },
    /** Inserts one entry; returns its id. */
    async insertOne(event: Insertable<AuditEventsTable>): Promise<number> {
      const inserted = await db.insertInto('audit_events').values(event).returning('id').executeTakeFirstOrThrow();
      return Number(inserted.id);
    },
    async insert(events: readonly Insertable<AuditEventsTable>[]): Promise<void> {
      // 10 columns a row: 90 rows stay well under SQLite's bound-parameter limit.
      for (const chunk of chunks(events, 90)) await db.insertInto('audit_events').values(chunk).execute();
    },
    async list(query: AuditListQuery) {
      let select = db.selectFrom('audit_events').selectAll();
      if (query.beforeId !== null) select = select.where('id', '<', query.beforeId);
      if (query.actorId !== null) select = select.where('actor_id', '=', query.actorId);
      if (query.targetId !== null) select = select.where('target_id', '=', query.targetId);
      if (query.action !== null) select = select.where('action', '=', query.action);
      if (query.search !== null && query.search !== '') {
        const pattern = containsPattern(query.search);
        select = select.where((eb) =>
          eb.or(
            (['actor_name', 'target_name', 'action', 'actor_id', 'target_id'] as const).map(
              (column) => sql<SqlBool>`lower(coalesce(${sql.ref(column)}, '')) like ${pattern} escape '\\'`,
            ),
          ),
        );
        if (postgres) select = select.where(sql<SqlBool>`${SEARCH_TEXT} like ${pattern} escape '\\'`);
        const phrase = postgres ? null : trigramQuery(query.search);
        if (phrase !== null) select = select.where(sql<SqlBool>`id in (select rowid from audit_events_search where audit_events_search match ${phrase})`);
      }
      const rows = await select
        .orderBy('id', 'desc')
        .limit(query.limit + 1)
        .execute();
      return { rows: rows.slice(0, query.limit), hasMore: rows.length > query.limit };
    },
  };
}
