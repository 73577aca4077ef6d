import type { Executor } from '../../db/database.js';
import type { Database, UserRow, UsersTable } from '../../db/schema.js';
import { sql, type Expression, type ExpressionBuilder, type SqlBool, type Updateable } from 'kysely';
import { chunks, containsPattern } from '../../db/pagination.js';

export interface UserListQuery {
  readonly limit: number;
  /** The email key and id of the last user of the previous page. */
  readonly after: { readonly emailKey: string; readonly id: string } | null;
  /** Part of the name or the email, any case; null for every user. */
  readonly search: string | null;
}

/**
 * The users a search matches: its text anywhere in the email or the name, both lower-cased by the
 * service (email_key, name_key), so case folds the same way on SQLite and PostgreSQL.
 */
function matching(eb: ExpressionBuilder<Database, 'users'>, search: string | null): Expression<SqlBool> {
  if (search === null || search.length === 0) return eb.and([]);
  const pattern = containsPattern(search);
  return eb.or([sql<SqlBool>`users.email_key like ${pattern} escape '\\'`, sql<SqlBool>`coalesce(users.name_key, '') like ${pattern} escape '\\'`]);
}

export function createUsersRepository(db: Executor) {
  return {
    async findById(id: string): Promise<UserRow | undefined> {
      return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    },
    async findByEmailKey(emailKey: string): Promise<UserRow | undefined> {
      return db.selectFrom('users').selectAll().where('email_key', '=', emailKey).executeTakeFirst();
    },
    /** How many users there are, or how many a search matches. */
    async count(search: string | null = null): Promise<number> {
      const row = await db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where((eb) => matching(eb, search))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    /** Keyset page ordered by email. */
    async list(query: UserListQuery) {
      let select = db
        .selectFrom('users')
        .selectAll()
        .where((eb) => matching(eb, query.search));
      if (query.after !== null) {
        const { emailKey, id } = query.after;
        select = select.where((eb) => eb.or([eb('email_key', '>', emailKey), eb.and([eb('email_key', '=', emailKey), eb('id', '>', id)])]));
      }
      const rows = await select
        .orderBy('email_key')
        .orderBy('id')
        .limit(query.limit + 1)
        .execute();
      return { rows: rows.slice(0, query.limit), hasMore: rows.length > query.limit };
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
  };
}
