import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SYSTEM_ACTOR } from '../../actor.js';
import type { Services } from '../../services.js';
import { createClientStateCache } from './client-state.js';
import { clientRow, insertClientRows } from '../../../../test/support/client-rows.js';
import { createTestDatabase, createTestServices, testDialects, type TestDatabase } from '../../../../test/support/databases.js';
import { retainedHeapBytes } from '../../../../test/support/heap.js';

const CLIENTS = 10_000;

describe.each(testDialects())('the client-state cache’s memory (%s)', (dialect) => {
  let database: TestDatabase;
  let services: Services;
  /** A prefix of this run's own, so every id is a string the test makes when it asks, as a request's token would. */
  const prefix = randomBytes(4).toString('hex');
  const idOf = (n: number) => `${prefix}-0000-4000-8000-${n.toString().padStart(12, '0')}`;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    services = await createTestServices(database);
    const viewer = (await services.roles.list(SYSTEM_ACTOR)).find((role) => role.name === 'Viewer')!.id;
    await insertClientRows(
      database.handle.db,
      dialect,
      Array.from({ length: CLIENTS + 200 }, (_, n) => clientRow(n, { id: idOf(n), roleId: viewer })),
    );
  });
  afterAll(async () => {
    await services?.stop();
    await database?.drop();
  });

  it('keeps a client’s state in under 550 bytes of heap: its id once, its role’s id and its method shared with the others', async () => {
    const { db, changes, clock } = services;
    const cache = createClientStateCache({ db, changes, clock, ttlMs: 600_000, maxEntries: CLIENTS + 200 });
    await vi.waitFor(() => expect(changes.isLive()).toBe(true), { timeout: 5000 });
    // The code of the path compiled first: it is heap too.
    for (let n = CLIENTS; n < CLIENTS + 200; n++) await cache.get(idOf(n));
    const { bytes } = await retainedHeapBytes(async () => {
      for (let n = 0; n < CLIENTS; n += 50) await Promise.all(Array.from({ length: 50 }, (_, i) => cache.get(idOf(n + i))));
    });
    expect(cache.size()).toBe(CLIENTS + 200);
    expect((await cache.get(idOf(7)))?.id).toBe(idOf(7));
    // Measured so, a state took 600–650 bytes with a copy of each of those three; now 450–500.
    expect(bytes / CLIENTS).toBeLessThan(550);
  }, 120_000);

  it('drops the states read a TTL ago once another is read: they would never answer again', async () => {
    const { db, changes, clock } = services;
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const cache = createClientStateCache({ db, changes, clock, ttlMs: 60_000, maxEntries: 1000 });
      for (let n = 0; n < 10; n++) await cache.get(idOf(n));
      vi.setSystemTime(Date.now() + 30_000);
      await cache.get(idOf(10));
      // Used again within its TTL: kept, and now the most recently used.
      await cache.get(idOf(3));
      expect(cache.size()).toBe(11);

      vi.setSystemTime(Date.now() + 31_000);
      await cache.get(idOf(11));
      // 0–9 were read 61 s ago and are gone but 3, used 31 s ago, after 10 was read: kept until the walk reaches it.
      expect(cache.size()).toBe(3);

      vi.setSystemTime(Date.now() + 30_000);
      await cache.get(idOf(12));
      // 10 and 3 are past their TTL; 11 is 30 s old.
      expect(cache.size()).toBe(2);
      expect((await cache.get(idOf(11)))?.id).toBe(idOf(11));
      expect(cache.size()).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });
});
