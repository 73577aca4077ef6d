import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientRow, insertClientRows } from '../../../../test/support/client-rows.js';
import { createTestDatabase, testDialects, type TestDatabase } from '../../../../test/support/databases.js';
import { createUsageRecorder, USAGE_WRITE_SLICE } from '../usage/usage.recorder.js';
import { touchLatest } from '../../db/touch-latest.js';
import { createLastUsedRecorder, WRITE_SLICE } from './last-used.js';

const HOUR = 3_600_000;
const clock = { now: () => new Date('2026-12-05T10:30:00.000Z') };

/**
 * The coalesced writes of last-used times and usage counts with tens of thousands of clients used
 * between two writes: whole, in slices that let other work run between them, and a failed slice
 * kept with the rest for the next write.
 */
describe.each(testDialects())('coalesced writes of many clients on %s', (dialect) => {
  let database: TestDatabase;
  const ids: string[] = [];
  const CLIENTS = 2 * WRITE_SLICE + 500;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    const rows = Array.from({ length: CLIENTS }, (_, n) => clientRow(n, { lastUsedAt: n % 2 === 0 ? null : '2026-12-05T10:00:00.000Z' }));
    await insertClientRows(database.handle.db, dialect, rows);
    ids.push(...rows.map((row) => row.id));
  });
  afterAll(async () => {
    await database?.drop();
  });

  /** Counts macrotasks (setImmediate turns) that ran until `work` settled. */
  async function turnsDuring(work: Promise<unknown>): Promise<number> {
    let turns = 0;
    let done = false;
    const tick = () => {
      if (done) return;
      turns += 1;
      setImmediate(tick);
    };
    setImmediate(tick);
    await work;
    done = true;
    return turns;
  }

  const lastUsedOf = async () =>
    new Map((await database.handle.db.selectFrom('api_clients').select(['id', 'last_used_at']).execute()).map((row) => [row.id, row.last_used_at]));

  it('writes every client’s last use in slices, lets requests run between them, and never moves a time backwards', async () => {
    const { db } = database.handle;
    const recorder = createLastUsedRecorder(db, undefined, HOUR);
    try {
      // Even clients were never used; odd ones were, at 10:00: a use at 09:00 must not overwrite it.
      ids.forEach((id, n) => recorder.record(id, n % 2 === 0 ? '2026-12-05T10:20:00.000Z' : '2026-12-05T09:00:00.000Z'));
      const turns = await turnsDuring(recorder.flush());
      // One turn at least between each two slices: on SQLite a single transaction would have held the loop throughout.
      expect(turns).toBeGreaterThanOrEqual(Math.ceil(CLIENTS / WRITE_SLICE) - 1);
      expect(recorder.pendingCount()).toBe(0);
    } finally {
      await recorder.stop();
    }
    const stored = await lastUsedOf();
    ids.forEach((id, n) => expect(stored.get(id), id).toBe(n % 2 === 0 ? '2026-12-05T10:20:00.000Z' : '2026-12-05T10:00:00.000Z'));
  });

  it('shows a use being written as the latest, and keeps a failed slice and the ones after it for the next write', async () => {
    const { db } = database.handle;
    const at = '2026-12-05T10:25:00.000Z';
    let slices = 0;
    let seenWhileWriting: string | null = null;
    const recorder = createLastUsedRecorder(db, undefined, HOUR, async (trx, slice) => {
      slices += 1;
      // The second slice fails as a lost database would; the first stays written.
      if (slices === 2) throw new Error('connection lost');
      seenWhileWriting = recorder.latest(ids.at(-1)!, null);
      await sql`update api_clients set last_used_at = ${at} where id in (${sql.join([...slice.keys()])})`.execute(trx);
    });
    try {
      for (const id of ids) recorder.record(id, at);
      await recorder.flush();
      // Sorted by id: the first slice is the first WRITE_SLICE ids.
      const stored = await lastUsedOf();
      const written = ids.filter((id) => stored.get(id) === at).length;
      expect(written).toBe(WRITE_SLICE);
      expect(recorder.pendingCount()).toBe(CLIENTS - WRITE_SLICE);
      // The last id was in the batch being written when the first slice ran: still shown as used.
      expect(seenWhileWriting).toBe(at);
      await recorder.flush();
      expect(recorder.pendingCount()).toBe(0);
      const after = await lastUsedOf();
      expect(ids.filter((id) => after.get(id) === at)).toHaveLength(CLIENTS);
    } finally {
      await recorder.stop();
    }
  });

  it('does not write a use forgotten while its flush is under way, as when a secret is regenerated between two slices', async () => {
    const { db } = database.handle;
    const at = '2026-12-05T10:28:00.000Z';
    const forgotten = [...ids].sort().at(-1)!;
    let slices = 0;
    const recorder = createLastUsedRecorder(db, undefined, HOUR, async (trx, slice) => {
      slices += 1;
      await touchLatest(trx, 'api_clients', 'last_used_at', slice);
      // After the first slice is written, the client of the last one has its secret regenerated.
      if (slices === 1) recorder.forget(forgotten);
    });
    try {
      await db.updateTable('api_clients').set({ last_used_at: null }).where('id', '=', forgotten).execute();
      for (const id of ids) recorder.record(id, at);
      await recorder.flush();
      expect(recorder.latest(forgotten, null)).toBeNull();
      const stored = await lastUsedOf();
      expect(stored.get(forgotten)).toBeNull();
      expect(ids.filter((id) => stored.get(id) === at)).toHaveLength(CLIENTS - 1);
    } finally {
      await recorder.stop();
    }
  });

  it('adds every client’s usage counts in slices of whole clients, letting requests run between them, and counts what is being written as pending', async () => {
    const { db } = database.handle;
    const recorder = createUsageRecorder(db, clock, undefined, HOUR);
    const hour = '2026-12-05T10:00:00.000Z';
    try {
      for (const id of ids) {
        recorder.tokenIssued(id);
        recorder.requested(id, 'rest');
        recorder.requested(id, 'rest');
      }
      const last = ids.at(-1)!;
      let pendingMidway = -1;
      setImmediate(() => (pendingMidway = recorder.pendingRequests(last, hour)));
      const rows = 2 * CLIENTS;
      const turns = await turnsDuring(recorder.flush());
      expect(turns).toBeGreaterThanOrEqual(Math.ceil(rows / USAGE_WRITE_SLICE) - 1);
      // Read after the first slice was written and before the last: its two requests were neither written nor lost.
      expect(pendingMidway).toBe(2);
      expect(recorder.pendingRequests(last, hour)).toBe(0);
    } finally {
      await recorder.stop();
    }
    const counts = await db
      .selectFrom('client_usage')
      .select(['kind', (eb) => eb.fn.sum<number | string>('count').as('n'), (eb) => eb.fn.countAll<number | string>().as('rows')])
      .groupBy('kind')
      .orderBy('kind')
      .execute();
    expect(counts.map((row) => [row.kind, Number(row.n), Number(row.rows)])).toEqual([
      ['rest', 2 * CLIENTS, CLIENTS],
      ['tokens', CLIENTS, CLIENTS],
    ]);
  });

  it('keeps the counts of a failed slice and of those after it, and none of the slices written before it', async () => {
    const { db } = database.handle;
    const recorder = createUsageRecorder(db, clock, undefined, HOUR);
    const kind = 'graphql';
    // The second slice's first client (of three): a trigger refuses its row, so that slice's transaction fails.
    const sorted = [...ids].sort();
    const failing = sorted[USAGE_WRITE_SLICE]!;
    const refuse =
      dialect === 'sqlite'
        ? sql`create trigger refuse_one before insert on client_usage when new.client_id = ${sql.lit(failing)} and new.kind = 'graphql' begin select raise(abort, 'refused'); end`
        : sql`create function refuse_one() returns trigger language plpgsql as $$ begin if new.client_id = ${sql.lit(failing)} and new.kind = 'graphql' then raise exception 'refused'; end if; return new; end $$`;
    await refuse.execute(db);
    if (dialect === 'postgres') await sql`create trigger refuse_one before insert on client_usage for each row execute function refuse_one()`.execute(db);
    const graphqlRows = async () =>
      Number(
        (
          await db
            .selectFrom('client_usage')
            .select((eb) => eb.fn.countAll<number | string>().as('n'))
            .where('kind', '=', kind)
            .executeTakeFirstOrThrow()
        ).n,
      );
    try {
      for (const id of ids) recorder.requested(id, kind);
      await recorder.flush();
      expect(await graphqlRows()).toBe(USAGE_WRITE_SLICE);
      expect(recorder.pendingRequests(failing, '2026-12-05T10:00:00.000Z')).toBe(1);
      expect(recorder.pendingRequests(sorted.at(-1)!, '2026-12-05T10:00:00.000Z')).toBe(1);
      expect(recorder.pendingRequests(sorted[0]!, '2026-12-05T10:00:00.000Z')).toBe(0);
      await sql`drop trigger refuse_one${dialect === 'postgres' ? sql` on client_usage` : sql``}`.execute(db);
      await recorder.flush();
      expect(await graphqlRows()).toBe(CLIENTS);
      const total = await db
        .selectFrom('client_usage')
        .select((eb) => eb.fn.sum<number | string>('count').as('n'))
        .where('kind', '=', kind)
        .executeTakeFirstOrThrow();
      expect(Number(total.n)).toBe(CLIENTS);
    } finally {
      await recorder.stop();
    }
  });
});
