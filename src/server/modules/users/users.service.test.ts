import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR, type Actor } from '../../actor.js';
import { BadInput, Conflict, Forbidden, NotFound } from '../../errors.js';
import type { Services } from '../../services.js';
import { createTestDatabase, createTestServices, testDialects, type TestDatabase } from '../../../../test/support/databases.js';
import { builtInRoleIds } from '../../../../test/support/oauth.js';
import { expectIdsChecked, rejectionOf } from '../../../../test/support/service-errors.js';
import { PERMISSION_KEYS, type PermissionKey } from '../../../shared/permissions.js';
import type { CreateUserInput, User } from './users.service.js';

const PASSWORD = 'a long passphrase';

function actorWith(...permissions: PermissionKey[]): Actor {
  return { type: 'user', id: '00000000-0000-4000-8000-000000000001', name: 'tester', permissions: new Set(permissions) };
}

/** The signed-in user themselves, holding `permissions`. */
function actorFor(user: User, ...permissions: PermissionKey[]): Actor {
  return { type: 'user', id: user.id, name: user.email, permissions: new Set(permissions) };
}

/** Manages users and assigns roles, but holds no audit:read: less than Viewer, far less than Administrator. */
const USER_MANAGER = actorWith('users:read', 'users:write', 'roles:read', 'roles:assign', 'clients:read');

function fieldsOf(error: unknown): string[] {
  expect(error).toBeInstanceOf(BadInput);
  return (error as BadInput).problems.map((problem) => problem.field);
}

