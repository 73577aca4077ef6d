import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Clock } from './clock.js';
import type { Database } from './db/schema.js';
import { createAuditRepository } from './modules/audit/audit.repository.js';
import { createSessionsRepository } from './modules/auth/sessions.repository.js';
import { createTokensRepository } from './modules/oauth/tokens.repository.js';
import { createThrottleRepository } from './throttling/throttle.repository.js';

const HOUR_MS = 3600_000;

/**
 * Rows that only matter until a time has passed: revoked tokens after their expiry, sessions
 * after theirs, throttle and audit-aggregate windows a day after they opened. Pruned hourly, on
 * every instance (idempotent). Returns the function that stops it.
 */
export function startHousekeeping(deps: { db: Kysely<Database>; clock: Clock; logger?: Logger | undefined }): () => void {
  const { db, clock, logger } = deps;
  const timer = setInterval(() => {
    const now = clock.now().toISOString();
    const oldWindow = new Date(clock.now().getTime() - 24 * HOUR_MS).toISOString();
    void Promise.all([
      createTokensRepository(db).deleteExpiredRevoked(now),
      createSessionsRepository(db).deleteExpired(now),
      createThrottleRepository(db).deleteWindowsBefore(oldWindow),
      createAuditRepository(db).deleteAggregatesBefore(oldWindow),
    ]).catch((error: unknown) => logger?.warn({ err: { message: (error as Error).message } }, 'housekeeping failed; will retry'));
  }, HOUR_MS);
  timer.unref();
  return () => clearInterval(timer);
}
