import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { createThrottleRepository, type CounterRow, type SlotChange } from './throttle.repository.js';

/**
 * Throttling of guesses (client secrets, passwords, setup links) in fixed windows, per address,
 * per subject (a client id or an account) and per pair of both.
 *
 * Reserve, then check: a request takes a slot in every counter it is subject to before its secret
 * is checked, in one transaction over the counter rows (the rows are locked in one order, so
 * parallel requests on any number of instances are serialised per key); a wrong secret turns the
 * slot into a failure, a right one gives it back. So no more secrets than the limit are ever
 * checked in a window, however many arrive at once (Keycloak #31726). The counters live in the
 * database on SQLite too: a second process on the file counts with the first.
 *
 * Lock-out policy (GHSA-cq42-vhv7-xr7p: an attacker must not be able to lock the real client out):
 * - the address counter blocks on failures from that address only. Pending checks there hold a
 *   request back until they settle (so no more checks than the limit run at once), but never
 *   refuse it for the window: many clients behind one address must not block it by succeeding;
 * - the subject counter is not applied to a pair that has neither failed nor is being checked in
 *   this window: the holder of the right secret, from an address that has not failed, is checked
 *   even while others exhaust the subject's counter. A guesser gets one such check per fresh
 *   address and window, and its address counter still applies;
 * - every block ends with its window.
 *
 * A success may keep its slot as a spare of this instance for the same pair (`keepSpares`), so
 * the next request of that pair is checked without touching the database: the token endpoint's
 * success path writes once per pair and window, not once per request. A spare counts in the
 * subject's counter (it is a reserved check), not in the address's (one address may front many
 * clients), and lasts until the subject's or the pair's window ends, not the address's: the spares
 * of all clients behind one address must not expire together and reserve again all at once.
 */
export interface ThrottleLimits {
  /** Failures allowed per window for one subject (a client id, or an account's email). */
  readonly perClient: number;
  /** Failures allowed per window from one address. */
  readonly perAddress: number;
  readonly windowSeconds: number;
}

export const DEFAULT_THROTTLE_LIMITS: ThrottleLimits = Object.freeze({ perClient: 10, perAddress: 50, windowSeconds: 60 });

export interface ThrottleKeys {
  /** Who is being guessed: `client:<id>` or `user:<email>`; null when only the address counts. */
  readonly subject: string | null;
  readonly address: string;
}

/** A granted slot is settled exactly once: `succeeded` gives it back, `failed` makes it a failure. */
export type Reservation =
  { readonly granted: false; readonly retryAfterSeconds: number } | { readonly granted: true; succeeded(): Promise<void>; failed(): Promise<void> };

export interface Throttle {
  /** Seconds to wait if this instance already knows these keys are blocked, else null. No I/O. */
  blockedFor(keys: ThrottleKeys): number | null;
  /**
   * Takes a slot in the database before a secret is checked; refused (429) when the keys'
   * counters are spent. For checks that take time (argon2).
   */
  reserve(keys: ThrottleKeys): Promise<Reservation>;
  /**
   * Runs a synchronous `check` under a slot: this instance's spare for the pair when it holds
   * one (no I/O, and no promise, when the check passes), else a slot reserved in the database, which concurrent
   * requests of the same pair wait for instead of reserving beside it, so the real client's
   * parallel requests at the start of a window take one slot, not one each.
   */
  guard(keys: ThrottleKeys, check: () => boolean): GuardResult | Promise<GuardResult>;
}

/** A guarded check: refused (429), or run under a slot and passed or not. Without a promise when a spare answered. */
export type GuardResult = { readonly granted: false; readonly retryAfterSeconds: number } | { readonly granted: true; readonly passed: boolean };
const PASSED: GuardResult = Object.freeze({ granted: true, passed: true });
const FAILED: GuardResult = Object.freeze({ granted: true, passed: false });

export interface ThrottleOptions {
  /** Keeps this throttle's keys apart from the others' in the shared table (`token`, `sign-in`, `setup`). */
  readonly scope: string;
  readonly limits?: ThrottleLimits;
  /** Keep a success's slot for the next request of the same pair (see above). */
  readonly keepSpares?: boolean;
}

/**
 * A kept slot: the window each of its keys (address, subject, pair) was taken in, and when the
 * first of the subject's and pair's windows ends. The keys themselves follow from the request's
 * ThrottleKeys, so a spare holds no names of its own (100,000 clients an hour keep tens of thousands).
 */
interface Spare {
  readonly until: number;
  readonly addressWindow: string;
  readonly subjectWindow: string;
  readonly pairWindow: string;
}

const MAX_LOCAL_ENTRIES = 100_000;
/** How long a request waits for an address's pending checks to settle before it is refused once. */
const MAX_ADDRESS_WAIT_MS = 10_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function secondsUntil(until: number, now: number): number {
  return Math.max(1, Math.ceil((until - now) / 1000));
}

