import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR, type Actor } from '../../actor.js';
import { BadInput, Conflict, Forbidden, NotFound } from '../../errors.js';
import type { Services } from '../../services.js';
import { createTestDatabase, createTestServices, testDialects, type TestDatabase } from '../../../../test/support/databases.js';
import { builtInRoleIds } from '../../../../test/support/oauth.js';
import { expectIdsChecked, rejectionOf } from '../../../../test/support/service-errors.js';
import { PERMISSION_KEYS, type PermissionKey } from '../../../shared/permissions.js';

function actorWith(...permissions: PermissionKey[]): Actor {
  return { type: 'user', id: '00000000-0000-4000-8000-000000000001', name: 'tester', permissions: new Set(permissions) };
}

describe.each(testDialects())('roles service on %s', (dialect) => {
  let database: TestDatabase;
  let services: Services;
  let administratorId: string;
  let viewerId: string;

  /** Everything a role operation may write, to prove a refused one wrote nothing. */
  async function snapshot() {
    const { db } = database.handle;
    return {
      roles: await db.selectFrom('roles').selectAll().orderBy('id').execute(),
      clients: await db.selectFrom('api_clients').select(['id', 'role_id', 'updated_at']).orderBy('id').execute(),
      userRoles: await db.selectFrom('user_roles').selectAll().orderBy('user_id').orderBy('role_id').execute(),
      audit: await db.selectFrom('audit_events').select('id').orderBy('id').execute(),
    };
  }

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    services = await createTestServices(database);
    ({ administrator: administratorId, viewer: viewerId } = await builtInRoleIds({ services }));
  });
  afterAll(async () => {
    await services.stop();
    await database.drop();
  });

  describe('built-in roles', () => {
    it('exist after start: Administrator with every permission, Viewer with every :read', async () => {
      const roles = await services.roles.list(SYSTEM_ACTOR);
      const administrator = roles.find((role) => role.name === 'Administrator');
      const viewer = roles.find((role) => role.name === 'Viewer');
      expect(administrator).toMatchObject({ builtIn: true, permissions: [...PERMISSION_KEYS] });
      expect(viewer).toMatchObject({ builtIn: true, permissions: ['clients:read', 'roles:read', 'users:read', 'audit:read'] });
    });

    it('are created once, however often start-up runs', async () => {
      await services.roles.ensureBuiltIns();
      await Promise.all([services.roles.ensureBuiltIns(), services.roles.ensureBuiltIns()]);
      const builtIns = (await services.roles.list(SYSTEM_ACTOR)).filter((role) => role.builtIn);
      expect(builtIns.map((role) => [role.id, role.name]).sort()).toEqual(
        [
          [administratorId, 'Administrator'],
          [viewerId, 'Viewer'],
        ].sort(),
      );
    });

    it('cannot be updated or deleted, and stay exactly as they were', async () => {
      const before = await snapshot();
      for (const id of [administratorId, viewerId]) {
        expect(await rejectionOf(services.roles.update(SYSTEM_ACTOR, id, { name: 'Renamed' }))).toBeInstanceOf(Conflict);
        expect(await rejectionOf(services.roles.update(SYSTEM_ACTOR, id, { permissions: ['clients:read'] }))).toBeInstanceOf(Conflict);
        expect(await rejectionOf(services.roles.update(SYSTEM_ACTOR, id, { description: 'mine now' }))).toBeInstanceOf(Conflict);
        expect(await rejectionOf(services.roles.delete(SYSTEM_ACTOR, id))).toBeInstanceOf(Conflict);
      }
      expect(await snapshot()).toEqual(before);
    });
  });

  describe('custom roles', () => {
    it('creates a role with trimmed name and catalog-ordered, de-duplicated permissions, and audits it', async () => {
      const role = await services.roles.create(SYSTEM_ACTOR, {
        name: '  Support desk  ',
        description: 'first-line support',
        permissions: ['users:read', 'clients:read', 'users:read'],
      });
      expect(role).toMatchObject({ name: 'Support desk', description: 'first-line support', builtIn: false, permissions: ['clients:read', 'users:read'] });
      expect(await services.roles.get(SYSTEM_ACTOR, role.id)).toEqual(role);
      const audit = await services.audit.list(SYSTEM_ACTOR, { targetId: role.id });
      expect(audit.items).toHaveLength(1);
      expect(audit.items[0]).toMatchObject({
        action: 'role.created',
        actor: { type: 'system' },
        target: { type: 'role', id: role.id, name: 'Support desk' },
        details: { permissions: ['clients:read', 'users:read'] },
      });
    });

    it('updates name, description and permissions and audits what changed', async () => {
      const role = await services.roles.create(SYSTEM_ACTOR, { name: 'Integrators', permissions: ['clients:read'] });
      const updated = await services.roles.update(SYSTEM_ACTOR, role.id, {
        name: 'Integration team',
        description: 'builds integrations',
        permissions: ['clients:read', 'clients:create'],
      });
      expect(updated).toMatchObject({
        id: role.id,
        name: 'Integration team',
        description: 'builds integrations',
        permissions: ['clients:read', 'clients:create'],
      });
      expect(await services.roles.get(SYSTEM_ACTOR, role.id)).toEqual(updated);
      const [event] = (await services.audit.list(SYSTEM_ACTOR, { targetId: role.id })).items;
      expect(event).toMatchObject({
        action: 'role.updated',
        target: { type: 'role', id: role.id, name: 'Integration team' },
        details: {
          name: { from: 'Integrators', to: 'Integration team' },
          description: true,
          permissions: { from: ['clients:read'], to: ['clients:read', 'clients:create'] },
        },
      });
    });

    it('deletes a role and audits it; afterwards it is not found', async () => {
      const role = await services.roles.create(SYSTEM_ACTOR, { name: 'Short-lived', permissions: [] });
      await services.roles.delete(SYSTEM_ACTOR, role.id);
      await expect(services.roles.get(SYSTEM_ACTOR, role.id)).rejects.toBeInstanceOf(NotFound);
      await expect(services.roles.delete(SYSTEM_ACTOR, role.id)).rejects.toBeInstanceOf(NotFound);
      expect((await services.audit.list(SYSTEM_ACTOR, { targetId: role.id })).items.map((event) => event.action)).toEqual(['role.deleted', 'role.created']);
    });

    it('accepts an upper-case role id for get, update and delete', async () => {
      const role = await services.roles.create(SYSTEM_ACTOR, { name: 'Shouted', permissions: ['clients:read'] });
      const upper = role.id.toUpperCase();
      expect((await services.roles.get(SYSTEM_ACTOR, upper)).id).toBe(role.id);
      await services.roles.update(SYSTEM_ACTOR, upper, { name: 'Whispered' });
      expect((await services.roles.get(SYSTEM_ACTOR, role.id)).name).toBe('Whispered');
      const [updated] = (await services.audit.list(SYSTEM_ACTOR, { targetId: role.id })).items;
      expect(updated?.action).toBe('role.updated');
      await services.roles.delete(SYSTEM_ACTOR, upper);
      await expect(services.roles.get(SYSTEM_ACTOR, role.id)).rejects.toBeInstanceOf(NotFound);
      expect((await services.audit.list(SYSTEM_ACTOR, { targetId: role.id })).items[0]?.action).toBe('role.deleted');
    });

    it('refuses a duplicate name in any case, on create and on rename, and writes nothing', async () => {
      const ops = await services.roles.create(SYSTEM_ACTOR, { name: 'Operations', permissions: [] });
      const other = await services.roles.create(SYSTEM_ACTOR, { name: 'Other', permissions: [] });
      const before = await snapshot();
      expect(await rejectionOf(services.roles.create(SYSTEM_ACTOR, { name: 'OPERATIONS', permissions: [] }))).toBeInstanceOf(Conflict);
      expect(await rejectionOf(services.roles.create(SYSTEM_ACTOR, { name: ' operations ', permissions: [] }))).toBeInstanceOf(Conflict);
      expect(await rejectionOf(services.roles.create(SYSTEM_ACTOR, { name: 'administrator', permissions: [] }))).toBeInstanceOf(Conflict);
      expect(await rejectionOf(services.roles.update(SYSTEM_ACTOR, other.id, { name: 'operations' }))).toBeInstanceOf(Conflict);
      expect(await rejectionOf(services.roles.update(SYSTEM_ACTOR, other.id, { name: 'VIEWER' }))).toBeInstanceOf(Conflict);
      expect(await snapshot()).toEqual(before);
      // A role may change the case of its own name.
      expect((await services.roles.update(SYSTEM_ACTOR, ops.id, { name: 'OPERATIONS' })).name).toBe('OPERATIONS');
    });

    it('refuses an unknown permission key naming permissions[i], and writes nothing', async () => {
      const role = await services.roles.create(SYSTEM_ACTOR, { name: 'Keyed', permissions: ['clients:read'] });
      const before = await snapshot();
      const created = await rejectionOf(
        services.roles.create(SYSTEM_ACTOR, { name: 'Bad keys', permissions: ['clients:read', 'clients:fly', 'audit:read', 'root'] }),
      );
      expect(created).toBeInstanceOf(BadInput);
      expect((created as BadInput).problems.map((problem) => problem.field)).toEqual(['permissions[1]', 'permissions[3]']);
      expect((created as BadInput).message).toContain('clients:fly');

      const updated = await rejectionOf(services.roles.update(SYSTEM_ACTOR, role.id, { permissions: ['CLIENTS:READ'] }));
      expect(updated).toBeInstanceOf(BadInput);
      expect((updated as BadInput).problems.map((problem) => problem.field)).toEqual(['permissions[0]']);

      const notAList = await rejectionOf(services.roles.create(SYSTEM_ACTOR, { name: 'Not a list', permissions: 'clients:read' as unknown as string[] }));
      expect((notAList as BadInput).problems.map((problem) => problem.field)).toEqual(['permissions']);
      expect(await snapshot()).toEqual(before);
    });

    it('refuses a bad name or description naming each field, and writes nothing', async () => {
      const role = await services.roles.create(SYSTEM_ACTOR, { name: 'Named', permissions: [] });
      const before = await snapshot();
      const both = await rejectionOf(services.roles.create(SYSTEM_ACTOR, { name: '  ', description: 'd'.repeat(1001), permissions: ['nope'] }));
      expect(both).toBeInstanceOf(BadInput);
      expect((both as BadInput).problems.map((problem) => problem.field)).toEqual(['name', 'description', 'permissions[0]']);
      const renamed = await rejectionOf(services.roles.update(SYSTEM_ACTOR, role.id, { name: 'x'.repeat(101) }));
      expect((renamed as BadInput).problems.map((problem) => problem.field)).toEqual(['name']);
      expect(await snapshot()).toEqual(before);
    });

    it('answers an unknown role id with NotFound and a malformed one with BadInput', async () => {
      await expectIdsChecked(services.roles, { name: 'x' }, 'role-1');
    });

    it('resolves a role by id or by name in any case, and an unknown one is NotFound', async () => {
      expect((await services.roles.resolve(SYSTEM_ACTOR, viewerId)).name).toBe('Viewer');
      expect((await services.roles.resolve(SYSTEM_ACTOR, viewerId.toUpperCase())).name).toBe('Viewer');
      expect((await services.roles.resolve(SYSTEM_ACTOR, ' administrator ')).id).toBe(administratorId);
      await expect(services.roles.resolve(SYSTEM_ACTOR, 'Nobody')).rejects.toBeInstanceOf(NotFound);
      await expect(services.roles.resolve(SYSTEM_ACTOR, randomUUID())).rejects.toBeInstanceOf(NotFound);
    });
  });

  describe('permissions and no escalation', () => {
    it('refuses each role operation to an actor lacking roles:read or roles:write', async () => {
      const role = await services.roles.create(SYSTEM_ACTOR, { name: 'Guarded', permissions: [] });
      const before = await snapshot();
      await expect(services.roles.list(actorWith())).rejects.toBeInstanceOf(Forbidden);
      await expect(services.roles.get(actorWith('roles:write'), role.id)).rejects.toBeInstanceOf(Forbidden);
      await expect(services.roles.resolve(actorWith(), 'Guarded')).rejects.toBeInstanceOf(Forbidden);
      await expect(services.roles.create(actorWith('roles:read', 'roles:assign'), { name: 'x', permissions: [] })).rejects.toBeInstanceOf(Forbidden);
      await expect(services.roles.update(actorWith('roles:read', 'roles:assign'), role.id, { name: 'x' })).rejects.toBeInstanceOf(Forbidden);
      await expect(services.roles.delete(actorWith('roles:read', 'roles:assign'), role.id)).rejects.toBeInstanceOf(Forbidden);
      expect(await snapshot()).toEqual(before);
    });

    it('refuses to create a role holding a permission the actor lacks, and writes nothing', async () => {
      const actor = actorWith('roles:read', 'roles:write', 'clients:read');
      const before = await snapshot();
      const error = await rejectionOf(services.roles.create(actor, { name: 'Escalator', permissions: ['clients:read', 'users:write', 'audit:read'] }));
      expect(error).toBeInstanceOf(Forbidden);
      expect((error as Forbidden).missing).toEqual(['users:write', 'audit:read']);
      expect(await snapshot()).toEqual(before);
      // Within what the actor holds, it may.
      const allowed = await services.roles.create(actor, { name: 'Escalator', permissions: ['clients:read'] });
      expect(allowed.permissions).toEqual(['clients:read']);
      const [event] = (await services.audit.list(SYSTEM_ACTOR, { targetId: allowed.id })).items;
      expect(event?.actor).toEqual({ type: 'user', id: '00000000-0000-4000-8000-000000000001', name: 'tester' });
    });

    it('refuses to add a permission the actor lacks to an existing role, and leaves the role as it was', async () => {
      const role = await services.roles.create(SYSTEM_ACTOR, { name: 'Readers', permissions: ['clients:read'] });
      const actor = actorWith('roles:read', 'roles:write', 'clients:read');
      const before = await snapshot();
      const error = await rejectionOf(services.roles.update(actor, role.id, { permissions: ['clients:read', 'clients:delete'] }));
      expect(error).toBeInstanceOf(Forbidden);
      expect((error as Forbidden).missing).toEqual(['clients:delete']);
      expect(await snapshot()).toEqual(before);
      expect((await services.roles.update(actor, role.id, { description: 'read clients' })).description).toBe('read clients');
    });

    it('refuses to edit or delete a role that already holds a permission the actor lacks', async () => {
      const role = await services.roles.create(SYSTEM_ACTOR, { name: 'Auditors', permissions: ['clients:read', 'audit:read'] });
      const actor = actorWith('roles:read', 'roles:write', 'clients:read');
      const before = await snapshot();
      // Even removing the permission it lacks is editing a role it could not have created.
      expect(await rejectionOf(services.roles.update(actor, role.id, { permissions: ['clients:read'] }))).toBeInstanceOf(Forbidden);
      expect(await rejectionOf(services.roles.update(actor, role.id, { name: 'Renamed auditors' }))).toBeInstanceOf(Forbidden);
      expect(await rejectionOf(services.roles.delete(actor, role.id))).toBeInstanceOf(Forbidden);
      expect(await snapshot()).toEqual(before);
    });
  });

  describe('deleting a role in use', () => {
    it('unassigns it from its clients and users in the same change, and the audit entry counts them', async () => {
      const role = await services.roles.create(SYSTEM_ACTOR, { name: 'Exporters', permissions: ['clients:read', 'clients:create'] });
      const first = (await services.clients.create(SYSTEM_ACTOR, { name: 'exporter one', roleId: role.id })).client;
      const second = (await services.clients.create(SYSTEM_ACTOR, { name: 'exporter two', roleId: role.id })).client;
      const bystander = (await services.clients.create(SYSTEM_ACTOR, { name: 'viewer client', roleId: viewerId })).client;
      const user = await services.users.create(SYSTEM_ACTOR, { email: 'exporter@example.com', password: 'a long passphrase', roleIds: [role.id, viewerId] });
      expect(await services.users.permissionsOf(user.id)).toContain('clients:create');

      await services.roles.delete(SYSTEM_ACTOR, role.id);

      expect((await services.clients.get(SYSTEM_ACTOR, first.id)).role).toBeNull();
      expect((await services.clients.get(SYSTEM_ACTOR, second.id)).role).toBeNull();
      expect((await services.clients.get(SYSTEM_ACTOR, bystander.id)).role?.id).toBe(viewerId);
      expect((await services.users.get(SYSTEM_ACTOR, user.id)).roles).toEqual([{ id: viewerId, name: 'Viewer' }]);
      expect(await services.users.permissionsOf(user.id)).not.toContain('clients:create');
      const { db } = database.handle;
      expect(await db.selectFrom('user_roles').selectAll().where('role_id', '=', role.id).execute()).toEqual([]);
      expect(await db.selectFrom('api_clients').select('id').where('role_id', '=', role.id).execute()).toEqual([]);

      const [event] = (await services.audit.list(SYSTEM_ACTOR, { targetId: role.id })).items;
      expect(event).toMatchObject({
        action: 'role.deleted',
        target: { type: 'role', id: role.id, name: 'Exporters' },
        details: { unassignedFromClients: 2, unassignedFromUsers: 1 },
      });
    });

    it('records zero counts for a role nobody holds', async () => {
      const role = await services.roles.create(SYSTEM_ACTOR, { name: 'Unused', permissions: [] });
      await services.roles.delete(SYSTEM_ACTOR, role.id);
      const [event] = (await services.audit.list(SYSTEM_ACTOR, { targetId: role.id })).items;
      expect(event?.details).toEqual({ unassignedFromClients: 0, unassignedFromUsers: 0 });
    });
  });
});
