import type { Executor } from '../../db/database.js';
import { touchLatest } from '../../db/touch-latest.js';
import type { ClientPublicKeysTable } from '../../db/schema.js';
import { chunks } from '../../db/pagination.js';

const keyColumns = ['id', 'client_id', 'kid', 'alg', 'thumbprint', 'added_at', 'last_used_at'] as const;

/** The public keys of private_key_jwt clients. */
export function createClientKeysRepository(db: Executor) {
  return {
    /** The keys of these clients, oldest first, without the JWKs themselves. */
    async listOf(clientIds: readonly string[]) {
      const rows = [];
      for (const chunk of chunks(clientIds, 500)) {
        rows.push(
          ...(await db.selectFrom('client_public_keys').select(keyColumns).where('client_id', 'in', chunk).orderBy('added_at').orderBy('id').execute()),
        );
      }
      return rows;
    },

    /** Every key of one client with its JWK, for the authentication cache. */
    async jwksOf(clientId: string) {
      return db.selectFrom('client_public_keys').select(['id', 'kid', 'alg', 'public_jwk']).where('client_id', '=', clientId).orderBy('added_at').execute();
    },

    async insert(row: ClientPublicKeysTable): Promise<void> {
      await db.insertInto('client_public_keys').values(row).execute();
    },

    /** Removes one key by kid; the removed row, or undefined when the client has no such key. */
    async delete(clientId: string, kid: string) {
      const row = await db.selectFrom('client_public_keys').select(keyColumns).where('client_id', '=', clientId).where('kid', '=', kid).executeTakeFirst();
      if (row !== undefined) await db.deleteFrom('client_public_keys').where('id', '=', row.id).execute();
      return row;
    },

    /** Writes coalesced last uses by key id; never moves a time backwards. */
    async touchLastUsed(entries: ReadonlyMap<string, string>): Promise<void> {
      await touchLatest(db, 'client_public_keys', 'last_used_at', entries);
    },
  };
}
