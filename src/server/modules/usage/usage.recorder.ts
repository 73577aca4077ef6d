import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Clock } from '../../clock.js';
import type { Database } from '../../db/schema.js';
import type { RefusalReason } from '../../../shared/schemas/usage.js';
import { createUsageRepository } from './usage.repository.js';

/** What one client did in one hour: `tokens`, `rest`, `graphql`, or a refusal reason. */
export type UsageKind = 'tokens' | 'rest' | 'graphql' | RefusalReason;

export const USAGE_FLUSH_INTERVAL_MS = 5000;
/** Refusals of a client id that names no client are counted under this id (the installation's totals show them). */
export const NO_CLIENT_ID = '00000000-0000-0000-0000-000000000000';
/** How many of each client's latest refusals are kept. */
export const RECENT_REFUSALS_KEPT = 100;
/**
 * Counters (client × hour × kind) held while the database is away: about 100 bytes each, so at
 * most ~10 MB; beyond it new counters are dropped and the drop is logged, never the process.
 */
const MAX_PENDING_COUNTERS = 100_000;
/** Clients whose latest refusals are held meanwhile (each at most RECENT_REFUSALS_KEPT). */
const MAX_PENDING_REFUSAL_CLIENTS = 2_000;
const HOUR_MS = 3_600_000;

interface PendingRefusal {
  readonly at: string;
  readonly reason: RefusalReason;
  readonly address: string;
}

/** hour (ISO) → client id → kind → count. */
type Counters = Map<string, Map<string, Map<UsageKind, number>>>;

/** Plain code-unit order: the same in every instance, whatever its locale. */
const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Counter rows written per transaction; a flush yields to other work between slices. */
export const USAGE_WRITE_SLICE = 1000;

interface UsageSlice {
  readonly rows: { client_id: string; hour: string; kind: string; count: number }[];
  readonly events: { client_id: string; at: string; reason: RefusalReason; address: string }[];
  readonly refusals: Map<string, PendingRefusal[]>;
}

/**
 * The counters and refusals of a flush, whole clients to a slice of about USAGE_WRITE_SLICE rows,
 * rows ordered by client, hour and kind: one order for every instance, so two flushes adding to the
 * same rows never wait on each other in a cycle (a deadlock).
 */
function slicesOf(counters: Counters, refusals: ReadonlyMap<string, PendingRefusal[]>): UsageSlice[] {
  const clientIds = new Set<string>(refusals.keys());
  for (const byClient of counters.values()) for (const clientId of byClient.keys()) clientIds.add(clientId);
  const hours = [...counters.keys()].sort(compareText);
  const slices: UsageSlice[] = [];
  let slice: UsageSlice | undefined;
  for (const clientId of [...clientIds].sort(compareText)) {
    if (slice === undefined || slice.rows.length + slice.refusals.size >= USAGE_WRITE_SLICE)
      slices.push((slice = { rows: [], events: [], refusals: new Map() }));
    for (const hour of hours) {
      const byKind = counters.get(hour)!.get(clientId);
      if (byKind === undefined) continue;
      for (const kind of [...byKind.keys()].sort(compareText)) slice.rows.push({ client_id: clientId, hour, kind, count: byKind.get(kind)! });
    }
    const list = refusals.get(clientId);
    if (list !== undefined) {
      slice.refusals.set(clientId, list);
      for (const event of list) slice.events.push({ client_id: clientId, ...event });
    }
  }
  return slices;
}

/** REST and GraphQL requests of `clientId` in `held`, from the hour starting `fromHour` on; called for every row of a page. */
function requestsIn(held: Counters, clientId: string, fromHour: string): number {
  let total = 0;
  held.forEach((byClient, hour) => {
    if (hour < fromHour) return;
    const byKind = byClient.get(clientId);
    if (byKind !== undefined) total += (byKind.get('rest') ?? 0) + (byKind.get('graphql') ?? 0);
  });
  return total;
}

/**
 * Counts usage in memory and writes it coalesced: every few seconds one transaction adds the
 * counts to their rows (an additive upsert, so every instance counts into the same rows) and
 * stores the latest refusals. The hot paths only bump a counter in a map; a write per request
 * would make the database their bottleneck. A failed write keeps its counts for the next one.
 */
