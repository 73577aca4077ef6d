import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Database } from '../db/schema.js';
import { TooManyRequests } from '../errors.js';
import { createRateLimitRepository, type CountIncrement } from './rate-limit.repository.js';

/** What a limit counts: API calls (REST and GraphQL) or token requests. */
export type RateLimitKind = 'requests' | 'tokens';

/** Where a client stands against one of its limits, this request counted. */
export interface Quota {
  /** Whether this request is within the limit. */
  readonly allowed: boolean;
  /** The limit: requests a window. */
  readonly limit: number;
  /** How many more the window allows after this one. */
  readonly remaining: number;
  /** Seconds until the window closes and the count starts again (at least 1). */
  readonly resetSeconds: number;
}

/** An API call over its client's limit: 429 with Retry-After (`problemHeaders`) and the RateLimit fields. */
export class RateLimited extends TooManyRequests {
  constructor(readonly quota: Quota) {
    super(quota.resetSeconds, `the client's limit of ${quota.limit} requests a minute is reached; retry after ${quota.resetSeconds} seconds`);
  }
}

export const RATE_LIMIT_WINDOW_MS = 60_000;
/** How often an instance shares its counts and reads everyone's: the staleness behind the tolerance (README). */
export const RATE_LIMIT_SYNC_MS = 1000;

const keyOf = (window: number, clientId: string, kind: RateLimitKind) => `${window} ${clientId} ${kind}`;

/**
 * Per-client limits in fixed one-minute windows, counted in memory so a request never waits for
 * the database. Every `syncMs` the instance adds what it admitted since the last time to
 * `rate_limit_counts` (one additive upsert for all its clients) and reads back the window's totals
 * of every instance. A request is admitted while the known total plus what this instance admitted
 * since is under the limit, so what other instances admitted in the last two sync intervals is
 * the only count an instance can miss: the overshoot of a window is at most (instances − 1) × what
 * one instance admits of that client in 2 × `syncMs` (README, "Rate limits"). While the database
 * cannot be reached each instance keeps counting its own admissions, and shares them once it can.
 *
 * Nothing runs until the first limited request (an installation without limits never queries
 * the table); a client without a limit costs one null check.
 */
export function createRateLimiter(deps: { db: Kysely<Database>; clock: Clock; logger?: Logger | undefined; syncMs?: number }) {
  const { db, clock, logger } = deps;
  const syncMs = deps.syncMs ?? RATE_LIMIT_SYNC_MS;
  const repository = createRateLimitRepository(db);
  /** Admitted here and not yet shared, by window, client and kind. */
  let pending = new Map<string, CountIncrement>();
  /** Added to the table (or being added), not yet in a totals read: still this instance's own until one includes them. */
  let writing = new Map<string, number>();
  /** Every instance's totals of `totalsWindow`, as last read. */
  let totals = new Map<string, number>();
  let totalsWindow = -1;
  let prunedBefore = -1;
  let syncing: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let failing = false;
  let stopped = false;

  const used = (window: number, key: string): number =>
    (window === totalsWindow ? (totals.get(key) ?? 0) : 0) + (writing.get(key) ?? 0) + (pending.get(key)?.count ?? 0);

  const addTo = (counts: Map<string, number>, key: string, by: number): void => {
    const count = (counts.get(key) ?? 0) + by;
    if (count === 0) counts.delete(key);
    else counts.set(key, count);
  };

  async function share(): Promise<void> {
    const batch = pending;
    pending = new Map();
    for (const [key, entry] of batch) addTo(writing, key, entry.count);
    let added = false;
    try {
      // One order for every instance, so two upserts of the same rows never wait on each other in a
      // cycle; one transaction, so a failure leaves none of the batch added, to be added again whole.
      const increments = [...batch.keys()].sort().map((key) => batch.get(key)!);
      if (increments.length > 0) await db.transaction().execute((trx) => createRateLimitRepository(trx).add(increments));
      added = true;
      const window = Math.floor(clock.now().getTime() / RATE_LIMIT_WINDOW_MS);
      const rows = await repository.countsOf(window);
      totals = new Map(rows.map((row) => [keyOf(window, row.client_id, row.kind), row.count]));
      totalsWindow = window;
      // They are in the totals now: counted twice while the old windows are pruned, a client
      // would be refused below its limit.
      writing = new Map();
      if (prunedBefore < window - 1) {
        await repository.deleteBefore(window - 1);
        prunedBefore = window - 1;
      }
      if (failing) logger?.info('rate-limit counts are shared again');
      failing = false;
    } catch (error) {
      // Not added: keep them for the next attempt, the other instances must still learn of them.
      // Added (a later statement failed): never again, or every instance would count them twice.
      if (!added) {
        for (const [key, entry] of batch) {
          addTo(writing, key, -entry.count);
          const waiting = pending.get(key);
          if (waiting === undefined) pending.set(key, entry);
          else pending.set(key, { ...waiting, count: waiting.count + entry.count });
        }
      }
      if (!failing) logger?.warn({ err: { message: (error as Error).message } }, 'could not share rate-limit counts; each instance counts alone until it can');
      failing = true;
    }
  }

  const sync = (): Promise<void> => (syncing = syncing.then(share));

  function start(): void {
    if (timer !== undefined || stopped || syncMs <= 0) return;
    timer = setInterval(() => void sync(), syncMs);
    timer.unref();
    // Learn the window's totals now rather than a sync interval later.
    void sync();
  }

  return {
    /**
     * Counts one request of `clientId` against its `limit` a minute (null: none, and nothing is
     * counted) and says where it stands; a refused request is not counted.
     */
    take(clientId: string, kind: RateLimitKind, limit: number | null): Quota | null {
      if (limit === null) return null;
      start();
      const nowMs = clock.now().getTime();
      const window = Math.floor(nowMs / RATE_LIMIT_WINDOW_MS);
      const resetSeconds = Math.max(1, Math.ceil(((window + 1) * RATE_LIMIT_WINDOW_MS - nowMs) / 1000));
      const key = keyOf(window, clientId, kind);
      const count = used(window, key);
      if (count >= limit) return { allowed: false, limit, remaining: 0, resetSeconds };
      const entry = pending.get(key);
      if (entry === undefined) pending.set(key, { window_minute: window, client_id: clientId, kind, count: 1 });
      else entry.count += 1;
      return { allowed: true, limit, remaining: limit - count - 1, resetSeconds };
    },
    /** Shares this instance's counts and reads everyone's now (the timer does it every `syncMs`; tests call it). */
    sync,
    /** Stops the timer and shares what is pending (shutdown). */
    async stop(): Promise<void> {
      stopped = true;
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      if (pending.size > 0) await sync();
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;
