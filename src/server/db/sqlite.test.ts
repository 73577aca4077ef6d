import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Unavailable } from '../errors.js';
import { migrateToLatest, openDatabase, type DatabaseHandle } from './database.js';
import { migrations } from './migrations/index.js';
import { DATABASE_BUSY_MESSAGE, DISK_FULL_MESSAGE } from './sqlite.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('SQLite beside other processes', () => {
  let dir: string;
  let path: string;
  const opened: { close(): unknown }[] = [];

  const open = (busyTimeoutMs = 5000): DatabaseHandle => {
    const handle = openDatabase({ dialect: 'sqlite', path, url: `file:${path}` }, { busyTimeoutMs });
    opened.push(handle);
    return handle;
  };
  /** Another process's connection, as the CLI or a second server would hold it. */
  const other = (): SqliteDatabase.Database => {
    const connection = new SqliteDatabase(path);
    opened.push(connection);
    return connection;
  };
  const addSetting = (handle: DatabaseHandle, key: string) =>
    handle.db.transaction().execute((trx) => trx.insertInto('settings').values({ key, value: 'v' }).execute());

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'koios-sqlite-'));
    path = join(dir, 'koios.db');
    await migrateToLatest(open());
  });
  afterEach(async () => {
    for (const handle of opened.splice(0)) await handle.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('waits for a write lock held elsewhere without blocking the event loop, serving reads meanwhile', async () => {
    const handle = open();
    const holder = other();
    holder.prepare('begin immediate').run();

    let written = false;
    const write = addSetting(handle, 'waited').then(() => (written = true));
    // The event loop turns and reads are answered while the write waits for the lock.
    const started = Date.now();
    await sleep(20);
    expect(Date.now() - started).toBeLessThan(1000);
    const read = await handle.db.selectFrom('settings').select('key').execute();
    expect(read.map((row) => row.key)).not.toContain('waited');
    expect(written).toBe(false);

    holder.prepare('commit').run();
    await write;
    expect(await handle.db.selectFrom('settings').select('key').where('key', '=', 'waited').executeTakeFirst()).toEqual({ key: 'waited' });
  });

  it('waits for the lock on statements outside a transaction too', async () => {
    const handle = open();
    const holder = other();
    holder.prepare('begin immediate').run();
    const write = handle.db.insertInto('settings').values({ key: 'autocommit', value: 'v' }).execute();
    await sleep(50);
    holder.prepare('commit').run();
    await write;
    expect(holder.prepare("select value from settings where key = 'autocommit'").pluck().get()).toBe('v');
  });

  it('answers Unavailable once the lock has been held elsewhere for longer than the busy timeout', async () => {
    const handle = open(200);
    const holder = other();
    holder.prepare('begin immediate').run();
    const started = Date.now();
    const error = await addSetting(handle, 'never').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Unavailable);
    expect((error as Error).message).toBe(DATABASE_BUSY_MESSAGE);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    holder.prepare('rollback').run();
    // The connection is usable again at once.
    await addSetting(handle, 'after the lock');
  });

  it('leaves the write lock to another process now and then while its own transactions follow each other without a gap', async () => {
    const busy = open();
    const cli = open(2000);
    let stop = false;
    let n = 0;
    // A server whose writes queue up: each transaction holds the lock across timer turns.
    const server = Array.from({ length: 5 }, async () => {
      while (!stop) {
        await busy.db.transaction().execute(async (trx) => {
          await trx
            .insertInto('settings')
            .values({ key: `busy ${(n += 1)}`, value: 'v' })
            .execute();
          await sleep(2);
        });
      }
    });
    try {
      await sleep(50);
      await addSetting(cli, 'from the other process');
    } finally {
      stop = true;
      await Promise.all(server);
    }
    expect(n).toBeGreaterThan(5);
  });

  it('takes the write lock when a transaction begins, so a read-then-write transaction is never overtaken', async () => {
    const first = open();
    const second = open();
    // Deferred transactions fail here with SQLITE_BUSY_SNAPSHOT: the first reads, the second
    // commits a write, then the first's write finds its snapshot out of date.
    const reader = first.db.transaction().execute(async (trx) => {
      const before = await trx.selectFrom('settings').select('key').execute();
      await sleep(50);
      await trx
        .insertInto('settings')
        .values({ key: 'read then written', value: String(before.length) })
        .execute();
    });
    await sleep(10);
    const writer = addSetting(second, 'written meanwhile');
    await Promise.all([reader, writer]);
    const keys = (await first.db.selectFrom('settings').select('key').execute()).map((row) => row.key);
    expect(keys).toEqual(expect.arrayContaining(['read then written', 'written meanwhile']));
  });

  it('answers a full disk with Unavailable, keeps nothing of the transaction, reports it until space is freed', async () => {
    const handle = open();
    await handle.ping();
    const pages = Number((await sql<{ page_count: number }>`pragma page_count`.execute(handle.db)).rows[0]!.page_count);
    await sql.raw(`pragma max_page_count = ${pages}`).execute(handle.db);

    const error = await handle.db
      .transaction()
      .execute(async (trx) => {
        await trx.insertInto('settings').values({ key: 'first half', value: 'v' }).execute();
        await trx
          .insertInto('settings')
          .values({ key: 'big', value: 'x'.repeat(200_000) })
          .execute();
      })
      .catch((caught: unknown) => caught);
    // Not "cannot rollback - no transaction is active": the full disk is what the caller learns.
    expect(error).toBeInstanceOf(Unavailable);
    expect((error as Error).message).toBe(DISK_FULL_MESSAGE);
    expect(await handle.db.selectFrom('settings').select('key').where('key', 'in', ['first half', 'big']).execute()).toEqual([]);
    await expect(handle.ping()).rejects.toThrow(DISK_FULL_MESSAGE);
    // A small write that fits in a page with room left does not make the file writable again.
    await handle.db.insertInto('settings').values({ key: 'small', value: 'v' }).execute();
    await sleep(1100);
    await expect(handle.ping()).rejects.toThrow(DISK_FULL_MESSAGE);

    await sql.raw(`pragma max_page_count = ${pages + 1000}`).execute(handle.db);
    // Readiness probes at most once a second.
    await sleep(1100);
    await handle.ping();
    await handle.db
      .insertInto('settings')
      .values({ key: 'big', value: 'x'.repeat(200_000) })
      .execute();
  });

  it('applies migrations once when processes start together on a new file', async () => {
    const fresh = join(dir, 'fresh.db');
    const handles = [0, 1, 2].map(() => openDatabase({ dialect: 'sqlite', path: fresh, url: `file:${fresh}` }));
    opened.push(...handles);
    const applied = await Promise.all(handles.map((handle) => migrateToLatest(handle)));
    expect(applied.flat().sort()).toEqual(Object.keys(migrations).sort());
  });
});
