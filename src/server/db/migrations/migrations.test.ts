import { Migrator, sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testDialects, type TestDatabase } from '../../../../test/support/databases.js';
import { clientRow, insertClientRows } from '../../../../test/support/client-rows.js';
import { migrations } from './index.js';

describe.each(testDialects())('migrations on %s', (dialect) => {
  let database: TestDatabase;
  let migrator: Migrator;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    migrator = new Migrator({
      db: database.handle.db,
      provider: { getMigrations: async () => migrations },
      ...(dialect === 'postgres' ? { migrationTableSchema: database.location } : {}),
    });
  });
  afterAll(async () => {
    await database.drop();
  });

  it('go down to the sessions migration and up again, filling counts and search keys for rows written in between', async () => {
    const down = await migrator.migrateTo('2026-11-27T0003-sessions');
    expect(down.error).toBeUndefined();
    const db = database.handle.db as unknown as Kysely<any>;
    const now = new Date().toISOString();
    // More than one backfill page of 500, without the description_key migration 0005 adds and fills.
    const rows = Array.from({ length: 620 }, (_, n) => clientRow(n, { description: n % 2 === 0 ? `ÉCOLE Straße ${n}` : null, enabled: n % 3 !== 0 }));
    await insertClientRows(
      db,
      dialect,
      rows.map(({ description_key: _descriptionKey, ...row }) => row),
    );

    await db
      .insertInto('users')
      .values({
        id: '00000000-0000-4000-8000-0000000000aa',
        email: 'e@x.test',
        email_key: 'e@x.test',
        name: 'Élodie Ünal',
        password_hash: 'x',
        enabled: 1,
        last_login_at: null,
        created_at: now,
        updated_at: now,
      })
      .execute();

    const up = await migrator.migrateToLatest();
    expect(up.error).toBeUndefined();
    expect(up.results?.map((result) => result.migrationName)).toEqual(Object.keys(migrations).slice(3));

    const counts = await db.selectFrom('client_counts').select(['total', 'enabled']).executeTakeFirstOrThrow();
    expect({ total: Number(counts.total), enabled: Number(counts.enabled) }).toEqual({ total: 620, enabled: 620 - Math.ceil(620 / 3) });
    const keys = await db.selectFrom('api_clients').select(['description', 'description_key']).execute();
    for (const key of keys) expect(key.description_key).toBe(key.description === null ? null : key.description.toLowerCase());
    const found = await sql<{ n: number | string }>`select count(*) as n from api_clients where description_key like ${'%école straße 1%'}`.execute(db);
    expect(Number(found.rows[0]!.n)).toBe(keys.filter((key) => key.description?.startsWith('ÉCOLE Straße 1')).length);
    const user = await db.selectFrom('users').select('name_key').where('email_key', '=', 'e@x.test').executeTakeFirstOrThrow();
    expect(user.name_key).toBe('élodie ünal');
  });

  // Other processes create and drop schemas beside this one (every test file has its own); a
  // lookup that read them all failed when one vanished mid-query.
  it.runIf(dialect === 'postgres')('looks for the migration tables in its own schema only', async () => {
    const other = `${database.location}_other`;
    const db = database.handle.db as unknown as Kysely<any>;
    await sql`create schema ${sql.id(other)}`.execute(db);
    try {
      await sql`create table ${sql.id(other, 'kysely_migration')} (name text)`.execute(db);
      const tables = await db.introspection.getTables({ withInternalKyselyTables: true });
      expect(new Set(tables.map((table) => table.schema))).toEqual(new Set([database.location]));
      expect(tables.map((table) => table.name)).toContain('kysely_migration');
    } finally {
      await sql`drop schema ${sql.id(other)} cascade`.execute(db);
    }
  });
});
