import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../../db/schema.js';
import { createTokensRepository } from './tokens.repository.js';

/** Why an authentication was refused, as an admin reads it (never with the secret or the token). */
export type FailureReason =
  | 'bad_secret'
  | 'disabled'
  | 'expired'
  | 'address_not_allowed'
  | 'unknown_client'
  | 'throttled'
  | 'revoked_token'
  | 'stale_secret'
  | 'expired_token'
  | 'invalid_token';

/**
 * Counts refused authentications per client and reason, coalesced in memory and written every few
 * seconds (an attack must not become a write per guess). Unknown clients have no row to count on:
 * those are logged with the address instead.
 */
export function createAuthFailureRecorder(db: Kysely<Database>, logger: Logger | undefined, intervalMs = 5000) {
  const repository = createTokensRepository(db);
  let pending = new Map<string, { clientId: string; reason: FailureReason; count: number; lastAt: string }>();
  let flushing: Promise<void> = Promise.resolve();

  const flush = (): Promise<void> => {
    flushing = flushing.then(async () => {
      if (pending.size === 0) return;
      const batch = [...pending.values()];
      pending = new Map();
      try {
        for (const entry of batch) {
          await repository
            .addFailures(entry)
            // The client may have been deleted meanwhile (foreign key): nothing to count on.
            .catch(() => undefined);
        }
      } catch (error) {
        logger?.warn({ err: { message: (error as Error).message } }, 'could not write authentication failure counts');
      }
    });
    return flushing;
  };
  const timer = setInterval(() => void flush(), intervalMs);
  timer.unref();

  return {
    record(clientId: string | null, reason: FailureReason, address: string): void {
      logger?.info({ clientId, reason, address }, 'client authentication refused');
      if (clientId === null || reason === 'unknown_client') return;
      const key = `${clientId} ${reason}`;
      const entry = pending.get(key);
      const lastAt = new Date().toISOString();
      if (entry === undefined) pending.set(key, { clientId, reason, count: 1, lastAt });
      else {
        entry.count += 1;
        entry.lastAt = lastAt;
      }
    },
    async countsFor(clientId: string) {
      await flush();
      return repository.failureCountsOf(clientId);
    },
    flush,
    async stop() {
      clearInterval(timer);
      await flush();
    },
  };
}

export type AuthFailureRecorder = ReturnType<typeof createAuthFailureRecorder>;
