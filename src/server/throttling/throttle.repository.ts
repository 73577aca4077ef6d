import { sql } from 'kysely';
import type { Executor } from '../db/database.js';

/** One counter of a throttle key in its current window. */
export interface CounterRow {
  readonly key: string;
  readonly window_start: string;
  readonly failures: number;
  readonly pending: number;
  readonly spares: number;
}

/** A settled slot: from the pending checks (or this instance's spares) to failures, spares or nothing. */
export interface SlotChange {
  readonly from: 'pending' | 'spares';
  readonly to: 'failures' | 'spares' | null;
}

/** The counter rows of every throttle (`auth_throttle`), one per key and window. */
export function createThrottleRepository(db: Executor) {
  return {
    /**
     * Creates each key's counter, or resets it when its window opened at or before `expired`, and
     * returns them all; in a transaction, the rows stay locked until it commits.
     */
    async openWindows(keys: readonly string[], now: string, expired: string): Promise<CounterRow[]> {
      const fresh = sql<boolean>`auth_throttle.window_start <= ${expired}`;
      const rows = await db
        .insertInto('auth_throttle')
        .values(keys.map((key) => ({ key, window_start: now, failures: 0, pending: 0, spares: 0 })))
        .onConflict((oc) =>
          oc.column('key').doUpdateSet({
            window_start: sql`case when ${fresh} then ${now} else auth_throttle.window_start end`,
            failures: sql`case when ${fresh} then 0 else auth_throttle.failures end`,
            pending: sql`case when ${fresh} then 0 else auth_throttle.pending end`,
            spares: sql`case when ${fresh} then 0 else auth_throttle.spares end`,
          }),
        )
        .returning(['key', 'window_start', 'failures', 'pending', 'spares'])
        .execute();
      // PostgreSQL may answer the counts as text.
      return rows.map((row) => ({ ...row, failures: Number(row.failures), pending: Number(row.pending), spares: Number(row.spares) }));
    },

    /** One more check pending on each key. */
    async addPending(keys: readonly string[]): Promise<void> {
      await db
        .updateTable('auth_throttle')
        .set({ pending: sql`pending + 1` })
        .where('key', 'in', keys)
        .execute();
    },

    /**
     * Settles one slot of a key in the window it was taken in: a window that has moved on was
     * reset, and its pending count with it, so only a failure still counts.
     */
    async settle(key: string, windowStart: string, change: SlotChange): Promise<void> {
      const sameWindow = sql<boolean>`window_start = ${windowStart}`;
      const from = sql.ref(change.from);
      await db
        .updateTable('auth_throttle')
        .set({
          [change.from]: sql`case when ${sameWindow} and ${from} > 0 then ${from} - 1 else ${from} end`,
          // A failure counts even when its window moved on meanwhile: it happened now.
          ...(change.to === 'failures' ? { failures: sql`failures + 1` } : {}),
          ...(change.to === 'spares' ? { spares: sql`case when ${sameWindow} then spares + 1 else spares end` } : {}),
        })
        .where('key', '=', key)
        .execute();
    },

    /** Counters whose window opened at or before `windowStart`: long closed, they count nothing. */
    async deleteWindowsBefore(windowStart: string): Promise<void> {
      await db.deleteFrom('auth_throttle').where('window_start', '<=', windowStart).execute();
    },
  };
}
