import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../../db/schema.js';
import type { Metrics } from '../../metrics/metrics.js';
import { createTokensRepository } from './tokens.repository.js';
import { REFUSAL_REASONS, type RefusalReason } from '../../../shared/schemas/usage.js';
import type { UsageRecorder } from '../usage/usage.recorder.js';

/**
 * Why a request was refused, as an admin reads it (never with the secret or the token): a refusal
 * reason of the usage figures, or a token that names no client it could be counted on (malformed,
 * forged, expired: its signature or lifetime failed before its client was known).
 */
export type FailureReason = RefusalReason | 'expired_token' | 'invalid_token';
export const FAILURE_REASONS: readonly FailureReason[] = [...REFUSAL_REASONS, 'expired_token', 'invalid_token'];

const isRefusalReason = (reason: FailureReason): reason is RefusalReason => (REFUSAL_REASONS as readonly string[]).includes(reason);

/**
 * The one place every door reports a refusal: logged, counted per client and reason, and handed to
 * the usage figures (by hour, with the latest refusals). Counts are coalesced in memory and written
 * every few seconds (an attack must not become a write per guess). Unknown clients have no row to
 * count on here: the usage figures count them under no client, and the log has the address.
 */
export function createAuthFailureRecorder(
  db: Kysely<Database>,
  logger: Logger | undefined,
  usage?: Pick<UsageRecorder, 'refused'>,
  intervalMs = 5000,
  metrics?: Pick<Metrics, 'authRefusals'>,
) {
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
      if (isRefusalReason(reason)) usage?.refused(reason === 'unknown_client' ? null : clientId, reason, address);
      // The reason only: a client id or an address as a label would make a series per caller.
      metrics?.authRefusals.inc({ reason });
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
