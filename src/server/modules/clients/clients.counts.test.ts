import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../actor.js';
import type { Services } from '../../services.js';
import { createTestDatabase, createTestServices, testDialects, type TestDatabase } from '../../../../test/support/databases.js';
import { clientRow, insertClientRows } from '../../../../test/support/client-rows.js';

/** One change to the clients table, as the services and the CLI make them. */
type Operation =
  | { readonly kind: 'create'; readonly count: number }
  | { readonly kind: 'update'; readonly pick: number; readonly enabled: boolean; readonly rename: boolean }
  | { readonly kind: 'delete'; readonly pick: number }
  | { readonly kind: 'bulk'; readonly action: 'enable' | 'disable' | 'delete'; readonly picks: readonly number[] }
  | { readonly kind: 'failed-bulk'; readonly picks: readonly number[] }
  | { readonly kind: 'touch'; readonly pick: number };

const operation: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({ kind: fc.constant('create' as const), count: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant('update' as const), pick: fc.nat(), enabled: fc.boolean(), rename: fc.boolean() }),
  fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }),
  fc.record({
    kind: fc.constant('bulk' as const),
    action: fc.constantFrom('enable' as const, 'disable' as const, 'delete' as const),
    picks: fc.array(fc.nat(), { maxLength: 6 }),
  }),
  fc.record({ kind: fc.constant('failed-bulk' as const), picks: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }) }),
  fc.record({ kind: fc.constant('touch' as const), pick: fc.nat() }),
);

describe.each(testDialects())('the client counts behind a list total on %s', (dialect) => {
  let database: TestDatabase;
  let services: Services;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    services = await createTestServices(database);
  });
  afterAll(async () => {
    await services.stop();
    await database.drop();
  });

  async function exactCounts() {
    const row = await database.handle.db
      .selectFrom('api_clients')
      .select((eb) => [eb.fn.countAll<number | string>().as('total'), eb.fn.sum<number | string | null>('enabled').as('enabled')])
      .executeTakeFirstOrThrow();
    return { total: Number(row.total), enabled: Number(row.enabled ?? 0) };
  }

  async function listedTotals() {
    const all = await services.clients.list(SYSTEM_ACTOR, { limit: 1 });
    const enabled = await services.clients.list(SYSTEM_ACTOR, { limit: 1, status: 'enabled' });
    const disabled = await services.clients.list(SYSTEM_ACTOR, { limit: 1, status: 'disabled' });
    return { total: all.total, enabled: enabled.total, disabled: disabled.total };
  }

  it('equal an exact count after any sequence of creates, updates, deletes, bulk actions, rolled-back writes and last-used times', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 12 }), async (operations) => {
        for (const step of operations) {
          const ids = (await database.handle.db.selectFrom('api_clients').select('id').orderBy('id').execute()).map((row) => row.id);
          const pick = (index: number) => ids[index % Math.max(ids.length, 1)];
          switch (step.kind) {
            case 'create':
              for (let n = 0; n < step.count; n++) await services.clients.create(SYSTEM_ACTOR, { name: `counted ${ids.length + n}` });
              break;
            case 'update': {
              const id = pick(step.pick);
              if (id !== undefined)
                await services.clients.update(SYSTEM_ACTOR, id, { enabled: step.enabled, ...(step.rename ? { name: `renamed ${id}` } : {}) });
              break;
            }
            case 'delete': {
              const id = pick(step.pick);
              if (id !== undefined) await services.clients.delete(SYSTEM_ACTOR, id);
              break;
            }
            case 'bulk': {
              const chosen = [...new Set(step.picks.map(pick).filter((id): id is string => id !== undefined))];
              await services.clients.bulk(SYSTEM_ACTOR, step.action, [...chosen, '00000000-0000-4000-8000-000000000000']);
              break;
            }
            case 'failed-bulk': {
              // A transaction that deletes and disables, then fails: the counts roll back with it.
              const chosen = [...new Set(step.picks.map(pick).filter((id): id is string => id !== undefined))];
              const failure = await database.handle.db
                .transaction()
                .execute(async (trx) => {
                  if (chosen.length > 0) {
                    await trx.updateTable('api_clients').set({ enabled: 0 }).where('id', 'in', chosen).execute();
                    await trx.deleteFrom('api_clients').where('id', '=', chosen[0]!).execute();
                  }
                  throw new Error('rolled back');
                })
                .catch((error: unknown) => error);
              expect(failure).toEqual(new Error('rolled back'));
              break;
            }
            case 'touch': {
              const id = pick(step.pick);
              if (id !== undefined)
                await database.handle.db.updateTable('api_clients').set({ last_used_at: new Date().toISOString() }).where('id', '=', id).execute();
              break;
            }
          }
        }
        const exact = await exactCounts();
        expect(await listedTotals()).toEqual({ total: exact.total, enabled: exact.enabled, disabled: exact.total - exact.enabled });
      }),
      { numRuns: 25 },
    );
  });

  it('still counts the matches of a search exactly', async () => {
    await services.clients.create(SYSTEM_ACTOR, { name: 'needle one' });
    await services.clients.create(SYSTEM_ACTOR, { name: 'Needle two', description: 'x' });
    const needles = await services.clients.list(SYSTEM_ACTOR, { search: 'needle', limit: 1 });
    const row = await sql<{ total: number | string }>`select count(*) as total from api_clients where lower(name) like '%needle%'`.execute(database.handle.db);
    expect(needles.total).toBe(Number(row.rows[0]!.total));
    expect(needles.total).toBeGreaterThanOrEqual(2);
  });

  it('are kept when rows go in straight through SQL, as the CLI or a bulk import would', async () => {
    const before = await exactCounts();
    await insertClientRows(
      database.handle.db,
      dialect,
      Array.from({ length: 40 }, (_, n) => clientRow(n, { enabled: n % 4 !== 0 })),
    );
    const after = await exactCounts();
    expect(after).toEqual({ total: before.total + 40, enabled: before.enabled + 30 });
    expect(await listedTotals()).toEqual({ total: after.total, enabled: after.enabled, disabled: after.total - after.enabled });
  });
});
