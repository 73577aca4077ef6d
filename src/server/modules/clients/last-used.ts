import type { Kysely } from 'kysely';
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
  stop(): Promise<void>;
}

export const LAST_USED_FLUSH_INTERVAL_MS = 5000;

export function createLastUsedRecorder(db: Kysely<Database>, logger?: Logger, intervalMs = LAST_USED_FLUSH_INTERVAL_MS): LastUsedRecorder {
  let pending = new Map<string, string>();
  let flushing: Promise<void> = Promise.resolve();

  const flush = (): Promise<void> => {
    flushing = flushing.then(async () => {
      if (pending.size === 0) return;
      const batch = pending;
      pending = new Map();
      try {
        await db.transaction().execute((trx) => createClientsRepository(trx).touchLastUsed(batch));
      } catch (error) {
        // Keep the uses for the next attempt rather than lose them while the database is away.
        for (const [id, at] of batch) if ((pending.get(id) ?? '') < at) pending.set(id, at);
        logger?.warn({ err: { message: (error as Error).message } }, 'could not write last-used times; will retry');
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
      const waiting = pending.get(clientId);
      if (waiting === undefined) return stored;
      return stored === null || waiting > stored ? waiting : stored;
    },
    forget(clientId) {
      pending.delete(clientId);
    },
    flush,
    async stop() {
      clearInterval(timer);
      await flush();
    },
  };
}
