import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testDialects, type TestDatabase } from '../../../test/support/databases.js';
import { retainedHeapBytes } from '../../../test/support/heap.js';
import { createThrottle } from './throttle.service.js';

const LIMITS = { perClient: 10, perAddress: 10_000, windowSeconds: 600 };
const PAIRS = 1500;

describe.each(testDialects())('the token throttle’s spares (%s)', (dialect) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(dialect);
  });
  afterAll(() => database.drop());

  it('keeps a spare per client in under 700 bytes of heap: its windows, not copies of the names it was reserved under', async () => {
    const throttle = createThrottle(database.handle.db, { scope: 'token', limits: LIMITS, keepSpares: true });
    const pairs = (count: number) => Array.from({ length: count }, () => ({ subject: `client:${randomUUID()}`, address: '127.0.0.1' }));
    const reserveAll = async (keys: readonly { subject: string; address: string }[]) => {
      for (let i = 0; i < keys.length; i += 20) await Promise.all(keys.slice(i, i + 20).map((pair) => throttle.guard(pair, () => true)));
    };
    // The code of the path compiled first: it is heap too.
    await reserveAll(pairs(300));
    const keys = pairs(PAIRS);
    const { bytes } = await retainedHeapBytes(() => reserveAll(keys));
    // Each pair now answers from its spare, without a promise.
    expect(keys.every((pair) => throttle.guard(pair, () => true) instanceof Promise)).toBe(false);
    // Measured so, a spare took about 920 bytes (the pieces of the request's key names, a Map of
    // three names and windows); now 420–560, of which the spare itself is about 230 in a heap snapshot.
    expect(bytes / PAIRS).toBeLessThan(700);
  }, 120_000);

  it('counts a wrong secret checked under a spare as a failure on the address, the subject and the pair', async () => {
    const throttle = createThrottle(database.handle.db, { scope: 'token', limits: LIMITS, keepSpares: true });
    const pair = { subject: `client:${randomUUID()}`, address: '192.0.2.7' };
    expect(await throttle.guard(pair, () => true)).toEqual({ granted: true, passed: true });
    expect(await throttle.guard(pair, () => false)).toEqual({ granted: true, passed: false });
    const rows = await database.handle.db
      .selectFrom('auth_throttle')
      .select(['key', 'failures', 'pending', 'spares'])
      .where('key', 'in', ['token:addr:192.0.2.7', `token:${pair.subject}`, `token:pair:${pair.subject}|192.0.2.7`])
      .orderBy('key')
      .execute();
    expect(rows.map((row) => ({ ...row, failures: Number(row.failures), pending: Number(row.pending), spares: Number(row.spares) }))).toEqual([
      { key: 'token:addr:192.0.2.7', failures: 1, pending: 0, spares: 0 },
      { key: `token:${pair.subject}`, failures: 1, pending: 0, spares: 0 },
      { key: `token:pair:${pair.subject}|192.0.2.7`, failures: 1, pending: 0, spares: 0 },
    ]);
  });
});
