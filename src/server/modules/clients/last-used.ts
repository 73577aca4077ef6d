import type { Kysely, Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../../db/schema.js';
import { createClientsRepository } from './clients.repository.js';

/**
 * Coalesces "this client authenticated" into at most one write per client per interval: the token
 * endpoint and every authenticated request record a use, and a write per request would make the
 * database the bottleneck of the hot path. Pending uses are shown by `latest` before they are written.
 */
export interface LastUsedRecorder {
  record(clientId: string, at: string): void;
  /** The later of the stored time and a pending one. */
  latest(clientId: string, stored: string | null): string | null;
  forget(clientId: string): void;
  /** Writes what is pending; called by the timer and at shutdown. */
  flush(): Promise<void>;
  /** Uses not yet written (pending or being written). */
  pendingCount(): number;
  /**
   * Stops the timer and writes what is pending, retrying until `deadline` (epoch ms) while the
   * database is away; resolves with how many uses were dropped (0 when all were written).
   */
  stop(deadline?: number): Promise<number>;
}

export const LAST_USED_FLUSH_INTERVAL_MS = 5000;
/** Uses written per transaction; a flush yields to other work between slices. */
export const WRITE_SLICE = 1000;

const later = (a: string | null, b: string | undefined): string | null => (b !== undefined && (a === null || b > a) ? b : a);

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Writes a slice of uses (client id → time) in one transaction. */
export type LastUsedWriter = (trx: Transaction<Database>, batch: ReadonlyMap<string, string>) => Promise<void>;

const writeClientLastUsed: LastUsedWriter = (trx, batch) => createClientsRepository(trx).touchLastUsed(batch);

/** `write` stores a batch: by default the clients' `last_used_at`; the previous secrets' last use has its own. */
export function createLastUsedRecorder(
  db: Kysely<Database>,
  logger?: Logger,
  intervalMs = LAST_USED_FLUSH_INTERVAL_MS,
  write: LastUsedWriter = writeClientLastUsed,
): LastUsedRecorder {
  let pending = new Map<string, string>();
  let writing = new Map<string, string>();
  let flushing: Promise<void> = Promise.resolve();

  const flush = (): Promise<void> => {
    flushing = flushing.then(async () => {
      if (pending.size === 0) return;
      const batch = pending;
      pending = new Map();
      writing = batch;
      // In one order on every instance, so two instances' writes seldom wait on each other in a cycle
      // (the plan decides the order rows are locked in; a deadlock fails one slice, kept for the next write).
      const entries = [...batch].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      try {
        for (let start = 0; start < entries.length; start += WRITE_SLICE) {
          // On SQLite a write holds the event loop: requests run between slices, not after them all.
          if (start > 0) await nextTurn();
          // Without the uses forgotten meanwhile (a regenerated secret, a deleted client): their rows changed since.
          const slice = new Map(entries.slice(start, start + WRITE_SLICE).filter(([id]) => writing.has(id)));
          try {
            await db.transaction().execute((trx) => write(trx, slice));
            for (const id of slice.keys()) writing.delete(id);
          } catch (error) {
            // Keep this slice and the rest for the next attempt rather than lose them while the database is away.
            for (const [id, at] of entries.slice(start)) if (writing.has(id) && (pending.get(id) ?? '') < at) pending.set(id, at);
            logger?.warn({ err: { message: (error as Error).message } }, 'could not write last-used times; will retry');
            return;
          }
        }
      } finally {
        writing = new Map();
      }
    });
    return flushing;
  };

  const timer = setInterval(() => void flush(), intervalMs);
  timer.unref();

  return {
    record(clientId, at) {
      if ((pending.get(clientId) ?? '') < at) pending.set(clientId, at);
    },
    latest(clientId, stored) {
      return later(later(stored, pending.get(clientId)), writing.get(clientId));
    },
    forget(clientId) {
      pending.delete(clientId);
      writing.delete(clientId);
    },
    flush,
    pendingCount() {
      let count = pending.size;
      for (const id of writing.keys()) if (!pending.has(id)) count += 1;
      return count;
    },
    async stop(deadline = 0) {
      clearInterval(timer);
      for (let pause = 100; ; pause = Math.min(pause * 2, 1000)) {
        await flush();
        const left = deadline - Date.now();
        if (pending.size === 0 || left <= 0) return pending.size;
        await new Promise((resolve) => setTimeout(resolve, Math.min(pause, left)));
      }
    },
  };
}
