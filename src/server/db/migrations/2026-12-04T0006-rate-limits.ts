import type { Kysely } from 'kysely';

/*
 * Per-client rate limits: two nullable columns on the client (null, every existing client's value,
 * means no limit), read with the client's cached state.
 *
 * And `rate_limit_counts`: what every instance admitted per client, kind (`requests`, `tokens`) and
 * one-minute window, added to by each instance about once a second and read back whole, so the
 * instances share their counts without a write per request. The window (minutes since the epoch)
 * leads the key: the read-back and the pruning take one window or the ones before it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('api_clients').addColumn('rate_limit_requests_per_minute', 'integer').execute();
  await db.schema.alterTable('api_clients').addColumn('rate_limit_tokens_per_minute', 'integer').execute();
  await db.schema
    .createTable('rate_limit_counts')
    .addColumn('window_minute', 'integer', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('rate_limit_counts_pk', ['window_minute', 'client_id', 'kind'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('rate_limit_counts').execute();
  await db.schema.alterTable('api_clients').dropColumn('rate_limit_tokens_per_minute').execute();
  await db.schema.alterTable('api_clients').dropColumn('rate_limit_requests_per_minute').execute();
}
