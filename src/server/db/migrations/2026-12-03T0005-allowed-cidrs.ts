import { sql, type Kysely } from 'kysely';

/*
 * Where a client may call from: a JSON array of canonical CIDR ranges (`["10.0.0.0/8"]`); the
 * empty array, every existing client's value, means anywhere. Read with the client's state, never
 * searched, so it needs no index.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('api_clients')
    .addColumn('allowed_cidrs', 'text', (column) => column.notNull().defaultTo(sql`'[]'`))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('api_clients').dropColumn('allowed_cidrs').execute();
}
