import type { Executor } from '../../db/database.js';
import type { UserRow, UsersTable } from '../../db/schema.js';
import type { Updateable } from 'kysely';
import { chunks } from '../../db/pagination.js';

export function createUsersRepository(db: Executor) {
  return {
    async findById(id: string): Promise<UserRow | undefined> {
      return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    },
    async findByEmailKey(emailKey: string): Promise<UserRow | undefined> {
      return db.selectFrom('users').selectAll().where('email_key', '=', emailKey).executeTakeFirst();
    },
    async count(): Promise<number> {
      const row = await db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    /** Keyset page ordered by email. */
    async list(limit: number, afterEmailKey: string | null, afterId: string | null) {
      let select = db.selectFrom('users').selectAll();
      if (afterEmailKey !== null && afterId !== null) {
        select = select.where((eb) => eb.or([eb('email_key', '>', afterEmailKey), eb.and([eb('email_key', '=', afterEmailKey), eb('id', '>', afterId)])]));
      }
      const rows = await select
        .orderBy('email_key')
        .orderBy('id')
        .limit(limit + 1)
        .execute();
      return { rows: rows.slice(0, limit), hasMore: rows.length > limit };
    },
    async insert(row: UserRow): Promise<void> {
      await db.insertInto('users').values(row).execute();
    },
    async update(id: string, patch: Updateable<UsersTable>): Promise<void> {
      await db.updateTable('users').set(patch).where('id', '=', id).execute();
    },
    async delete(id: string): Promise<void> {
      await db.deleteFrom('users').where('id', '=', id).execute();
    },
    async rolesOf(userIds: readonly string[]) {
      const rows: { user_id: string; id: string; name: string; built_in: string | null; permissions: string }[] = [];
      for (const chunk of chunks(userIds)) {
        rows.push(
          ...(await db
            .selectFrom('user_roles')
            .innerJoin('roles', 'roles.id', 'user_roles.role_id')
            .select(['user_roles.user_id', 'roles.id', 'roles.name', 'roles.built_in', 'roles.permissions'])
            .where('user_roles.user_id', 'in', chunk)
            .orderBy('roles.name_key')
            .execute()),
        );
      }
      return rows;
    },
    async setRoles(userId: string, roleIds: readonly string[]): Promise<void> {
      await db.deleteFrom('user_roles').where('user_id', '=', userId).execute();
      if (roleIds.length > 0)
        await db
          .insertInto('user_roles')
          .values(roleIds.map((roleId) => ({ user_id: userId, role_id: roleId })))
          .execute();
    },
    async idsWithRole(roleId: string): Promise<string[]> {
      const rows = await db.selectFrom('user_roles').select('user_id').where('role_id', '=', roleId).execute();
      return rows.map((row) => row.user_id);
    },
  };
}