describe.each(testDialects())('users service on %s', (dialect) => {
  let database: TestDatabase;
  let services: Services;
  let administratorId: string;
  let viewerId: string;
  /** A custom role with one permission that USER_MANAGER holds. */
  let clientReaderId: string;

  /** Everything a user operation may write, to prove a refused one wrote nothing. */
  async function snapshot() {
    const { db } = database.handle;
    return {
      users: await db.selectFrom('users').selectAll().orderBy('id').execute(),
      userRoles: await db.selectFrom('user_roles').selectAll().orderBy('user_id').orderBy('role_id').execute(),
      audit: await db.selectFrom('audit_events').select('id').orderBy('id').execute(),
      settings: await db.selectFrom('settings').selectAll().orderBy('key').execute(),
    };
  }

  const storedRow = (id: string) => database.handle.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const createUser = (email: string, roleIds: string[] = []) => services.users.create(SYSTEM_ACTOR, { email, password: PASSWORD, roleIds });
  const actionsFor = async (id: string) => (await services.audit.list(SYSTEM_ACTOR, { targetId: id })).items.map((event) => event.action);

  // One database per dialect, emptied of users, custom roles and history before each test: every
  // test starts as a fresh installation does (built-in roles only, no user, no setup link).
  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    services = await createTestServices(database);
    ({ administrator: administratorId, viewer: viewerId } = await builtInRoleIds({ services }));
  });
  beforeEach(async () => {
    const { db } = database.handle;
    await db.deleteFrom('user_roles').execute();
    await db.deleteFrom('users').execute();
    await db.deleteFrom('api_clients').execute();
    await db.deleteFrom('roles').where('built_in', 'is', null).execute();
    await db.deleteFrom('audit_events').execute();
    await db.deleteFrom('settings').where('key', '=', 'setup_token_sha256').execute();
    clientReaderId = (await services.roles.create(SYSTEM_ACTOR, { name: 'Client readers', permissions: ['clients:read'] })).id;
  });
  afterAll(async () => {
    await services.stop();
    await database.drop();
  });

  describe('accounts', () => {
    it('creates a user with a trimmed email, a default name and an audit entry', async () => {
      const user = await services.users.create(SYSTEM_ACTOR, { email: '  Ops@Example.com ', password: PASSWORD, roleIds: [viewerId] });
      expect(user).toMatchObject({ email: 'Ops@Example.com', name: 'Ops', enabled: true, roles: [{ id: viewerId, name: 'Viewer' }], lastLoginAt: null });
      expect(await services.users.get(SYSTEM_ACTOR, user.id)).toEqual(user);
      const [event] = (await services.audit.list(SYSTEM_ACTOR, { targetId: user.id })).items;
      expect(event).toMatchObject({ action: 'user.created', target: { type: 'user', id: user.id, name: 'Ops@Example.com' } });
      expect(event?.details).toEqual({ roles: [{ id: viewerId, name: 'Viewer' }] });
    });

    it('keeps emails unique regardless of case, on create and on change of email, and writes nothing', async () => {
      await createUser('Ops@Example.com');
      const other = await createUser('other@example.com');
      const before = await snapshot();
      expect(await rejectionOf(createUser('ops@example.COM'))).toBeInstanceOf(Conflict);
      expect(await rejectionOf(createUser('  OPS@EXAMPLE.COM  '))).toBeInstanceOf(Conflict);
      expect(await rejectionOf(services.users.update(SYSTEM_ACTOR, other.id, { email: 'oPs@example.com' }))).toBeInstanceOf(Conflict);
      expect(await snapshot()).toEqual(before);
      // A user may change the case of their own email.
      expect((await services.users.update(SYSTEM_ACTOR, other.id, { email: 'Other@Example.com' })).email).toBe('Other@Example.com');
    });

    it('stores the password only as an argon2id hash, never the password itself', async () => {
      const user = await createUser('hash@example.com');
      const row = await storedRow(user.id);
      expect(row.password_hash.startsWith('$argon2id$')).toBe(true);
      expect(row.password_hash).not.toContain(PASSWORD);
      expect(JSON.stringify(await snapshot())).not.toContain(PASSWORD);
      expect(JSON.stringify(user)).not.toContain(row.password_hash);
      // The same password hashes differently for another user (salted).
      const twin = await createUser('twin@example.com');
      expect((await storedRow(twin.id)).password_hash).not.toBe(row.password_hash);
    });

    it('rejects a bad email, a short password, a bad name or a bad role id naming each field, and writes nothing', async () => {
      const before = await snapshot();
      const cases: [CreateUserInput, string[]][] = [
        [{ email: 'not-an-email', password: PASSWORD }, ['email']],
        [{ email: '', password: PASSWORD }, ['email']],
        [{ email: 'a b@example.com', password: PASSWORD }, ['email']],
        [{ email: `${'x'.repeat(250)}@example.com`, password: PASSWORD }, ['email']],
        [{ email: 'short@example.com', password: 'elevenchars' }, ['password']],
        [{ email: 'huge@example.com', password: 'p'.repeat(1025) }, ['password']],
        [{ email: 'nope', password: 'short' }, ['email', 'password']],
        [{ email: 'name@example.com', password: PASSWORD, name: 'n'.repeat(101) }, ['name']],
        [{ email: 'role@example.com', password: PASSWORD, roleIds: [viewerId, 'Viewer'] }, ['roleIds[1]']],
        [{ email: 'unknown-role@example.com', password: PASSWORD, roleIds: [randomUUID()] }, ['roleIds']],
      ];
      for (const [input, fields] of cases) expect(fieldsOf(await rejectionOf(services.users.create(SYSTEM_ACTOR, input)))).toEqual(fields);
      expect(await snapshot()).toEqual(before);
    });

    it('rejects a bad email, name, password or enabled flag on update naming each field, and writes nothing', async () => {
      const user = await createUser('steady@example.com');
      const before = await snapshot();
      const error = await rejectionOf(
        services.users.update(SYSTEM_ACTOR, user.id, { email: 'nope', name: '', password: 'short', enabled: 'yes' as unknown as boolean }),
      );
      expect(fieldsOf(error)).toEqual(['email', 'name', 'enabled', 'password']);
      expect(await snapshot()).toEqual(before);
    });

    it('gives a user zero or more roles, and their effective permissions are the union of them', async () => {
      const nobody = await createUser('nobody@example.com');
      expect(nobody.roles).toEqual([]);
      expect([...(await services.users.permissionsOf(nobody.id))]).toEqual([]);
      const granted = async (id: string) =>
        (await services.users.permissions(SYSTEM_ACTOR, id))
          .flatMap((group) => group.permissions)
          .filter((permission) => permission.granted)
          .map((permission) => permission.key);
      expect(await granted(nobody.id)).toEqual([]);

      const creators = await services.roles.create(SYSTEM_ACTOR, { name: 'Creators', permissions: ['clients:read', 'clients:create'] });
      const both = await createUser('both@example.com', [viewerId, creators.id]);
      expect(both.roles.map((role) => role.name).sort()).toEqual(['Creators', 'Viewer']);
      expect(await granted(both.id)).toEqual(['clients:read', 'clients:create', 'roles:read', 'users:read', 'audit:read']);
      expect([...(await services.users.permissionsOf(both.id))].sort()).toEqual(['audit:read', 'clients:create', 'clients:read', 'roles:read', 'users:read']);

      const updated = await services.users.update(SYSTEM_ACTOR, both.id, { roleIds: [administratorId, viewerId, creators.id] });
      expect(updated.roles).toHaveLength(3);
      expect(await granted(both.id)).toEqual([...PERMISSION_KEYS]);
      await createUser('keeper@example.com', [administratorId]); // so that both@ is not the last Administrator
      expect((await services.users.update(SYSTEM_ACTOR, both.id, { roleIds: [] })).roles).toEqual([]);
      expect(await granted(both.id)).toEqual([]);
      expect(await actionsFor(both.id)).toEqual(['user.roles_changed', 'user.roles_changed', 'user.created']);
    });

    it('disables and enables a user, auditing each change', async () => {
      const user = await createUser('switch@example.com', [clientReaderId]);
      expect((await services.users.update(SYSTEM_ACTOR, user.id, { enabled: false })).enabled).toBe(false);
      expect((await storedRow(user.id)).enabled).toBe(0);
      expect((await services.users.update(SYSTEM_ACTOR, user.id, { enabled: true })).enabled).toBe(true);
      // No change, no audit entry.
      await services.users.update(SYSTEM_ACTOR, user.id, { enabled: true });
      expect(await actionsFor(user.id)).toEqual(['user.enabled', 'user.disabled', 'user.created']);
    });

    it('changes a password: only the new one verifies, and the audit entry carries neither', async () => {
      const user = await createUser('rotate@example.com');
      await services.users.update(SYSTEM_ACTOR, user.id, { password: 'the new long passphrase' });
      expect(await services.users.verifyCredentials('rotate@example.com', PASSWORD)).toBeNull();
      expect((await services.users.verifyCredentials('rotate@example.com', 'the new long passphrase'))?.id).toBe(user.id);
      const audit = await services.audit.list(SYSTEM_ACTOR, { targetId: user.id });
      expect(audit.items.map((event) => event.action)).toEqual(['user.password_changed', 'user.created']);
      expect(JSON.stringify(audit)).not.toContain('passphrase');
    });

    it('deletes a user and their role assignments, with an audit entry', async () => {
      const user = await createUser('gone@example.com', [clientReaderId]);
      await services.users.delete(SYSTEM_ACTOR, user.id);
      await expect(services.users.get(SYSTEM_ACTOR, user.id)).rejects.toBeInstanceOf(NotFound);
      expect(await database.handle.db.selectFrom('user_roles').selectAll().where('user_id', '=', user.id).execute()).toEqual([]);
      expect(await actionsFor(user.id)).toEqual(['user.deleted', 'user.created']);
    });

    it('answers an unknown user id with NotFound and a malformed one with BadInput', async () => {
      await expectIdsChecked(services.users, { name: 'x' }, 'user-1');
    });

    it('accepts an upper-case user id for get, update and delete', async () => {
      const user = await createUser('upper@example.com');
      const upper = user.id.toUpperCase();
      expect((await services.users.get(SYSTEM_ACTOR, upper)).id).toBe(user.id);
      expect((await services.users.update(SYSTEM_ACTOR, upper, { name: 'Upper' })).name).toBe('Upper');
      expect((await storedRow(user.id)).name).toBe('Upper');
      await services.users.delete(SYSTEM_ACTOR, upper);
      await expect(services.users.get(SYSTEM_ACTOR, user.id)).rejects.toBeInstanceOf(NotFound);
    });

    it('lists users by email a page at a time', async () => {
      for (const email of ['c@example.com', 'A@example.com', 'b@example.com']) await createUser(email);
      const first = await services.users.list(SYSTEM_ACTOR, { limit: 2 });
      expect(first.items.map((user) => user.email)).toEqual(['A@example.com', 'b@example.com']);
      expect(first.total).toBe(3);
      const second = await services.users.list(SYSTEM_ACTOR, { limit: 2, cursor: first.nextCursor });
      expect(second.items.map((user) => user.email)).toEqual(['c@example.com']);
      expect(second.nextCursor).toBeNull();
    });
  });

  describe('signing in', () => {
    it('verifies the right password for the email in any case, and records the sign-in', async () => {
      const user = await createUser('Signer@Example.com', [viewerId]);
      const signedIn = await services.users.verifyCredentials('  signer@example.COM ', PASSWORD);
      expect(signedIn?.id).toBe(user.id);
      expect(signedIn?.roles).toEqual([{ id: viewerId, name: 'Viewer' }]);
      expect((await storedRow(user.id)).last_login_at).not.toBeNull();
    });

    it('answers a wrong password, an unknown email and a disabled user alike with null, recording nothing', async () => {
      const user = await createUser('careful@example.com');
      const disabled = await createUser('disabled@example.com');
      await services.users.update(SYSTEM_ACTOR, disabled.id, { enabled: false });
      const before = await snapshot();
      expect(await services.users.verifyCredentials('careful@example.com', 'a wrong passphrase')).toBeNull();
      expect(await services.users.verifyCredentials('careful@example.com', '')).toBeNull();
      expect(await services.users.verifyCredentials('stranger@example.com', PASSWORD)).toBeNull();
      expect(await services.users.verifyCredentials('disabled@example.com', PASSWORD)).toBeNull();
      expect(await services.users.verifyCredentials(42 as unknown as string, PASSWORD)).toBeNull();
      expect(await snapshot()).toEqual(before);
      expect((await storedRow(user.id)).last_login_at).toBeNull();
    });
  });

  describe('permissions and no escalation', () => {
    it('refuses each user operation to an actor lacking users:read or users:write, and writes nothing', async () => {
      const user = await createUser('guarded@example.com');
      const before = await snapshot();
      await expect(services.users.list(actorWith())).rejects.toBeInstanceOf(Forbidden);
      await expect(services.users.get(actorWith('users:write'), user.id)).rejects.toBeInstanceOf(Forbidden);
      await expect(services.users.permissions(actorWith('users:write'), user.id)).rejects.toBeInstanceOf(Forbidden);
      await expect(services.users.create(actorWith('users:read'), { email: 'new@example.com', password: PASSWORD })).rejects.toBeInstanceOf(Forbidden);
      await expect(services.users.update(actorWith('users:read'), user.id, { name: 'x' })).rejects.toBeInstanceOf(Forbidden);
      await expect(services.users.update(actorWith('users:read'), user.id, { enabled: false })).rejects.toBeInstanceOf(Forbidden);
      await expect(services.users.delete(actorWith('users:read'), user.id)).rejects.toBeInstanceOf(Forbidden);
      expect(await snapshot()).toEqual(before);
    });

    it('refuses to assign any role without roles:assign, and writes nothing', async () => {
      const user = await createUser('plain@example.com');
      const actor = actorWith('users:read', 'users:write', 'clients:read');
      const before = await snapshot();
      await expect(services.users.create(actor, { email: 'new@example.com', password: PASSWORD, roleIds: [clientReaderId] })).rejects.toBeInstanceOf(Forbidden);
      await expect(services.users.update(actor, user.id, { roleIds: [clientReaderId] })).rejects.toBeInstanceOf(Forbidden);
      expect(await snapshot()).toEqual(before);
      expect((await services.users.create(actor, { email: 'new@example.com', password: PASSWORD })).roles).toEqual([]);
    });

    it('refuses to assign a role holding a permission the actor lacks, on create and on update, and writes nothing', async () => {
      const user = await createUser('target@example.com');
      const before = await snapshot();
      for (const roleId of [administratorId, viewerId]) {
        const created = await rejectionOf(services.users.create(USER_MANAGER, { email: 'escalated@example.com', password: PASSWORD, roleIds: [roleId] }));
        expect(created).toBeInstanceOf(Forbidden);
        expect((created as Forbidden).missing).toContain('audit:read');
        expect(await rejectionOf(services.users.update(USER_MANAGER, user.id, { roleIds: [roleId] }))).toBeInstanceOf(Forbidden);
        expect(await rejectionOf(services.users.update(USER_MANAGER, user.id, { roleIds: [clientReaderId, roleId] }))).toBeInstanceOf(Forbidden);
      }
      expect(await snapshot()).toEqual(before);
      // A role within what the actor holds may be assigned.
      expect((await services.users.update(USER_MANAGER, user.id, { roleIds: [clientReaderId] })).roles).toEqual([
        { id: clientReaderId, name: 'Client readers' },
      ]);
      const created = await services.users.create(USER_MANAGER, { email: 'reader@example.com', password: PASSWORD, roleIds: [clientReaderId] });
      expect(created.roles).toEqual([{ id: clientReaderId, name: 'Client readers' }]);
    });

    it('refuses to change, disable or delete a user who holds more than the actor, and writes nothing', async () => {
      const administrator = await createUser('admin@example.com', [administratorId]);
      const viewer = await createUser('viewer@example.com', [viewerId]);
      const before = await snapshot();
      for (const target of [administrator, viewer]) {
        for (const patch of [
          { name: 'Taken over' },
          { email: 'mine@example.com' },
          { password: 'my chosen passphrase' },
          { enabled: false },
          { roleIds: [] },
        ]) {
          const error = await rejectionOf(services.users.update(USER_MANAGER, target.id, patch));
          expect({ target: target.email, patch, error: (error as Error).constructor.name }).toEqual({ target: target.email, patch, error: 'Forbidden' });
        }
        expect(await rejectionOf(services.users.delete(USER_MANAGER, target.id))).toBeInstanceOf(Forbidden);
      }
      expect(await snapshot()).toEqual(before);
      expect(await services.users.verifyCredentials('admin@example.com', PASSWORD)).not.toBeNull();
    });

    it('lets the actor manage a user who holds no more than it does', async () => {
      const user = await createUser('managed@example.com', [clientReaderId]);
      expect((await services.users.update(USER_MANAGER, user.id, { name: 'Managed', enabled: false })).enabled).toBe(false);
      await services.users.delete(USER_MANAGER, user.id);
      await expect(services.users.get(SYSTEM_ACTOR, user.id)).rejects.toBeInstanceOf(NotFound);
    });

    it('refuses to let a user give themselves a role holding more than they hold', async () => {
      const self = await createUser('self@example.com', [clientReaderId]);
      const actor = actorFor(self, 'users:read', 'users:write', 'roles:read', 'roles:assign', 'clients:read');
      const before = await snapshot();
      expect(await rejectionOf(services.users.update(actor, self.id, { roleIds: [clientReaderId, administratorId] }))).toBeInstanceOf(Forbidden);
      expect(await snapshot()).toEqual(before);
      // Their own name they may change.
      expect((await services.users.update(actor, self.id, { name: 'Me' })).name).toBe('Me');
    });

    it('refuses to delete your own account, and writes nothing', async () => {
      const self = await createUser('me@example.com', [clientReaderId]);
      const before = await snapshot();
      expect(await rejectionOf(services.users.delete(actorFor(self, 'users:write', 'clients:read'), self.id))).toBeInstanceOf(Conflict);
      expect(await snapshot()).toEqual(before);
    });
  });

  describe('the last enabled Administrator', () => {
    it('cannot be disabled, deleted or lose the Administrator role, and stays as it was', async () => {
      const administrator = await createUser('only-admin@example.com', [administratorId]);
      await createUser('bystander@example.com', [viewerId]);
      const before = await snapshot();
      expect(await rejectionOf(services.users.update(SYSTEM_ACTOR, administrator.id, { enabled: false }))).toBeInstanceOf(Conflict);
      expect(await rejectionOf(services.users.update(SYSTEM_ACTOR, administrator.id, { roleIds: [] }))).toBeInstanceOf(Conflict);
      expect(await rejectionOf(services.users.update(SYSTEM_ACTOR, administrator.id, { roleIds: [viewerId] }))).toBeInstanceOf(Conflict);
      expect(await rejectionOf(services.users.delete(SYSTEM_ACTOR, administrator.id))).toBeInstanceOf(Conflict);
      // Not even by themselves.
      const self = actorFor(administrator, ...PERMISSION_KEYS);
      expect(await rejectionOf(services.users.update(self, administrator.id, { enabled: false }))).toBeInstanceOf(Conflict);
      expect(await rejectionOf(services.users.update(self, administrator.id, { roleIds: [viewerId] }))).toBeInstanceOf(Conflict);
      expect(await snapshot()).toEqual(before);
      // Other changes to them are fine.
      expect(
        (await services.users.update(SYSTEM_ACTOR, administrator.id, { name: 'Still in charge', roleIds: [administratorId, viewerId] })).roles,
      ).toHaveLength(2);
    });

    it('can be disabled once another Administrator is enabled, who then becomes the protected one', async () => {
      const first = await createUser('first@example.com', [administratorId]);
      const second = await createUser('second@example.com', [administratorId]);
      expect((await services.users.update(SYSTEM_ACTOR, first.id, { enabled: false })).enabled).toBe(false);
      const before = await snapshot();
      expect(await rejectionOf(services.users.delete(SYSTEM_ACTOR, second.id))).toBeInstanceOf(Conflict);
      expect(await rejectionOf(services.users.update(SYSTEM_ACTOR, second.id, { enabled: false }))).toBeInstanceOf(Conflict);
      expect(await snapshot()).toEqual(before);
      // A disabled Administrator does not count, and may be deleted.
      await services.users.delete(SYSTEM_ACTOR, first.id);
      await createUser('third@example.com', [administratorId]);
      await services.users.delete(SYSTEM_ACTOR, second.id);
      expect((await services.users.list(SYSTEM_ACTOR)).items.map((user) => user.email)).toEqual(['third@example.com']);
    });
    it('survives concurrent attempts to disable or delete the last two Administrators: exactly one succeeds', async () => {
      // Several rounds, so that an unguarded check would be caught interleaving at least once.
      for (let round = 0; round < 5; round++) {
        const first = await createUser(`first-${round}@example.com`, [administratorId]);
        const second = await createUser(`second-${round}@example.com`, [administratorId]);
        const results = await Promise.allSettled([
          services.users.update(SYSTEM_ACTOR, first.id, { enabled: false }),
          round % 2 === 0 ? services.users.update(SYSTEM_ACTOR, second.id, { enabled: false }) : services.users.delete(SYSTEM_ACTOR, second.id),
        ]);
        expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
        const refused = results.find((result) => result.status === 'rejected');
        expect(refused?.reason).toBeInstanceOf(Conflict);
        const enabledAdministrators = (await services.users.list(SYSTEM_ACTOR)).items.filter(
          (user) => user.enabled && user.roles.some((role) => role.id === administratorId),
        );
        expect(enabledAdministrators).toHaveLength(1);
        // Set up the next round behind the service's back: its new pair are then the only enabled Administrators.
        await database.handle.db.updateTable('users').set({ enabled: 0 }).execute();
      }
    });
  });

  describe('the first Administrator', () => {
    it('is created from the admin settings once, and only when no user exists', async () => {
      const created = await services.users.ensureFirstAdministrator({ email: 'root@example.com', password: PASSWORD });
      expect(created).toMatchObject({ email: 'root@example.com', enabled: true, roles: [{ id: administratorId, name: 'Administrator' }] });
      expect(await services.users.verifyCredentials('root@example.com', PASSWORD)).not.toBeNull();
      expect(await actionsFor(created!.id)).toEqual(['user.created']);

      const before = await snapshot();
      expect(await services.users.ensureFirstAdministrator({ email: 'root@example.com', password: PASSWORD })).toBeNull();
      expect(await services.users.ensureFirstAdministrator({ email: 'second-root@example.com', password: 'another long passphrase' })).toBeNull();
      expect(await snapshot()).toEqual(before);
    });

    it('is not created from the admin settings when any user exists, even one without a role', async () => {
      await createUser('early@example.com');
      const before = await snapshot();
      expect(await services.users.ensureFirstAdministrator({ email: 'root@example.com', password: PASSWORD })).toBeNull();
      expect(await snapshot()).toEqual(before);
    });

    it('refuses bad admin settings naming the variable, and writes nothing', async () => {
      const before = await snapshot();
      const error = await rejectionOf(services.users.ensureFirstAdministrator({ email: 'root', password: 'short' }));
      expect(fieldsOf(error)).toEqual(['KOIOS_ADMIN_EMAIL', 'KOIOS_ADMIN_PASSWORD']);
      expect(await snapshot()).toEqual(before);
    });

    it('is created through the setup link once, and the link then stops working', async () => {
      const token = await services.users.issueSetupToken();
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const administrator = await services.users.completeSetup(token!, { email: 'founder@example.com', name: 'Founder', password: PASSWORD });
      expect(administrator).toMatchObject({ email: 'founder@example.com', name: 'Founder', roles: [{ id: administratorId, name: 'Administrator' }] });

      const before = await snapshot();
      const again = await rejectionOf(services.users.completeSetup(token!, { email: 'intruder@example.com', password: PASSWORD }));
      expect(again).toBeInstanceOf(Forbidden);
      expect(await snapshot()).toEqual(before);
      expect(await services.users.issueSetupToken()).toBeNull();
      expect(await services.users.count()).toBe(1);
    });

    it('lets only one of two concurrent uses of the setup link create an Administrator', async () => {
      const token = await services.users.issueSetupToken();
      const results = await Promise.allSettled([
        services.users.completeSetup(token!, { email: 'one@example.com', password: PASSWORD }),
        services.users.completeSetup(token!, { email: 'two@example.com', password: PASSWORD }),
      ]);
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
      expect(results.find((result) => result.status === 'rejected')?.reason).toBeInstanceOf(Forbidden);
      expect(await services.users.count()).toBe(1);
    });

    it('refuses a wrong setup token, and the right one once any user exists, writing nothing', async () => {
      const token = await services.users.issueSetupToken();
      const before = await snapshot();
      const almost = `${token!.slice(0, -1)}${token!.endsWith('A') ? 'B' : 'A'}`;
      for (const wrong of ['', 'x', almost, 42 as unknown as string]) {
        expect(await rejectionOf(services.users.completeSetup(wrong, { email: 'guess@example.com', password: PASSWORD }))).toBeInstanceOf(Forbidden);
      }
      expect(await snapshot()).toEqual(before);

      await createUser('someone@example.com');
      const withUser = await snapshot();
      expect(await rejectionOf(services.users.completeSetup(token!, { email: 'late@example.com', password: PASSWORD }))).toBeInstanceOf(Forbidden);
      expect(await snapshot()).toEqual(withUser);
    });

    it('refuses a setup token when none was ever issued', async () => {
      const before = await snapshot();
      expect(await rejectionOf(services.users.completeSetup('anything', { email: 'guess@example.com', password: PASSWORD }))).toBeInstanceOf(Forbidden);
      expect(await snapshot()).toEqual(before);
    });

    it('stores only a hash of the setup token, and a newer token replaces the older one', async () => {
      const older = await services.users.issueSetupToken();
      const newer = await services.users.issueSetupToken();
      expect(newer).not.toBe(older);
      const settings = JSON.stringify((await snapshot()).settings);
      expect(settings).not.toContain(older!);
      expect(settings).not.toContain(newer!);
      expect(await rejectionOf(services.users.completeSetup(older!, { email: 'old@example.com', password: PASSWORD }))).toBeInstanceOf(Forbidden);
      expect((await services.users.completeSetup(newer!, { email: 'new@example.com', password: PASSWORD })).email).toBe('new@example.com');
    });

    it('refuses a bad setup form naming each field, and the link keeps working', async () => {
      const token = await services.users.issueSetupToken();
      const before = await snapshot();
      expect(fieldsOf(await rejectionOf(services.users.completeSetup(token!, { email: 'founder', password: 'short' })))).toEqual(['email', 'password']);
      expect(await snapshot()).toEqual(before);
      expect((await services.users.completeSetup(token!, { email: 'founder@example.com', password: PASSWORD })).roles[0]?.name).toBe('Administrator');
    });
  });
});
