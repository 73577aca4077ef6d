import type { Executor } from '../../db/database.js';
import type { Database, UserRow, UsersTable } from '../../db/schema.js';
import { PostgresAdapter, sql, type Expression, type ExpressionBuilder, type SqlBool, type Updateable } from 'kysely';
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

const SETUP_TOKEN_SETTING = 'setup_token_sha256';
/** The PostgreSQL advisory lock that serializes changes which could remove the last Administrator, or create the first. */
const ADMINISTRATOR_GUARD_LOCK = 0x4b6f696f73;

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
    /** Enabled users holding the built-in Administrator role. */
    async countEnabledAdministrators(): Promise<number> {
      const row = await db
        .selectFrom('users')
        .innerJoin('user_roles', 'user_roles.user_id', 'users.id')
        .innerJoin('roles', 'roles.id', 'user_roles.role_id')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('roles.built_in', '=', 'Administrator')
        .where('users.enabled', '=', 1)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    /** On PostgreSQL, holds ADMINISTRATOR_GUARD_LOCK until the transaction ends; SQLite runs one write transaction at a time anyway. */
    async lockAdministratorChanges(): Promise<void> {
      if (db.getExecutor().adapter instanceof PostgresAdapter) await sql`select pg_advisory_xact_lock(${ADMINISTRATOR_GUARD_LOCK})`.execute(db);
    },
    /** The SHA-256 (base64url) of the one setup token issued, if any. */
    async findSetupTokenHash(): Promise<string | undefined> {
      const row = await db.selectFrom('settings').select('value').where('key', '=', SETUP_TOKEN_SETTING).executeTakeFirst();
      return row?.value;
    },
    /** Stores the hash of a new setup token; an older one stops working. */
    async saveSetupTokenHash(hash: string): Promise<void> {
      await db
        .insertInto('settings')
        .values({ key: SETUP_TOKEN_SETTING, value: hash })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value: hash }))
        .execute();
    },
    /** Consumes the setup token with this hash; false if it was gone (used meanwhile, or replaced). */
    async deleteSetupTokenHash(hash: string): Promise<boolean> {
      const result = await db.deleteFrom('settings').where('key', '=', SETUP_TOKEN_SETTING).where('value', '=', hash).executeTakeFirst();
      return Number(result.numDeletedRows) === 1;
    },
  };
}
