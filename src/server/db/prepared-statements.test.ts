import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { CompiledQuery, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testDialects, type TestDatabase } from '../../../test/support/databases.js';
import { openDatabase, withStatementCache, type DatabaseHandle } from './database.js';
import { keepPrepared, NAMED_STATEMENTS_PER_CONNECTION, readAsArrays } from './named-statements.js';

describe('the SQLite statement cache', () => {
  let dir: string;
  let database: SqliteDatabase.Database;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'koios-statements-'));
    database = new SqliteDatabase(join(dir, 'koios.db'));
    database.exec('create table t (v integer)');
    database.exec('insert into t (v) values (1), (2), (3)');
  });
  afterAll(() => {
    database.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('hands back the statement it prepared for the same text', () => {
    const prepare = withStatementCache(database);
    const statement = prepare('select v from t where v > ?');
    expect(prepare('select v from t where v > ?')).toBe(statement);
    expect(prepare('select v from t where v > ?').all(1)).toEqual([{ v: 2 }, { v: 3 }]);
  });

  it('prepares a fresh statement for a text whose cached one is still being iterated', () => {
    const prepare = withStatementCache(database);
    const outer = prepare('select v from t order by v');
    const seen: number[][] = [];
    for (const row of outer.iterate() as Iterable<{ v: number }>) {
      const inner = prepare('select v from t order by v');
      expect(inner).not.toBe(outer);
      seen.push([row.v, (inner.all() as { v: number }[]).length]);
    }
    expect(seen).toEqual([
      [1, 3],
      [2, 3],
      [3, 3],
    ]);
  });

  it('keeps at most 256 statements, dropping the least recently used', () => {
    const prepare = withStatementCache(database);
    const first = prepare('select 0');
    const kept = prepare('select 1');
    for (let n = 2; n <= 256; n += 1) prepare(`select ${n}`);
    expect(prepare('select 1')).toBe(kept);
    expect(prepare('select 0')).not.toBe(first);
  });

  it('runs a cached statement against the schema after a change: SQLite prepares it again itself', () => {
    const prepare = withStatementCache(database);
    database.exec('create table changing (a integer)');
    database.exec('insert into changing (a) values (1)');
    const statement = prepare('select * from changing');
    expect(statement.all()).toEqual([{ a: 1 }]);
    database.exec("alter table changing add column b text default 'x'");
    expect(prepare('select * from changing')).toBe(statement);
    expect(prepare('select * from changing').all()).toEqual([{ a: 1, b: 'x' }]);
  });

  it('answers a statement marked for arrays with one array a row, in the order of its select list, and others with objects', async () => {
    const handle = openDatabase({ dialect: 'sqlite', path: join(dir, 'arrays.db'), url: `file:${join(dir, 'arrays.db')}` });
    try {
      await sql`create table a (v integer, w text)`.execute(handle.db);
      await sql`insert into a (v, w) values (1, 'one'), (2, null)`.execute(handle.db);
      const marked = readAsArrays(CompiledQuery.raw('select w, v from a where v >= ? order by v', [1]));
      for (let round = 0; round < 2; round += 1) {
        expect((await handle.db.executeQuery(marked)).rows).toEqual([
          ['one', 1],
          [null, 2],
        ]);
      }
      expect((await handle.db.executeQuery(CompiledQuery.raw('select w, v from a where v >= ? order by v desc', [2]))).rows).toEqual([{ w: null, v: 2 }]);
    } finally {
      await handle.close();
    }
  });

  it('keeps a writer a writer: a cached insert runs again and reports its change', async () => {
    const handle = openDatabase({ dialect: 'sqlite', path: join(dir, 'handle.db'), url: `file:${join(dir, 'handle.db')}` });
    try {
      await sql`create table w (v integer)`.execute(handle.db);
      for (const v of [1, 2]) {
        const result = await handle.db.executeQuery(CompiledQuery.raw('insert into w (v) values (?)', [v]));
        expect(result.numAffectedRows).toBe(1n);
      }
      const { rows } = await handle.db.executeQuery(CompiledQuery.raw('select v from w order by v'));
      expect(rows).toEqual([{ v: 1 }, { v: 2 }]);
    } finally {
      await handle.close();
    }
  });
});

const postgres = testDialects().includes('postgres');

