import type { Kysely } from 'kysely';

/*
 * A client's description lower-cased by the application, like `name_key`, for search. Searching
 * `lower(description)` differed by dialect: SQLite's lower() folds ASCII only, so "école" did not
 * find "ÉCOLE" there while it did on PostgreSQL. Now both compare the same JavaScript-lowered text
 * with the same JavaScript-lowered pattern. Existing rows are filled in here, in pages.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('api_clients').addColumn('description_key', 'text').execute();
  let after = '';
  for (;;) {
    const rows: { id: string; description: string }[] = await db
      .selectFrom('api_clients')
      .select(['id', 'description'])
      .where('description', 'is not', null)
      .where('id', '>', after)
      .orderBy('id')
      .limit(500)
      .execute();
    if (rows.length === 0) break;
    for (const row of rows) {
      await db.updateTable('api_clients').set({ description_key: row.description.toLowerCase() }).where('id', '=', row.id).execute();
    }
    after = rows.at(-1)!.id;
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('api_clients').dropColumn('description_key').execute();
}
