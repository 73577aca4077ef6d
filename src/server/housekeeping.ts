import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Clock } from './clock.js';
import type { Database } from './db/schema.js';
import { mergeSearchIndexes } from './db/search-indexes.js';
import { createAuditRepository } from './modules/audit/audit.repository.js';
import { createSessionsRepository } from './modules/auth/sessions.repository.js';
import { createTokensRepository } from './modules/oauth/tokens.repository.js';
import { createThrottleRepository } from './throttling/throttle.repository.js';
import { createUsageRepository } from './modules/usage/usage.repository.js';

const HOUR_MS = 3600_000;
/** How long usage counters and refusals are kept (KOIOS_USAGE_RETENTION_DAYS). */
export const DEFAULT_USAGE_RETENTION_DAYS = 90;

interface HousekeepingDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly logger?: Logger | undefined;
  readonly usageRetentionDays: number;
}

/**
 * Rows that only matter until a time has passed: revoked tokens and client assertion ids after their expiry, sessions
 * after theirs, throttle and audit-aggregate windows a day after they opened, usage counters and
 * refusals after the retention. Idempotent, so every instance may run it.
 */
export async function pruneExpiredRows(deps: HousekeepingDeps): Promise<void> {
  const { db, clock } = deps;
  const nowMs = clock.now().getTime();
  const now = new Date(nowMs).toISOString();
  const oldWindow = new Date(nowMs - 24 * HOUR_MS).toISOString();
  await Promise.all([
    createTokensRepository(db).deleteExpiredRevoked(now),
    createTokensRepository(db).deleteExpiredAssertionJtis(now),
    createSessionsRepository(db).deleteExpired(now),
    createThrottleRepository(db).deleteWindowsBefore(oldWindow),
    createAuditRepository(db).deleteAggregatesBefore(oldWindow),
    createUsageRepository(db).deleteBefore(new Date(nowMs - deps.usageRetentionDays * 24 * HOUR_MS).toISOString()),
  ]);
}

/** Prunes, and merges the search indexes' segments (SQLite), hourly on every instance; returns the function that stops it. */
export function startHousekeeping(deps: HousekeepingDeps): () => void {
  const timer = setInterval(() => {
    Promise.all([pruneExpiredRows(deps), mergeSearchIndexes(deps.db)]).catch((error: unknown) =>
      deps.logger?.warn({ err: { message: (error as Error).message } }, 'housekeeping failed; will retry'),
    );
  }, HOUR_MS);
  timer.unref();
  return () => clearInterval(timer);
}
