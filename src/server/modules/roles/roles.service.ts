import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { requireHoldsAll, requirePermission, type Actor } from '../../actor.js';
import type { ChangeFeed } from '../../changes.js';
import type { Clock } from '../../clock.js';
import { conflictOnDuplicate } from '../../db/constraint-errors.js';
import type { Executor } from '../../db/database.js';
import type { Database, RoleRow } from '../../db/schema.js';
import { Conflict, NotFound, ProblemCollector } from '../../errors.js';
import { descriptionProblem, nameProblem, normalizeName, UUID_PATTERN } from '../../../shared/limits.js';
import { BUILT_IN_ROLES, isPermissionKey, sortPermissionKeys, type PermissionKey } from '../../../shared/permissions.js';
import { findByIdOrThrow } from '../../ids.js';
import { recordAudit } from '../audit/audit.service.js';
import { permissionsOfRole } from './permissions.js';
import { createRolesRepository } from './roles.repository.js';
import type { Role } from '../../../shared/schemas/roles.js';

export type { Role };

export interface RoleInput {
  readonly name: string;
  readonly description?: string | null;
  readonly permissions: readonly string[];
}

export type RolePatch = Partial<RoleInput>;

export function toRole(row: RoleRow): Role {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    builtIn: row.built_in !== null,
    permissions: permissionsOfRole(row),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function checkPermissionKeys(keys: unknown, problems: ProblemCollector): PermissionKey[] {
  if (!Array.isArray(keys)) {
    problems.add('permissions', 'must be a list of permission keys');
    return [];
  }
  keys.forEach((key, index) => {
    if (typeof key !== 'string' || !isPermissionKey(key)) problems.add(`permissions[${index}]`, `is not a permission in the catalog (${String(key)})`);
  });
  return sortPermissionKeys(keys.filter((key): key is PermissionKey => typeof key === 'string' && isPermissionKey(key)));
}

export function createRolesService(deps: { db: Kysely<Database>; clock: Clock; changes: ChangeFeed }) {
  const { db, clock, changes } = deps;

  const findRow = (executor: Executor, id: string): Promise<RoleRow> => findByIdOrThrow((key) => createRolesRepository(executor).findById(key), id, 'role');

  async function assertNameFree(executor: Executor, nameKey: string, exceptId: string | null): Promise<void> {
    const existing = await createRolesRepository(executor).findByNameKey(nameKey);
    if (existing !== undefined && existing.id !== exceptId) throw new Conflict(`a role named "${existing.name}" already exists`);
  }

  return {
    /** Creates the built-in roles if missing; idempotent and safe for concurrent starts. */
    async ensureBuiltIns(): Promise<void> {
      const at = clock.now().toISOString();
      for (const [key, role] of Object.entries(BUILT_IN_ROLES)) {
        await createRolesRepository(db).insertBuiltInIfMissing({
          id: randomUUID(),
          name: role.name,
          name_key: role.name.toLowerCase(),
          description: role.description,
          built_in: key,
          permissions: '[]',
          created_at: at,
          updated_at: at,
        });
      }
    },

    async list(actor: Actor): Promise<Role[]> {
      requirePermission(actor, 'roles:read');
      return (await createRolesRepository(db).list()).map(toRole);
    },

    async get(actor: Actor, id: string): Promise<Role> {
      requirePermission(actor, 'roles:read');
      return toRole(await findRow(db, id));
    },

    /** A role by id or by name (case-insensitive), for the CLI's `--role`. */
    async resolve(actor: Actor, idOrName: string): Promise<Role> {
      requirePermission(actor, 'roles:read');
      const repository = createRolesRepository(db);
      const row = UUID_PATTERN.test(idOrName)
        ? await repository.findById(idOrName.toLowerCase())
        : await repository.findByNameKey(normalizeName(idOrName).toLowerCase());
      if (row === undefined) throw new NotFound('role', idOrName);
      return toRole(row);
    },

    async create(actor: Actor, input: RoleInput): Promise<Role> {
      requirePermission(actor, 'roles:write');
      const problems = new ProblemCollector();
      problems.add('name', typeof input.name === 'string' ? nameProblem(input.name) : 'must be a string');
      const description = input.description ?? '';
      problems.add('description', typeof description === 'string' ? descriptionProblem(description) : 'must be a string');
      const permissions = checkPermissionKeys(input.permissions, problems);
      problems.throwIfAny();
      requireHoldsAll(actor, permissions, 'this role');

      const name = normalizeName(input.name);
      const at = clock.now().toISOString();
      const row: RoleRow = {
        id: randomUUID(),
        name,
        name_key: name.toLowerCase(),
        description,
        built_in: null,
        permissions: JSON.stringify(permissions),
        created_at: at,
        updated_at: at,
      };
      await db.transaction().execute(async (trx) => {
        await assertNameFree(trx, row.name_key, null);
        await createRolesRepository(trx)
          .insert(row)
          .catch(conflictOnDuplicate(`a role named "${name}" already exists`));
        await recordAudit(trx, clock, actor, [{ action: 'role.created', target: { type: 'role', id: row.id, name }, details: { permissions } }]);
      });
      return toRole(row);
    },

    async update(actor: Actor, id: string, patch: RolePatch): Promise<Role> {
      requirePermission(actor, 'roles:write');
      const problems = new ProblemCollector();
      if (patch.name !== undefined) problems.add('name', typeof patch.name === 'string' ? nameProblem(patch.name) : 'must be a string');
      if (patch.description !== undefined && patch.description !== null)
        problems.add('description', typeof patch.description === 'string' ? descriptionProblem(patch.description) : 'must be a string');
      const permissions = patch.permissions === undefined ? undefined : checkPermissionKeys(patch.permissions, problems);
      problems.throwIfAny();

      const updated = await changes.transaction(async (trx, recordChange) => {
        const row = await findRow(trx, id);
        recordChange({ kind: 'role', id: row.id });
        if (row.built_in !== null) throw new Conflict(`the built-in role ${row.name} cannot be changed`);
        // Editing a role changes what everyone holding it may do: the editor must hold the role as
        // it is and as it will be.
        requireHoldsAll(actor, [...permissionsOfRole(row), ...(permissions ?? [])], 'this role');
        const name = patch.name === undefined ? row.name : normalizeName(patch.name);
        const next: RoleRow = {
          ...row,
          name,
          name_key: name.toLowerCase(),
          description: patch.description === undefined ? row.description : (patch.description ?? ''),
          permissions: permissions === undefined ? row.permissions : JSON.stringify(permissions),
          updated_at: clock.now().toISOString(),
        };
        if (next.name_key !== row.name_key) await assertNameFree(trx, next.name_key, row.id);
        await createRolesRepository(trx)
          .update(row.id, {
            name: next.name,
            name_key: next.name_key,
            description: next.description,
            permissions: next.permissions,
            updated_at: next.updated_at,
          })
          .catch(conflictOnDuplicate(`a role named "${name}" already exists`));
        const changed: Record<string, unknown> = {};
        if (next.name !== row.name) changed['name'] = { from: row.name, to: next.name };
        if (next.description !== row.description) changed['description'] = true;
        if (next.permissions !== row.permissions) changed['permissions'] = { from: permissionsOfRole(row), to: permissionsOfRole(next) };
        await recordAudit(trx, clock, actor, [{ action: 'role.updated', target: { type: 'role', id: row.id, name: next.name }, details: changed }]);
        return next;
      });
      return toRole(updated);
    },

    /**
     * Deleting a role that is in use unassigns it from its clients and users in the same
     * transaction (as Keycloak, Auth0 and Logto do); the audit entry says how many lost it.
     */
    async delete(actor: Actor, id: string): Promise<void> {
      requirePermission(actor, 'roles:write');
      await changes.transaction(async (trx, recordChange) => {
        const row = await findRow(trx, id);
        recordChange({ kind: 'role', id: row.id });
        if (row.built_in !== null) throw new Conflict(`the built-in role ${row.name} cannot be deleted`);
        requireHoldsAll(actor, permissionsOfRole(row), 'this role');
        const usage = await createRolesRepository(trx).usage(row.id);
        await createRolesRepository(trx).delete(row.id);
        await recordAudit(trx, clock, actor, [
          {
            action: 'role.deleted',
            target: { type: 'role', id: row.id, name: row.name },
            details: { unassignedFromClients: usage.clients, unassignedFromUsers: usage.users },
          },
        ]);
      });
    },
  };
}

export type RolesService = ReturnType<typeof createRolesService>;
