import type { Kysely } from 'kysely';

/*
 * Signing keys are stored sealed under the master key, no longer as PEM: the column is renamed
 * for what it holds. Rows written before hold plaintext PEM until the first start with a master
 * key seals the database (sealed-keys.ts), which replaces such keys as exposed.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('signing_keys').renameColumn('private_pem', 'private_key').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('signing_keys').renameColumn('private_key', 'private_pem').execute();
}
