import type { Executor } from '../db/database.js';

/** The counter rows of every throttle (`auth_throttle`), one per key and window. */
export function createThrottleRepository(db: Executor) {
  return {
    /** Counters whose window opened at or before `windowStart`: long closed, they count nothing. */
    async deleteWindowsBefore(windowStart: string): Promise<void> {
      await db.deleteFrom('auth_throttle').where('window_start', '<=', windowStart).execute();
    },
  };
}
