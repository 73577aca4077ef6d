import type { Executor } from '../../db/database.js';
import { touchLatest } from '../../db/touch-latest.js';
import type { FederatedCredentialsTable } from '../../db/schema.js';

/** The federated credentials of API clients: queries only. */
export function createFederationRepository(db: Executor) {
  return {
    async listOf(clientId: string) {
      return db.selectFrom('federated_credentials').selectAll().where('client_id', '=', clientId).orderBy('created_at').orderBy('id').execute();
    },

    async listOfMany(clientIds: readonly string[]) {
      if (clientIds.length === 0) return [];
      return db.selectFrom('federated_credentials').selectAll().where('client_id', 'in', clientIds).orderBy('created_at').orderBy('id').execute();
    },

    async find(clientId: string, id: string) {
      return db.selectFrom('federated_credentials').selectAll().where('client_id', '=', clientId).where('id', '=', id).executeTakeFirst();
    },

    async findByName(clientId: string, nameKey: string) {
      return db.selectFrom('federated_credentials').select('id').where('client_id', '=', clientId).where('name_key', '=', nameKey).executeTakeFirst();
    },

    async insert(row: FederatedCredentialsTable): Promise<void> {
      await db.insertInto('federated_credentials').values(row).execute();
    },

    async delete(clientId: string, id: string): Promise<void> {
      await db.deleteFrom('federated_credentials').where('client_id', '=', clientId).where('id', '=', id).execute();
    },

    /** Writes coalesced last uses; never moves a time backwards. A credential removed meanwhile is simply not there. */
    async touchLastUsed(entries: ReadonlyMap<string, string>): Promise<void> {
      await touchLatest(db, 'federated_credentials', 'last_used_at', entries);
    },
  };
}