describe.runIf(postgres)('named statements on PostgreSQL', () => {
  let database: TestDatabase;
  /** One connection, so that pg_prepared_statements shows the statements of the connection that ran them. */
  let single: DatabaseHandle;
  let other: DatabaseHandle;
  const otherSchema = () => `${database.location}_other`;

  const preparedOn = async (handle: DatabaseHandle) => {
    const { rows } = await sql<{ name: string; statement: string; executions: number }>`
      select name, statement, (generic_plans + custom_plans)::int as executions from pg_prepared_statements order by name`.execute(handle.db);
    return rows;
  };

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    await sql`create table t (v integer)`.execute(database.handle.db);
    await sql`insert into t (v) values (1), (2), (3)`.execute(database.handle.db);
    await sql`create schema ${sql.id(otherSchema())}`.execute(database.handle.db);
    await sql`create table ${sql.id(otherSchema(), 't')} (v integer)`.execute(database.handle.db);
    await sql`insert into ${sql.id(otherSchema(), 't')} (v) values (10), (20)`.execute(database.handle.db);
    single = openDatabase(database.config, { schema: database.location, pool: { size: 1, connectTimeoutMs: 30_000 } });
    other = openDatabase(database.config, { schema: otherSchema(), pool: { size: 1, connectTimeoutMs: 30_000 } });
  });
  afterAll(async () => {
    await single?.close();
    await other?.close();
    await sql`drop schema if exists ${sql.id(otherSchema())} cascade`.execute(database.handle.db);
    await database.drop();
  });

  it('parses a marked query once per connection and then only executes it, by name', async () => {
    const text = 'select v from t where v > $1 order by v';
    for (const [bound, expected] of [
      [0, [1, 2, 3]],
      [1, [2, 3]],
      [2, [3]],
    ] as const) {
      const { rows } = await single.db.executeQuery(keepPrepared(CompiledQuery.raw(text, [bound])));
      expect(rows.map((row) => (row as { v: number }).v)).toEqual(expected);
    }
    const statements = (await preparedOn(single)).filter((statement) => statement.statement === text);
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatchObject({ name: expect.stringMatching(/^koios_[0-9a-f]{16}_\d+$/), executions: 3 });
  });

  it('leaves queries that are not marked unnamed', async () => {
    await single.db.executeQuery(CompiledQuery.raw('select v from t where v < $1', [3]));
    expect((await preparedOn(single)).map((statement) => statement.statement)).not.toContain('select v from t where v < $1');
  });

  it("gives each pool's connections their own statements, planned against their own schema", async () => {
    const text = 'select sum(v)::int as total from t';
    for (let round = 0; round < 2; round += 1) {
      expect((await single.db.executeQuery(keepPrepared(CompiledQuery.raw(text)))).rows).toEqual([{ total: 6 }]);
      expect((await other.db.executeQuery(keepPrepared(CompiledQuery.raw(text)))).rows).toEqual([{ total: 30 }]);
    }
  });

  it('prepares a statement afresh when a migration has changed its result type', async () => {
    await sql`create table changing (a integer)`.execute(single.db);
    await sql`insert into changing (a) values (7)`.execute(single.db);
    const query = () => single.db.executeQuery(keepPrepared(CompiledQuery.raw('select a from changing')));
    expect((await query()).rows).toEqual([{ a: 7 }]);
    await sql`alter table changing alter column a type text`.execute(single.db);
    expect((await query()).rows).toEqual([{ a: '7' }]);
    expect((await query()).rows).toEqual([{ a: '7' }]);
    const names = (await preparedOn(single)).filter((statement) => statement.statement === 'select a from changing');
    expect(names.length).toBeGreaterThanOrEqual(1);
  });

  it(`makes at most ${NAMED_STATEMENTS_PER_CONNECTION} named statements on a connection, and runs the rest unnamed`, async () => {
    for (let n = 0; n < NAMED_STATEMENTS_PER_CONNECTION + 20; n += 1) {
      const { rows } = await single.db.executeQuery(keepPrepared(CompiledQuery.raw(`select max(v) + ${n} as top from t`)));
      expect(rows).toEqual([{ top: 3 + n }]);
    }
    const named = (await preparedOn(single)).filter((statement) => statement.name.startsWith('koios_'));
    expect(named.length).toBe(NAMED_STATEMENTS_PER_CONNECTION);
  });

  it('answers a statement marked for arrays with one array a row, named or past the named ones', async () => {
    const text = 'select v, v * 2 as twice from t where v >= $1 order by v';
    for (let round = 0; round < 2; round += 1) {
      const { rows } = await other.db.executeQuery(keepPrepared(readAsArrays(CompiledQuery.raw(text, [20]))));
      expect(rows).toEqual([[20, 40]]);
    }
    expect((await preparedOn(other)).filter((statement) => statement.statement === text)).toHaveLength(1);
    // `single` has made all its named statements (the test above): it runs the text unnamed, still as arrays.
    const { rows } = await single.db.executeQuery(keepPrepared(readAsArrays(CompiledQuery.raw(text, [2]))));
    expect(rows).toEqual([
      [2, 4],
      [3, 6],
    ]);
    expect((await preparedOn(single)).filter((statement) => statement.statement === text)).toHaveLength(0);
  });
});
