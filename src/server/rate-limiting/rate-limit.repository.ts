import { sql } from 'kysely';
import type { Executor } from '../db/database.js';
import type { RateLimitCountsTable } from '../db/schema.js';

/** One instance's admissions not yet shared: added to the row of its window, client and kind. */
export type CountIncrement = Pick<RateLimitCountsTable, 'window_minute' | 'client_id' | 'kind' | 'count'>;

/** Rows in one statement: SQLite takes at most 32,766 bound values, four a row here. */
const BATCH_ROWS = 500;

/** What every instance together admitted per client, kind and one-minute window (`rate_limit_counts`). */
export function createRateLimitRepository(db: Executor) {
  return {
    /** Adds each increment to its row (created at zero): additive, so instances never overwrite one another. */
    async add(increments: readonly CountIncrement[]): Promise<void> {
      for (let start = 0; start < increments.length; start += BATCH_ROWS) {
        await db
          .insertInto('rate_limit_counts')
          .values(increments.slice(start, start + BATCH_ROWS))
          .onConflict((oc) => oc.columns(['window_minute', 'client_id', 'kind']).doUpdateSet({ count: sql`rate_limit_counts.count + excluded.count` }))
          .execute();
      }
    },

    /** Every count of one window, over the primary key's leading column. */
    async countsOf(windowMinute: number): Promise<Pick<RateLimitCountsTable, 'client_id' | 'kind' | 'count'>[]> {
      const rows = await db.selectFrom('rate_limit_counts').select(['client_id', 'kind', 'count']).where('window_minute', '=', windowMinute).execute();
      // PostgreSQL may answer integers as text.
      return rows.map((row) => ({ ...row, count: Number(row.count) }));
    },

    /** Windows before `windowMinute`: closed, they limit nothing. */
    async deleteBefore(windowMinute: number): Promise<void> {
      await db.deleteFrom('rate_limit_counts').where('window_minute', '<', windowMinute).execute();
    },
  };
}
