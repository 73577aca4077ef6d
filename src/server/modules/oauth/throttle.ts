import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';

/**
 * Throttling of failed client authentications (SECURITY 8), per client id and per address, in
 * fixed windows. Only failures count; a throttled key is answered 429 with Retry-After until its
 * window ends, then works again (never a permanent lock-out: GHSA-cq42-vhv7-xr7p).
 *
 * A failure is counted before it is answered, and its answer depends on the count: the first
 * `limit` failures in a window get `invalid_client`, every later one `429`, however many arrive
 * at once. On SQLite one process owns the database and counts in memory, where check and count
 * happen in one synchronous step; on PostgreSQL the count is one atomic upsert shared by every
 * instance, so guesses spread over instances or sent in parallel cannot slip past (Keycloak #31726).
 */
export interface ThrottleLimits {
  /** Failures allowed per window for one subject (a client id, or a user's email). */
  readonly perClient: number;
  /** Failures allowed per window from one address. */
  readonly perAddress: number;
  readonly windowSeconds: number;
}

export const DEFAULT_THROTTLE_LIMITS: ThrottleLimits = Object.freeze({ perClient: 10, perAddress: 50, windowSeconds: 60 });

export interface ThrottleKeys {
  /** Who is being guessed: `client:<id>` or `user:<email>`; null when the id is not even well-formed. */
  readonly subject: string | null;
  readonly address: string;
}

export interface Throttle {
  /** Seconds until these keys may try again, or null if they may try now. Synchronous: no I/O on the success path. */
  blockedFor(keys: ThrottleKeys): number | null;
  /** Counts a failure; returns the seconds to wait if this failure is past the limit, else null. */
  recordFailure(keys: ThrottleKeys): Promise<number | null>;
}

interface Window {
  start: number;
  failures: number;
}

function keyList(keys: ThrottleKeys, limits: ThrottleLimits): [string, number][] {
  const list: [string, number][] = [[`addr:${keys.address}`, limits.perAddress]];
  if (keys.subject !== null) list.push([keys.subject, limits.perClient]);
  return list;
}

/** Local knowledge of blocked keys, shared by both implementations. */
function createBlockList() {
  const blockedUntil = new Map<string, number>();
  return {
    block(key: string, until: number) {
      if ((blockedUntil.get(key) ?? 0) < until) blockedUntil.set(key, until);
      if (blockedUntil.size > 100_000) {
        const now = Date.now();
        for (const [k, t] of blockedUntil) if (t <= now) blockedUntil.delete(k);
      }
    },
    secondsLeft(keys: string[]): number | null {
      const now = Date.now();
      let until = 0;
      for (const key of keys) {
        const t = blockedUntil.get(key);
        if (t !== undefined && t > now) until = Math.max(until, t);
      }
      return until === 0 ? null : Math.max(1, Math.ceil((until - now) / 1000));
    },
  };
}

export function createMemoryThrottle(limits: ThrottleLimits = DEFAULT_THROTTLE_LIMITS): Throttle {
  const windows = new Map<string, Window>();
  const blocks = createBlockList();
  const windowMs = limits.windowSeconds * 1000;
  return {
    blockedFor: (keys) => blocks.secondsLeft(keyList(keys, limits).map(([key]) => key)),
    async recordFailure(keys) {
      const now = Date.now();
      let wait: number | null = null;
      for (const [key, limit] of keyList(keys, limits)) {
        let window = windows.get(key);
        if (window === undefined || now - window.start >= windowMs) {
          window = { start: now, failures: 0 };
          windows.set(key, window);
        }
        window.failures += 1;
        // The limit-th failure is still answered; from then on the key waits for the window's end.
        if (window.failures >= limit) blocks.block(key, window.start + windowMs);
        if (window.failures > limit) wait = Math.max(wait ?? 0, Math.max(1, Math.ceil((window.start + windowMs - now) / 1000)));
      }
      if (windows.size > 100_000) for (const [key, window] of windows) if (now - window.start >= windowMs) windows.delete(key);
      return wait;
    },
  };
}

export function createDatabaseThrottle(db: Kysely<Database>, limits: ThrottleLimits = DEFAULT_THROTTLE_LIMITS): Throttle {
  const blocks = createBlockList();
  const windowMs = limits.windowSeconds * 1000;
  return {
    blockedFor: (keys) => blocks.secondsLeft(keyList(keys, limits).map(([key]) => key)),
    async recordFailure(keys) {
      const now = new Date();
      const nowIso = now.toISOString();
      const expired = new Date(now.getTime() - windowMs).toISOString();
      let wait: number | null = null;
      for (const [key, limit] of keyList(keys, limits)) {
        // One statement: a new window, or one more failure in the current one. Row locking makes
        // concurrent upserts of one key serial, so each sees every failure before it.
        const row = await db
          .insertInto('auth_throttle')
          .values({ key, window_start: nowIso, failures: 1 })
          .onConflict((oc) =>
            oc.column('key').doUpdateSet({
              window_start: sql`case when auth_throttle.window_start <= ${expired} then ${nowIso} else auth_throttle.window_start end`,
              failures: sql`case when auth_throttle.window_start <= ${expired} then 1 else auth_throttle.failures + 1 end`,
            }),
          )
          .returning(['failures', 'window_start'])
          .executeTakeFirstOrThrow();
        const until = new Date(row.window_start).getTime() + windowMs;
        if (row.failures >= limit) blocks.block(key, until);
        if (row.failures > limit) wait = Math.max(wait ?? 0, Math.max(1, Math.ceil((until - now.getTime()) / 1000)));
      }
      return wait;
    },
  };
}
