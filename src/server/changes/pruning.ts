import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

/** Rows older than this are pruned; a process that was away longer reloads everything anyway. */
const RETENTION_MS = 10 * 60 * 1000;
const PRUNE_INTERVAL_MS = 60_000;

/** Deletes old `change_events` rows every minute; returns what stops it. */
export function startPruning(db: Kysely<Database>): () => void {
  const timer = setInterval(() => {
    const cutoff = new Date(Date.now() - RETENTION_MS).toISOString();
    db.deleteFrom('change_events')
      .where('occurred_at', '<', cutoff)
      .execute()
      .catch(() => undefined);
  }, PRUNE_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
