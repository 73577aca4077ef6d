import { type Kysely, PostgresAdapter, sql } from 'kysely';

/*
 * How values are stored, the same on both dialects so that one query layer serves both:
 * - Times: ISO 8601 UTC text with milliseconds (`2026-11-27T05:28:46.123Z`). Fixed width, so text
 *   order is time order; the API emits them as they are; no driver-specific date parsing.
 * - Booleans: integer 0/1 (SQLite has no boolean; PostgreSQL's would come back as true/false).
 * - JSON: text, parsed by the repositories (small documents, never queried inside).
 * - Sort keys (`name_key`, `id`, times) use the "C" collation on PostgreSQL, so the order, and
 *   therefore keyset pagination, is byte order on both dialects whatever the database's locale.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  const sortText = postgres ? sql`text collate "C"` : sql`text`;

  await db.schema
    .createTable('settings')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('roles')
    .addColumn('id', sortText, (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('name_key', sortText, (c) => c.notNull().unique())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('built_in', 'text', (c) => c.unique())
    .addColumn('permissions', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('created_at', sortText, (c) => c.notNull())
    .addColumn('updated_at', sortText, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('api_clients')
    .addColumn('id', sortText, (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('name_key', sortText, (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('role_id', sortText, (c) => c.references('roles.id').onDelete('set null'))
    .addColumn('secret_hash', 'text', (c) => c.notNull())
    .addColumn('secret_hint', 'text', (c) => c.notNull())
    .addColumn('secret_generation', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('last_used_at', sortText)
    .addColumn('created_at', sortText, (c) => c.notNull())
    .addColumn('updated_at', sortText, (c) => c.notNull())
    .execute();
  // Keyset pagination: one index per sort order, the id as tie-breaker. "Never used" sorts as ''.
  await db.schema.createIndex('api_clients_name_idx').on('api_clients').columns(['name_key', 'id']).execute();
  await db.schema.createIndex('api_clients_created_idx').on('api_clients').columns(['created_at', 'id']).execute();
  await sql`create index api_clients_last_used_idx on api_clients ((coalesce(last_used_at, '')), id)`.execute(db);
  await db.schema.createIndex('api_clients_role_idx').on('api_clients').column('role_id').execute();

  await db.schema
    .createTable('users')
    .addColumn('id', sortText, (c) => c.primaryKey())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('email_key', sortText, (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('last_login_at', sortText)
    .addColumn('created_at', sortText, (c) => c.notNull())
    .addColumn('updated_at', sortText, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('user_roles')
    .addColumn('user_id', sortText, (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('role_id', sortText, (c) => c.notNull().references('roles.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('user_roles_pk', ['user_id', 'role_id'])
    .execute();
  await db.schema.createIndex('user_roles_role_idx').on('user_roles').column('role_id').execute();

  await db.schema
    .createTable('audit_events')
    .addColumn('id', 'integer', (c) => (postgres ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey().autoIncrement()))
    .addColumn('occurred_at', sortText, (c) => c.notNull())
    .addColumn('actor_type', 'text', (c) => c.notNull())
    .addColumn('actor_id', sortText)
    .addColumn('actor_name', 'text', (c) => c.notNull())
    .addColumn('action', sortText, (c) => c.notNull())
    .addColumn('target_type', 'text')
    .addColumn('target_id', sortText)
    .addColumn('target_name', 'text')
    .addColumn('details', 'text', (c) => c.notNull().defaultTo('{}'))
    .execute();
  await db.schema.createIndex('audit_events_target_idx').on('audit_events').columns(['target_id', 'id']).execute();
  await db.schema.createIndex('audit_events_actor_idx').on('audit_events').columns(['actor_id', 'id']).execute();
  await db.schema.createIndex('audit_events_action_idx').on('audit_events').columns(['action', 'id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['audit_events', 'user_roles', 'users', 'api_clients', 'roles', 'settings']) {
    await db.schema.dropTable(table).execute();
  }
}
