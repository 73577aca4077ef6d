import { type Kysely, PostgresAdapter, sql } from 'kysely';

/*
 * Console sessions, kept on the server so that signing out, disabling a user or deleting one ends
 * them at once. Only a hash of the session token is stored. Conventions as in the first
 * migration.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  const sortText = postgres ? sql`text collate "C"` : sql`text`;
  await db.schema
    .createTable('sessions')
    .addColumn('id_hash', sortText, (c) => c.primaryKey())
    .addColumn('user_id', sortText, (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', sortText, (c) => c.notNull())
    .addColumn('expires_at', sortText, (c) => c.notNull())
    .addColumn('address', 'text')
    .addColumn('user_agent', 'text')
    .execute();
  await db.schema.createIndex('sessions_user_idx').on('sessions').column('user_id').execute();
  await db.schema.createIndex('sessions_expires_idx').on('sessions').column('expires_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('sessions').execute();
}
