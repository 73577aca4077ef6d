import type { Executor } from '../../db/database.js';
import type { RoleRow } from '../../db/schema.js';
import { chunks } from '../../db/pagination.js';

export function createRolesRepository(db: Executor) {
  return {
    async findById(id: string): Promise<RoleRow | undefined> {
      return db.selectFrom('roles').selectAll().where('id', '=', id).executeTakeFirst();
    },
    /** The id of a built-in role; they always exist (created at start). */
    async builtInId(builtIn: string): Promise<string> {
      const row = await db.selectFrom('roles').select('id').where('built_in', '=', builtIn).executeTakeFirstOrThrow();
      return row.id;
    },
    async findByNameKey(nameKey: string): Promise<RoleRow | undefined> {
      return db.selectFrom('roles').selectAll().where('name_key', '=', nameKey).executeTakeFirst();
    },
    async findByIds(ids: readonly string[]): Promise<RoleRow[]> {
      const rows: RoleRow[] = [];
      for (const chunk of chunks(ids)) rows.push(...(await db.selectFrom('roles').selectAll().where('id', 'in', chunk).execute()));
      return rows;
    },
    async list(): Promise<RoleRow[]> {
      return db.selectFrom('roles').selectAll().orderBy('name_key').orderBy('id').execute();
    },
    async insert(row: RoleRow): Promise<void> {
      await db.insertInto('roles').values(row).execute();
    },
    /** Inserts unless a role with the same built-in marker exists (concurrent starts are safe). */
    async insertBuiltInIfMissing(row: RoleRow): Promise<void> {
      await db
        .insertInto('roles')
        .values(row)
        .onConflict((oc) => oc.doNothing())
        .execute();
    },
    async update(id: string, patch: Partial<Pick<RoleRow, 'name' | 'name_key' | 'description' | 'permissions' | 'updated_at'>>): Promise<void> {
      await db.updateTable('roles').set(patch).where('id', '=', id).execute();
    },
    async delete(id: string): Promise<void> {
      await db.deleteFrom('roles').where('id', '=', id).execute();
    },
    async usage(id: string): Promise<{ clients: number; users: number }> {
      const clients = await db
        .selectFrom('api_clients')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('role_id', '=', id)
        .executeTakeFirstOrThrow();
      const users = await db
        .selectFrom('user_roles')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('role_id', '=', id)
        .executeTakeFirstOrThrow();
      return { clients: Number(clients.n), users: Number(users.n) };
    },
  };
}

export type RolesRepository = ReturnType<typeof createRolesRepository>;
