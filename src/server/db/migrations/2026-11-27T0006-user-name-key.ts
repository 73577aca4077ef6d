import type { Kysely } from 'kysely';

/*
 * A user's name lower-cased by the application, for search, as migration 0005 did for client
 * descriptions and for the same reason: SQLite's lower() folds ASCII only, so "élodie" found
 * "Élodie" on PostgreSQL but not on SQLite. Existing rows are filled in here, 500 at a time.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').addColumn('name_key', 'text').execute();
  let after = '';
  for (;;) {
    const rows: { id: string; name: string }[] = await db.selectFrom('users').select(['id', 'name']).where('id', '>', after).orderBy('id').limit(500).execute();
    if (rows.length === 0) return;
    for (const row of rows) {
      await db.updateTable('users').set({ name_key: row.name.toLowerCase() }).where('id', '=', row.id).execute();
    }
    after = rows.at(-1)!.id;
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('name_key').execute();
}