export function createUsageRecorder(db: Kysely<Database>, clock: Clock, logger?: Logger, intervalMs = USAGE_FLUSH_INTERVAL_MS) {
  let counters: Counters = new Map();
  /** Counters taken by a flush and not yet written: still counted by `pendingRequests`. */
  let writing: Counters = new Map();
  let counterCount = 0;
  let refusals = new Map<string, PendingRefusal[]>();
  let dropped = 0;
  let droppedLogged = 0;
  let flushing: Promise<void> = Promise.resolve();
  let hourStartMs = -1;
  let hourIso = '';

  const currentHour = (nowMs: number): string => {
    const start = nowMs - (nowMs % HOUR_MS);
    if (start !== hourStartMs) {
      hourStartMs = start;
      hourIso = new Date(start).toISOString();
    }
    return hourIso;
  };

  const add = (clientId: string, hour: string, kind: UsageKind, count: number): void => {
    let byClient = counters.get(hour);
    if (byClient === undefined) counters.set(hour, (byClient = new Map()));
    let byKind = byClient.get(clientId);
    if (byKind === undefined) byClient.set(clientId, (byKind = new Map()));
    const before = byKind.get(kind);
    if (before === undefined) {
      if (counterCount >= MAX_PENDING_COUNTERS) {
        dropped += count;
        return;
      }
      counterCount += 1;
      byKind.set(kind, count);
    } else byKind.set(kind, before + count);
  };

  const addRefusals = (clientId: string, events: readonly PendingRefusal[], older: boolean): void => {
    let list = refusals.get(clientId);
    if (list === undefined) {
      if (refusals.size >= MAX_PENDING_REFUSAL_CLIENTS) return;
      refusals.set(clientId, (list = []));
    }
    if (older) list.unshift(...events);
    else list.push(...events);
    if (list.length > RECENT_REFUSALS_KEPT) list.splice(0, list.length - RECENT_REFUSALS_KEPT);
  };

  const count = (clientId: string, kind: UsageKind): void => add(clientId, currentHour(clock.now().getTime()), kind, 1);

  /** Restores what a failed write held, for the next one. */
  const putBack = (slices: readonly UsageSlice[]): void => {
    for (const slice of slices) {
      for (const row of slice.rows) add(row.client_id, row.hour, row.kind as UsageKind, row.count);
      for (const [clientId, list] of slice.refusals) addRefusals(clientId, list, true);
    }
  };

  const flush = (): Promise<void> => {
    flushing = flushing.then(async () => {
      if (counterCount === 0 && refusals.size === 0) return;
      const slices = slicesOf(counters, refusals);
      writing = counters;
      counters = new Map();
      counterCount = 0;
      refusals = new Map();
      for (const [index, slice] of slices.entries()) {
        // On SQLite a write holds the event loop: requests run between slices, not after them all.
        if (index > 0) await nextTurn();
        try {
          await db.transaction().execute(async (trx) => {
            const repository = createUsageRepository(trx);
            await repository.addCounts(slice.rows);
            await repository.insertRefusals(slice.events);
            await repository.pruneRefusals([...slice.refusals.keys()], RECENT_REFUSALS_KEPT);
          });
          for (const row of slice.rows) writing.get(row.hour)?.delete(row.client_id);
        } catch (error) {
          // Nothing of this slice's transaction was kept: add its counts and the rest back for the next attempt.
          writing = new Map();
          putBack(slices.slice(index));
          logger?.warn({ err: { message: (error as Error).message } }, 'could not write usage counts; will retry');
          break;
        }
      }
      writing = new Map();
      if (dropped > droppedLogged) {
        logger?.warn({ droppedUsage: dropped }, 'usage counts dropped: too many were waiting for the database');
        droppedLogged = dropped;
      }
    });
    return flushing;
  };

  const timer = setInterval(() => void flush(), intervalMs);
  timer.unref();

  return {
    tokenIssued(clientId: string): void {
      count(clientId, 'tokens');
    },
    requested(clientId: string, door: 'rest' | 'graphql'): void {
      count(clientId, door);
    },
    /** A refusal of `clientId` (null: an id that names no client) for `reason`, from `address`. */
    refused(clientId: string | null, reason: RefusalReason, address: string): void {
      const nowMs = clock.now().getTime();
      add(clientId ?? NO_CLIENT_ID, currentHour(nowMs), reason, 1);
      if (clientId !== null) addRefusals(clientId, [{ at: new Date(nowMs).toISOString(), reason, address: address.slice(0, 64) }], false);
    },
    /** REST and GraphQL requests of `clientId` not yet written, from the hour starting `fromHour` on. */
    pendingRequests(clientId: string, fromHour: string): number {
      return requestsIn(counters, clientId, fromHour) + requestsIn(writing, clientId, fromHour);
    },
    /** Writes what is pending; the timer calls it, and readers that must see every count. */
    flush,
    /**
     * Stops the timer and writes what is pending, retrying until `deadline` (epoch ms) while the
     * database is away; resolves with how many counts were lost (0 when all were written).
     */
    async stop(deadline = 0): Promise<number> {
      clearInterval(timer);
      for (let pause = 100; ; pause = Math.min(pause * 2, 1000)) {
        await flush();
        const left = deadline - Date.now();
        if ((counterCount === 0 && refusals.size === 0) || left <= 0) {
          let lost = dropped;
          for (const byClient of counters.values()) for (const byKind of byClient.values()) for (const n of byKind.values()) lost += n;
          return lost;
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(pause, left)));
      }
    },
  };
}

export type UsageRecorder = ReturnType<typeof createUsageRecorder>;
