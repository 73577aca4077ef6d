import { type Kysely, PostgresAdapter, sql } from 'kysely';

/*
 * Throttle counters that reserve before they check. A row per key (an address, a subject, or the
 * pair of both) now holds, in its window: `failures` (checked and wrong), `pending` (reserved, being
 * checked now) and `spares` (reserved by an instance after a success and kept for the next request
 * of the same pair, so the success path does not write each time).
 *
 * And `audit_aggregates`: the one audit entry that counts repeats of something (a failed sign-in of
 * one account) within a window, so a flood updates one entry instead of adding one per attempt.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  const sortText = postgres ? sql`text collate "C"` : sql`text`;
  await db.schema
    .alterTable('auth_throttle')
    .addColumn('pending', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable('auth_throttle')
    .addColumn('spares', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .createTable('audit_aggregates')
    .addColumn('key', sortText, (c) => c.primaryKey())
    .addColumn('window_start', sortText, (c) => c.notNull())
    .addColumn('event_id', 'integer', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('audit_aggregates').execute();
  await db.schema.alterTable('auth_throttle').dropColumn('spares').execute();
  await db.schema.alterTable('auth_throttle').dropColumn('pending').execute();
}
