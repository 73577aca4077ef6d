import { PostgresAdapter, sql } from 'kysely';
import type { Executor } from '../../db/database.js';
import type { SigningKeyRow } from '../../db/schema.js';

/** The PostgreSQL advisory lock under which the first signing key is made. */
const FIRST_KEY_LOCK = 0x4b6f696f74;

/** The token signing keys, their private halves sealed under the master key. */
export function createSigningKeysRepository(db: Executor) {
  return {
    /** The active key and those retired after `retiredAfter`, newest first. */
    async listUsable(retiredAfter: string): Promise<SigningKeyRow[]> {
      return db
        .selectFrom('signing_keys')
        .selectAll()
        .where((eb) => eb.or([eb('retired_at', 'is', null), eb('retired_at', '>', retiredAfter)]))
        .orderBy('created_at', 'desc')
        .orderBy('kid', 'desc')
        .execute();
    },
    /** On PostgreSQL, holds FIRST_KEY_LOCK until the transaction ends; SQLite runs one write transaction at a time anyway. */
    async lockFirstKey(): Promise<void> {
      if (db.getExecutor().adapter instanceof PostgresAdapter) await sql`select pg_advisory_xact_lock(${FIRST_KEY_LOCK})`.execute(db);
    },
    async hasActive(): Promise<boolean> {
      return (await db.selectFrom('signing_keys').select('kid').where('retired_at', 'is', null).executeTakeFirst()) !== undefined;
    },
    async insert(row: SigningKeyRow): Promise<void> {
      await db.insertInto('signing_keys').values(row).execute();
    },
    /** Retires the active key (or keys) at `at`; returns their kids. */
    async retireActive(at: string): Promise<string[]> {
      const rows = await db.updateTable('signing_keys').set({ retired_at: at }).where('retired_at', 'is', null).returning('kid').execute();
      return rows.map((row) => row.kid);
    },
  };
}
