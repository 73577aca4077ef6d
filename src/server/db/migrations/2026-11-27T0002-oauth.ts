import { type Kysely, PostgresAdapter, sql } from 'kysely';

/*
 * The token service's tables. Conventions as in the first migration (ISO text times, integer
 * booleans, JSON as text, "C" collation for keys on PostgreSQL).
 */
export async function up(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  const sortText = postgres ? sql`text collate "C"` : sql`text`;

  // Every change that caches must see, written in the transaction of the change itself. Other
  // processes catch up from it: on SQLite when the file's data_version moves, on PostgreSQL after
  // a LISTEN connection was lost (NOTIFY carries the news in the normal case).
  await db.schema
    .createTable('change_events')
    .addColumn('id', 'integer', (c) => (postgres ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey().autoIncrement()))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('entity_id', 'text', (c) => c.notNull())
    .addColumn('occurred_at', sortText, (c) => c.notNull())
    .execute();

  // Token signing keys, shared by every instance. The newest unretired key signs; retired keys
  // keep verifying until the longest token lifetime has passed.
  await db.schema
    .createTable('signing_keys')
    .addColumn('kid', sortText, (c) => c.primaryKey())
    .addColumn('alg', 'text', (c) => c.notNull())
    .addColumn('public_jwk', 'text', (c) => c.notNull())
    .addColumn('private_pem', 'text', (c) => c.notNull())
    .addColumn('created_at', sortText, (c) => c.notNull())
    .addColumn('retired_at', sortText)
    .execute();

  // Revoked access tokens until they would have expired anyway (RFC 7009).
  await db.schema
    .createTable('revoked_tokens')
    .addColumn('jti', sortText, (c) => c.primaryKey())
    .addColumn('client_id', sortText, (c) => c.notNull())
    .addColumn('expires_at', sortText, (c) => c.notNull())
    .addColumn('revoked_at', sortText, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('revoked_tokens_client_idx').on('revoked_tokens').columns(['client_id', 'expires_at']).execute();

  // Failed client authentications per key (a client id or an address) in fixed windows, updated
  // with one atomic upsert so parallel guesses on several instances are all counted.
  await db.schema
    .createTable('auth_throttle')
    .addColumn('key', sortText, (c) => c.primaryKey())
    .addColumn('window_start', sortText, (c) => c.notNull())
    .addColumn('failures', 'integer', (c) => c.notNull())
    .execute();

  // Why a client's authentications were refused, for its admins: a counter per reason.
  await db.schema
    .createTable('client_auth_failures')
    .addColumn('client_id', sortText, (c) => c.notNull().references('api_clients.id').onDelete('cascade'))
    .addColumn('reason', sortText, (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addColumn('last_at', sortText, (c) => c.notNull())
    .addPrimaryKeyConstraint('client_auth_failures_pk', ['client_id', 'reason'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['client_auth_failures', 'auth_throttle', 'revoked_tokens', 'signing_keys', 'change_events']) {
    await db.schema.dropTable(table).execute();
  }
}
