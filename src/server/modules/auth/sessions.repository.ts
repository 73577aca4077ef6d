import type { Executor } from '../../db/database.js';

/** The console sessions table, for the services that end sessions inside their own transaction. */
export function createSessionsRepository(db: Executor) {
  return {
    /** Ends every session of a user; returns how many there were. */
    async deleteAllOfUser(userId: string): Promise<number> {
      const result = await db.deleteFrom('sessions').where('user_id', '=', userId).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
