import { type Kysely, PostgresAdapter, sql } from 'kysely';

/*
 * Per-client usage by hour, and each client's latest refusals. No foreign key to api_clients: the
 * installation's totals keep a deleted client's past, and refusals of an unknown client id are
 * counted under the nil UUID. Rows older than the retention are pruned hourly.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  const sortText = postgres ? sql`text collate "C"` : sql`text`;

  // One counter per client, hour (ISO start of the hour) and kind: tokens, rest, graphql, or a
  // refusal reason. Instances add to it with one upsert, so several count into the same row.
  await db.schema
    .createTable('client_usage')
    .addColumn('client_id', sortText, (c) => c.notNull())
    .addColumn('hour', sortText, (c) => c.notNull())
    .addColumn('kind', sortText, (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('client_usage_pk', ['client_id', 'hour', 'kind'])
    .execute();
  // The installation's totals and the retention pruning read by hour across clients.
  await db.schema.createIndex('client_usage_hour_idx').on('client_usage').columns(['hour', 'kind']).execute();

  // The latest refusals of each client (time, reason, address), kept to the newest hundred.
  await db.schema
    .createTable('client_refusals')
    .addColumn('id', 'integer', (c) => (postgres ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey().autoIncrement()))
    .addColumn('client_id', sortText, (c) => c.notNull())
    .addColumn('at', sortText, (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('address', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('client_refusals_client_idx').on('client_refusals').columns(['client_id', 'at', 'id']).execute();
  await db.schema.createIndex('client_refusals_at_idx').on('client_refusals').column('at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('client_refusals').execute();
  await db.schema.dropTable('client_usage').execute();
}
