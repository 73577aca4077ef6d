import type { Executor } from '../../db/database.js';
import type { SessionsTable } from '../../db/schema.js';

/** The console sessions, by the hash of their cookie value (the value itself is never stored). */
export function createSessionsRepository(db: Executor) {
  return {
    async insert(row: SessionsTable): Promise<void> {
      await db.insertInto('sessions').values(row).execute();
    },
    /** The session and its user, or undefined. */
    async findByIdHash(idHash: string) {
      return db
        .selectFrom('sessions')
        .innerJoin('users', 'users.id', 'sessions.user_id')
        .select(['sessions.expires_at', 'users.id', 'users.email', 'users.name', 'users.enabled'])
        .where('sessions.id_hash', '=', idHash)
        .executeTakeFirst();
    },
    /** Ends one session; false if there was none. */
    async deleteByIdHash(idHash: string): Promise<boolean> {
      const result = await db.deleteFrom('sessions').where('id_hash', '=', idHash).executeTakeFirst();
      return result.numDeletedRows > 0n;
    },
    /** Ends every session of a user; returns how many there were. */
    async deleteAllOfUser(userId: string): Promise<number> {
      const result = await db.deleteFrom('sessions').where('user_id', '=', userId).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
    /** Sessions that ended at or before `now`. */
    async deleteExpired(now: string): Promise<void> {
      await db.deleteFrom('sessions').where('expires_at', '<=', now).execute();
    },
  };
}
