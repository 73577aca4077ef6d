import { type Kysely, PostgresAdapter, sql } from 'kysely';

/*
 * Workload identity federation: which outside identities (an OIDC issuer, an audience, a subject
 * or subject prefix, exact claim conditions) may exchange their token for one of the client's.
 * Read with the client's state by client id; the name is unique per client so an admin can tell
 * rules apart. Conditions are a JSON object of claim name to exact value, `{}` for none.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  const sortText = postgres ? sql`text collate "C"` : sql`text`;
  await db.schema
    .createTable('federated_credentials')
    .addColumn('id', sortText, (c) => c.primaryKey())
    .addColumn('client_id', sortText, (c) => c.notNull().references('api_clients.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('name_key', sortText, (c) => c.notNull())
    .addColumn('issuer', 'text', (c) => c.notNull())
    .addColumn('audience', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('conditions', 'text', (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('created_at', sortText, (c) => c.notNull())
    .addColumn('last_used_at', sortText)
    .execute();
  await db.schema.createIndex('federated_credentials_client_name_key').unique().on('federated_credentials').columns(['client_id', 'name_key']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('federated_credentials').execute();
}
