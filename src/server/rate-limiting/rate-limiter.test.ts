import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testDialects, type TestDatabase } from '../../../test/support/databases.js';
import { createRateLimiter, RATE_LIMIT_WINDOW_MS, type RateLimiter } from './rate-limiter.js';

/** A clock the test moves: 10 s into a window, so nothing here straddles a minute by chance. */
function testClock() {
  let ms = Math.ceil(Date.now() / RATE_LIMIT_WINDOW_MS) * RATE_LIMIT_WINDOW_MS + 10_000;
  return { now: () => new Date(ms), advance: (by: number) => (ms += by) };
}

/** Admissions out of `count` requests of one client at one instance. */
function admitted(limiter: RateLimiter, clientId: string, limit: number, count: number): number {
  let allowed = 0;
  for (let i = 0; i < count; i += 1) if (limiter.take(clientId, 'requests', limit)!.allowed) allowed += 1;
  return allowed;
}

/**
 * The per-client limiter: counts in memory, shared through additive upserts into
 * `rate_limit_counts` at each sync (the timer's tick; called by hand here so the interleaving is
 * known), limits holding across instances within the stated tolerance.
 */
describe.each(testDialects())('per-client rate limiter on %s', (dialect) => {
  let database: TestDatabase;
  const clock = testClock();
  /** Two instances on one database: each its own memory, one table between them. */
  let first: RateLimiter;
  let second: RateLimiter;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    first = createRateLimiter({ db: database.handle.db, clock, syncMs: 0 });
    second = createRateLimiter({ db: database.handle.db, clock, syncMs: 0 });
  });
  afterAll(async () => {
    await first?.stop();
    await second?.stop();
    await database?.drop();
  });

  it('counts nothing and writes nothing for a client without a limit', async () => {
    expect(first.take('unlimited', 'requests', null)).toBeNull();
    await first.sync();
    expect(await database.handle.db.selectFrom('rate_limit_counts').selectAll().where('client_id', '=', 'unlimited').execute()).toEqual([]);
  });

  it('admits the limit in a window, says what remains and when it resets, refuses the rest without counting them, and starts again next window', async () => {
    const quotas = Array.from({ length: 5 }, () => first.take('alone', 'tokens', 3)!);
    expect(quotas.map((quota) => [quota.allowed, quota.remaining])).toEqual([
      [true, 2],
      [true, 1],
      [true, 0],
      [false, 0],
      [false, 0],
    ]);
    expect(quotas[4]!.resetSeconds).toBe(50);
    // The kinds are counted apart.
    expect(first.take('alone', 'requests', 3)!.allowed).toBe(true);
    await first.sync();
    const stored = await database.handle.db
      .selectFrom('rate_limit_counts')
      .select(['kind', 'count'])
      .where('client_id', '=', 'alone')
      .orderBy('kind')
      .execute();
    expect(stored.map((row) => [row.kind, Number(row.count)])).toEqual([
      ['requests', 1],
      ['tokens', 3],
    ]);

    clock.advance(RATE_LIMIT_WINDOW_MS);
    expect(first.take('alone', 'tokens', 3)).toMatchObject({ allowed: true, remaining: 2 });
    clock.advance(-RATE_LIMIT_WINDOW_MS);
  });

  it('holds one limit across two instances: admissions stay within the limit plus what the other instance admits in two sync intervals', async () => {
    const limit = 40;
    const perSync = 5;
    let allowed = 0;
    let sent = 0;
    // Each instance takes `perSync` requests between syncs, as a busy client's traffic splits across them.
    for (let round = 0; round < 10; round += 1) {
      allowed += admitted(first, 'shared', limit, perSync) + admitted(second, 'shared', limit, perSync);
      sent += 2 * perSync;
      await first.sync();
      await second.sync();
    }
    expect(sent).toBe(100);
    expect(allowed).toBeGreaterThanOrEqual(limit);
    // (instances − 1) × what one instance admits in two sync intervals.
    expect(allowed).toBeLessThanOrEqual(limit + (2 - 1) * 2 * perSync);
    // Once both know the total, neither admits another.
    expect(first.take('shared', 'requests', limit)!.allowed).toBe(false);
    expect(second.take('shared', 'requests', limit)!.allowed).toBe(false);
  });

  it('counts what it just shared once, not twice, while it prunes the closed windows', async () => {
    let pruning = false;
    const during: (boolean | undefined)[] = [];
    const limiter: RateLimiter = createRateLimiter({
      db: database.handle.db.withPlugin({
        transformQuery: (args) => {
          pruning = args.node.kind === 'DeleteQueryNode';
          return args.node;
        },
        // Runs after the delete has answered, before the sync goes on: a request arriving meanwhile.
        transformResult: async (args) => {
          if (pruning) during.push(limiter.take('pruned', 'requests', 3)?.allowed);
          return args.result;
        },
      }),
      clock,
      syncMs: 0,
    });
    expect(admitted(limiter, 'pruned', 3, 2)).toBe(2);
    // Its first sync prunes: the two it shares are in the totals it read, and no longer its own.
    await limiter.sync();
    expect(during).toEqual([true]);
    expect(admitted(limiter, 'pruned', 3, 1)).toBe(0);
    await limiter.stop();
  });

  it.each([
    ['reading the totals', 'SelectQueryNode'],
    ['pruning the closed windows', 'DeleteQueryNode'],
  ])('adds what it shared once when %s fails after the counts went in, and keeps counting them', async (_what, failingKind) => {
    const clientId = `half-shared ${failingKind}`;
    let failOnce = true;
    const limiter = createRateLimiter({
      db: database.handle.db.withPlugin({
        transformQuery: (args) => {
          if (failOnce && args.node.kind === failingKind) {
            failOnce = false;
            throw new Error('statement timeout');
          }
          return args.node;
        },
        transformResult: async (args) => args.result,
      }),
      clock,
      syncMs: 0,
    });
    // A fresh window, so that this limiter's first sync reads and prunes.
    clock.advance(RATE_LIMIT_WINDOW_MS);
    try {
      expect(admitted(limiter, clientId, 3, 2)).toBe(2);
      await limiter.sync();
      expect(failOnce).toBe(false);
      // Its two are in the table once: one more is admitted, here and after the next sync alike.
      expect(admitted(limiter, clientId, 3, 2)).toBe(1);
      await limiter.sync();
      expect(admitted(limiter, clientId, 3, 1)).toBe(0);
      const stored = await database.handle.db.selectFrom('rate_limit_counts').select('count').where('client_id', '=', clientId).execute();
      expect(stored.map((row) => Number(row.count))).toEqual([3]);
    } finally {
      await limiter.stop();
      clock.advance(-RATE_LIMIT_WINDOW_MS);
    }
  });

  it('keeps counting alone while the database is away, and shares the counts once it is back', async () => {
    const failing = createRateLimiter({
      db: database.handle.db.withPlugin({
        transformQuery: (args) => {
          if (away) throw new Error('connection terminated');
          return args.node;
        },
        transformResult: async (args) => args.result,
      }),
      clock,
      syncMs: 0,
    });
    let away = true;
    expect(admitted(failing, 'offline', 3, 5)).toBe(3);
    await failing.sync();
    expect(admitted(failing, 'offline', 3, 1)).toBe(0);
    away = false;
    await failing.sync();
    const row = await database.handle.db.selectFrom('rate_limit_counts').select('count').where('client_id', '=', 'offline').executeTakeFirst();
    expect(Number(row?.count)).toBe(3);
    await failing.stop();
  });
});