export function createThrottle(db: Kysely<Database>, options: ThrottleOptions): Throttle {
  const limits = options.limits ?? DEFAULT_THROTTLE_LIMITS;
  const windowMs = limits.windowSeconds * 1000;
  const counters = createThrottleRepository(db);
  /** Keys this instance saw refused, until their window ends: a flood is answered without queries. */
  const blockedUntil = new Map<string, number>();
  const spares = new Map<string, Spare>();
  /** Pairs with a reservation being made in the database by this instance, until it is settled. */
  const reserving = new Map<string, Promise<void>>();

  const pairOf = (keys: ThrottleKeys) => (keys.subject === null ? null : `${options.scope}:pair:${keys.subject}|${keys.address}`);
  const names = (keys: ThrottleKeys) => {
    const address = `${options.scope}:addr:${keys.address}`;
    if (keys.subject === null) return { address, subject: null, pair: null };
    return { address, subject: `${options.scope}:${keys.subject}`, pair: pairOf(keys)! };
  };

  /**
   * Window starts come as one string per row, though the spares behind one address share its
   * window, and a pair's window opens with its subject's: those are kept once, not per spare.
   */
  let lastAddressWindow = '';
  const spareOf = (windows: ReadonlyMap<string, string>, keys: { address: string; subject: string; pair: string }, until: number): Spare => {
    const addressWindow = windows.get(keys.address)!;
    if (addressWindow !== lastAddressWindow) lastAddressWindow = addressWindow;
    const subjectWindow = windows.get(keys.subject)!;
    const pairWindow = windows.get(keys.pair)!;
    return { until, addressWindow: lastAddressWindow, subjectWindow, pairWindow: pairWindow === subjectWindow ? subjectWindow : pairWindow };
  };

  /** A spare's slot on each of the pair's keys, for `settle` (only a spare that fails is settled). */
  const windowsOf = (keys: ThrottleKeys, spare: Spare): ReadonlyMap<string, string> => {
    const { address, subject, pair } = names(keys);
    return new Map([
      [address, spare.addressWindow],
      [subject!, spare.subjectWindow],
      [pair!, spare.pairWindow],
    ]);
  };

  /**
   * Adds an entry that lasts until `endsAt(value)`. Entries whose window has ended are dropped from
   * the oldest end first: nothing reads them again, and kept, they held memory for every client
   * seen since the start (up to the cap: 100,000 spares of about 700 bytes). The walk stops at the
   * first live entry, so it costs nothing on average.
   */
  const remember = <V>(map: Map<string, V>, key: string, value: V, endsAt: (value: V) => number) => {
    const now = Date.now();
    for (const [oldKey, oldValue] of map) {
      if (endsAt(oldValue) > now) break;
      map.delete(oldKey);
    }
    if (map.size >= MAX_LOCAL_ENTRIES) {
      const oldest = map.keys().next();
      if (oldest.done !== true) map.delete(oldest.value);
    }
    map.set(key, value);
  };

  const windowEnd = (row: CounterRow) => new Date(row.window_start).getTime() + windowMs;

  /**
   * Settles a slot on each key, in the window it was taken in (a window that has moved on was
   * reset, and its pending count with it). One statement per key, in key order, each alone.
   */
  async function settle(windows: ReadonlyMap<string, string>, change: SlotChange) {
    for (const [key, windowStart] of [...windows].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      await counters.settle(key, windowStart, change);
    }
  }

  async function reserveInDatabase(
    keys: ThrottleKeys,
    pairName: string | null,
    waitUntil = Date.now() + MAX_ADDRESS_WAIT_MS,
    delayMs = 10,
  ): Promise<Reservation> {
    const { address, subject, pair } = names(keys);
    const keyList = [address, subject, pair].filter((key): key is string => key !== null).sort();
    const now = Date.now();
    const nowIso = new Date(now).toISOString();
    const expired = new Date(now - windowMs).toISOString();
    const decision = await db.transaction().execute(async (trx) => {
      // One upsert in key order: it creates or resets the windows and locks the rows until commit.
      const rows = await createThrottleRepository(trx).openWindows(keyList, nowIso, expired);
      const byKey = new Map(rows.map((row) => [row.key, row]));
      const addressRow = byKey.get(address)!;
      if (addressRow.failures >= limits.perAddress) return { refusedBy: address, until: windowEnd(addressRow), lasting: true };
      // Checks in flight may all still succeed: wait for them rather than block the address.
      if (addressRow.failures + addressRow.pending >= limits.perAddress) return { busy: true as const, until: windowEnd(addressRow) };
      if (subject !== null && pair !== null) {
        const subjectRow = byKey.get(subject)!;
        const pairRow = byKey.get(pair)!;
        const cleanPair = pairRow.failures === 0 && pairRow.pending === 0;
        if (!cleanPair && subjectRow.failures + subjectRow.pending + subjectRow.spares >= limits.perClient) {
          // Remembered only once the pair has failed: a pending check of its own may still succeed.
          return { refusedBy: pair, until: windowEnd(subjectRow), lasting: pairRow.failures > 0 };
        }
      }
      await createThrottleRepository(trx).addPending(keyList);
      const spareRows = rows.filter((row) => row.key !== address);
      return {
        windows: new Map(rows.map((row) => [row.key, row.window_start])),
        until: spareRows.length === 0 ? 0 : Math.min(...spareRows.map(windowEnd)),
        // The pair's name as the row holds it: one flat string, where the request's is built of pieces that keep their parts.
        pairKey: pair === null ? null : byKey.get(pair)!.key,
      };
    });
    if ('busy' in decision) {
      const now = Date.now();
      if (now >= waitUntil) return { granted: false, retryAfterSeconds: secondsUntil(Math.min(decision.until, now + 1000), now) };
      await sleep(Math.min(delayMs, waitUntil - now));
      return reserveInDatabase(keys, pairName, waitUntil, Math.min(delayMs * 2, 200));
    }
    if ('refusedBy' in decision) {
      if (decision.lasting) remember(blockedUntil, decision.refusedBy, decision.until, (until) => until);
      return { granted: false, retryAfterSeconds: secondsUntil(decision.until, Date.now()) };
    }
    const { windows, until, pairKey } = decision;
    let settled = false;
    return {
      granted: true,
      async succeeded() {
        if (settled) return;
        settled = true;
        if (pairName !== null && pairKey !== null && !spares.has(pairName) && until > Date.now()) {
          remember(spares, pairKey, spareOf(windows, { address, subject: subject!, pair: pairKey }, until), (kept) => kept.until);
          await settle(windows, { from: 'pending', to: 'spares' });
        } else {
          await settle(windows, { from: 'pending', to: null });
        }
      },
      async failed() {
        if (settled) return;
        settled = true;
        await settle(windows, { from: 'pending', to: 'failures' });
      },
    };
  }

  /** `guard` the awaited way: a block to look up, a spare gone, or a reservation to make or wait for. */
  async function guardSlowly(keys: ThrottleKeys, check: () => boolean, pairName: string | null): Promise<GuardResult> {
    for (;;) {
      const blocked = throttle.blockedFor(keys);
      if (blocked !== null) return { granted: false, retryAfterSeconds: blocked };
      const spare = pairName === null ? undefined : spares.get(pairName);
      if (spare !== undefined && spare.until <= Date.now()) spares.delete(pairName!);
      else if (spare !== undefined) {
        // Taken, checked and given back in one synchronous step: one check at a time per spare.
        if (check()) return { granted: true, passed: true };
        spares.delete(pairName!);
        await settle(windowsOf(keys, spare), { from: 'spares', to: 'failures' });
        return { granted: true, passed: false };
      }
      // Another request of this pair is reserving in the database: its success leaves a spare.
      const inFlight = pairName === null ? undefined : reserving.get(pairName);
      if (inFlight === undefined) break;
      await inFlight;
    }
    let done = () => {};
    if (pairName !== null) reserving.set(pairName, new Promise<void>((resolve) => (done = resolve)));
    try {
      const reservation = await reserveInDatabase(keys, options.keepSpares === true ? pairName : null);
      if (!reservation.granted) return reservation;
      const passed = check();
      await (passed ? reservation.succeeded() : reservation.failed());
      return { granted: true, passed };
    } finally {
      if (pairName !== null) reserving.delete(pairName);
      done();
    }
  }

  const throttle: Throttle = {
    blockedFor(keys) {
      // Nothing is blocked on most instances most of the time: no key names to build then.
      if (blockedUntil.size === 0) return null;
      const { address, pair } = names(keys);
      const now = Date.now();
      let until = 0;
      for (const key of [address, pair]) {
        if (key === null) continue;
        const t = blockedUntil.get(key);
        if (t === undefined) continue;
        if (t > now) until = Math.max(until, t);
        else blockedUntil.delete(key);
      }
      return until === 0 ? null : secondsUntil(until, now);
    },

    async reserve(keys) {
      const blocked = this.blockedFor(keys);
      if (blocked !== null) return { granted: false, retryAfterSeconds: blocked };
      return reserveInDatabase(keys, null);
    },

    guard(keys, check) {
      // The pair's name alone: the spare is looked up by it, on every token request.
      const pairName = pairOf(keys);
      // A spare of this pair, nothing blocked: taken, checked and given back in one synchronous
      // step, and a passed check answered without a promise (the busy client's every request).
      const spare = pairName === null || blockedUntil.size > 0 ? undefined : spares.get(pairName);
      if (spare === undefined || spare.until <= Date.now()) return guardSlowly(keys, check, pairName);
      if (check()) return PASSED;
      spares.delete(pairName!);
      return settle(windowsOf(keys, spare), { from: 'spares', to: 'failures' }).then(() => FAILED);
    },
  };
  return throttle;
}
