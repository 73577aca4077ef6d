import { type Kysely, PostgresAdapter, sql } from 'kysely';

/*
 * Clients that hold no shared secret (RFC 7523 §2.2): how a client authenticates, the public keys
 * of the ones that sign assertions, and the assertion ids already accepted. Conventions as in the
 * first migration (ISO text times, JSON as text, "C" collation for keys on PostgreSQL).
 */
export async function up(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  const sortText = postgres ? sql`text collate "C"` : sql`text`;

  await db.schema
    .alterTable('api_clients')
    .addColumn('auth_method', 'text', (column) => column.notNull().defaultTo(sql`'client_secret'`))
    .execute();

  // Public JWKs only (the private members are refused before anything is written). `id` is ours
  // and goes into the tokens a key authenticated, so removing the key kills them even if the same
  // kid or the same key comes back later.
  await db.schema
    .createTable('client_public_keys')
    .addColumn('id', sortText, (c) => c.primaryKey())
    .addColumn('client_id', sortText, (c) => c.notNull().references('api_clients.id').onDelete('cascade'))
    .addColumn('kid', sortText, (c) => c.notNull())
    .addColumn('alg', 'text', (c) => c.notNull())
    .addColumn('thumbprint', sortText, (c) => c.notNull())
    .addColumn('public_jwk', 'text', (c) => c.notNull())
    .addColumn('added_at', sortText, (c) => c.notNull())
    .addColumn('last_used_at', sortText)
    .addUniqueConstraint('client_public_keys_kid_key', ['client_id', 'kid'])
    .addUniqueConstraint('client_public_keys_thumbprint_key', ['client_id', 'thumbprint'])
    .execute();

  // RFC 7523 §3: an assertion's jti is accepted once. The unique key makes that hold across every
  // instance; a row is needed only until the assertion would have expired (housekeeping prunes).
  await db.schema
    .createTable('client_assertion_jtis')
    .addColumn('client_id', sortText, (c) => c.notNull())
    .addColumn('jti', sortText, (c) => c.notNull())
    .addColumn('expires_at', sortText, (c) => c.notNull())
    .addPrimaryKeyConstraint('client_assertion_jtis_pk', ['client_id', 'jti'])
    .execute();
  await db.schema.createIndex('client_assertion_jtis_expires_idx').on('client_assertion_jtis').column('expires_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('client_assertion_jtis').execute();
  await db.schema.dropTable('client_public_keys').execute();
  await db.schema.alterTable('api_clients').dropColumn('auth_method').execute();
}
