import type { Kysely } from 'kysely';

/*
 * DPoP (RFC 9449): a client may be required to bind its tokens to a key it proves on every
 * request. 0 (every existing client's value) means DPoP is optional for it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('api_clients')
    .addColumn('require_dpop', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('api_clients').dropColumn('require_dpop').execute();
}
