import type { Kysely } from 'kysely';

/*
 * A client secret's lifecycle: an optional expiry, and the secret it replaced kept working for a
 * chosen overlap so a rotation needs no downtime. Only the previous secret's keyed hash and hint
 * are stored, as for the current one; its generation is the current one less one (a regeneration
 * adds one), so tokens minted with it are told apart without a column of their own.
 * The index keeps the "expiring within" and "expired" list filters from scanning every client.
 */
export async function up(db: Kysely<any>): Promise<void> {
  for (const column of ['secret_expires_at', 'previous_secret_hash', 'previous_secret_hint', 'previous_secret_expires_at', 'previous_secret_last_used_at']) {
    await db.schema.alterTable('api_clients').addColumn(column, 'text').execute();
  }
  await db.schema.createIndex('api_clients_secret_expires_idx').on('api_clients').columns(['secret_expires_at', 'id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('api_clients_secret_expires_idx').execute();
  for (const column of ['previous_secret_last_used_at', 'previous_secret_expires_at', 'previous_secret_hint', 'previous_secret_hash', 'secret_expires_at']) {
    await db.schema.alterTable('api_clients').dropColumn(column).execute();
  }
}
