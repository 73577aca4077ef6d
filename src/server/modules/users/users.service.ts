import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { requireHoldsAll, requirePermission, SYSTEM_ACTOR, type Actor } from '../../actor.js';
import type { ChangeFeed } from '../../changes.js';
import type { Clock } from '../../clock.js';
import { conflictOnDuplicate } from '../../db/constraint-errors.js';
import type { Executor } from '../../db/database.js';
import type { Database, UserRow } from '../../db/schema.js';
import { BadInput, Conflict, Forbidden, ProblemCollector, TooManyRequests } from '../../errors.js';
import { emailProblem, nameProblem, normalizeName, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, SEARCH_MAX_LENGTH, UUID_PATTERN } from '../../../shared/limits.js';
import type { PermissionKey } from '../../../shared/permissions.js';
import { recordAudit } from '../audit/audit.service.js';
import { changeSet, compareField, type ChangeSet } from '../../change-set.js';
import { recordRepeated } from '../audit/audit.aggregates.js';
import type { Throttle } from '../../throttling/throttle.service.js';
import { createRolesRepository } from '../roles/roles.repository.js';
import { grantedPermissions, permissionsOfRole } from '../roles/permissions.js';
import { checkId, findByIdOrThrow } from '../../ids.js';
import { checkPageLimit, decodePageCursor, encodeCursor, type CursorPosition } from '../../db/pagination.js';
import { createSessionsRepository } from '../auth/sessions.repository.js';
import { hashPassword, verifyPassword } from './users.password.js';
import { createUsersRepository } from './users.repository.js';
import type { User } from '../../../shared/schemas/users.js';

export type { User };

/** A sign-in check: the user, or why it failed (an admin may read the reason; the answer never says it). */
export type CredentialsCheck =
  | { readonly user: User }
  | { readonly reason: 'unknown_email' | 'bad_password' | 'disabled'; readonly account: { readonly id: string; readonly email: string } | null };

export interface CreateUserInput {
  readonly email: string;
  readonly name?: string | null;
  readonly password: string;
  readonly roleIds?: readonly string[];
}

export interface UpdateUserInput {
  readonly email?: string;
  readonly name?: string;
  readonly enabled?: boolean;
  readonly password?: string;
  readonly roleIds?: readonly string[];
  /** Needed to change one's own password or email: a session left open must not take the account over. */
  readonly currentPassword?: string;
}

/** The shared email rule, for a value that may not even be a string (GraphQL and the CLI call too). */
const emailInputProblem = (email: unknown): string | null => (typeof email === 'string' ? emailProblem(email) : 'is required and must be a string');

function passwordProblem(password: unknown): string | null {
  if (typeof password !== 'string') return 'is required and must be a string';
  if (password.length < PASSWORD_MIN_LENGTH) return `must be at least ${PASSWORD_MIN_LENGTH} characters`;
  if (password.length > PASSWORD_MAX_LENGTH) return `must be at most ${PASSWORD_MAX_LENGTH} characters`;
  return null;
}

function roleIdsProblems(roleIds: unknown, problems: ProblemCollector): string[] {
  if (!Array.isArray(roleIds)) {
    problems.add('roleIds', 'must be a list of role ids');
    return [];
  }
  roleIds.forEach((id, index) => problems.add(`roleIds[${index}]`, typeof id === 'string' && UUID_PATTERN.test(id) ? null : 'must be a UUID'));
  return [...new Set(roleIds.filter((id): id is string => typeof id === 'string').map((id) => id.toLowerCase()))];
}

const userTarget = (user: { id: string; email: string }) => ({ type: 'user' as const, id: user.id, name: user.email });

/** Users are listed by email (its lower case, then the id), the only order there is. */
const USERS_SORT = 'email';

/** A user's place in the order of `list` (by email), for a door that resumes after any item (GraphQL's edges). */
export function userPosition(user: { id: string; email: string }): CursorPosition {
  return { sort: USERS_SORT, value: user.email.toLowerCase(), id: user.id };
}

/** What an update asks to change of a stored account (roles aside); `passwordHash` is the new password's. */
function accountChanges(before: UserRow, input: UpdateUserInput, passwordHash: string | undefined): ChangeSet<UserRow> {
  const target = userTarget(before);
  return changeSet<UserRow>(
    compareField({
      current: before.email,
      requested: input.email?.trim(),
      columns: (email) => ({ email, email_key: email.toLowerCase() }),
      audit: (change) => ({ action: 'user.email_changed', target, details: change }),
    }),
    compareField({
      current: before.name,
      requested: input.name === undefined ? undefined : normalizeName(input.name),
      columns: (name) => ({ name, name_key: name.toLowerCase() }),
      audit: (change) => ({ action: 'user.renamed', target, details: change }),
    }),
    compareField({
      current: before.enabled === 1,
      requested: input.enabled,
      columns: (enabled) => ({ enabled: enabled ? 1 : 0 }),
      audit: ({ to }) => ({ action: to ? 'user.enabled' : 'user.disabled', target }),
    }),
    // A password asked for is always set anew, even the same one: its hash is not compared.
    passwordHash === undefined ? changeSet() : { patch: { password_hash: passwordHash }, audit: [{ action: 'user.password_changed', target }] },
  );
}

/** Who is asking, for the throttle of current-password checks. */
export interface RequestMeta {
  readonly address: string;
}

/** Failed sign-ins and wrong current passwords of one account share one audit entry per this window. */
export const FAILED_PASSWORD_AUDIT_WINDOW_SECONDS = 3600;

export function createUsersService(deps: {
  db: Kysely<Database>;
  clock: Clock;
  changes: ChangeFeed;
  /** The sign-in throttle: a current-password check is a password guess like a sign-in. */
  signInThrottle?: Throttle;
  /** Throttles setup attempts per address (the setup token is a secret too). */
  setupThrottle?: Throttle;
}) {
  const { db, clock, changes, signInThrottle, setupThrottle } = deps;

  async function rolesByUser(executor: Executor, userIds: readonly string[]) {
    const rows = await createUsersRepository(executor).rolesOf(userIds);
    const byUser = new Map<string, typeof rows>();
    for (const row of rows) byUser.set(row.user_id, [...(byUser.get(row.user_id) ?? []), row]);
    return byUser;
  }

  async function toUsers(executor: Executor, rows: readonly UserRow[]): Promise<User[]> {
    const roles = await rolesByUser(
      executor,
      rows.map((row) => row.id),
    );
    return rows.map((row) => ({
      id: row.id,
      email: row.email,
      name: row.name,
      enabled: row.enabled === 1,
      roles: (roles.get(row.id) ?? []).map((role) => ({ id: role.id, name: role.name })),
      lastLoginAt: row.last_login_at,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    }));
  }

  const findRow = (executor: Executor, id: string): Promise<UserRow> => findByIdOrThrow((key) => createUsersRepository(executor).findById(key), id, 'user');

  async function permissionsOf(executor: Executor, userId: string): Promise<Set<PermissionKey>> {
    const roles = (await rolesByUser(executor, [userId])).get(userId) ?? [];
    return new Set(roles.flatMap((role) => permissionsOfRole(role)));
  }

  /** Roles by id, each checked against the no-escalation rule. */
  async function rolesFor(executor: Executor, actor: Actor, roleIds: readonly string[]) {
    const rows = await createRolesRepository(executor).findByIds(roleIds);
    const found = new Set(rows.map((row) => row.id));
    const missing = roleIds.filter((id) => !found.has(id));
    if (missing.length > 0) throw new BadInput(missing.map((id) => ({ field: 'roleIds', message: `no role has the id ${id}` })));
    for (const row of rows) requireHoldsAll(actor, permissionsOfRole(row), `the role ${row.name}`);
    return rows;
  }

  /** Gives a user exactly `roleIds`; the change set holds the audit entry of the roles added and removed. */
  async function replaceRoles(executor: Executor, actor: Actor, user: UserRow, roleIds: readonly string[]): Promise<ChangeSet<UserRow>> {
    const current = ((await rolesByUser(executor, [user.id])).get(user.id) ?? []).map((role) => role.id);
    const added = roleIds.filter((roleId) => !current.includes(roleId));
    const removed = current.filter((roleId) => !roleIds.includes(roleId));
    if (added.length + removed.length === 0) return changeSet();
    const roles = await rolesFor(executor, actor, [...added, ...removed]);
    await createUsersRepository(executor).setRoles(user.id, roleIds);
    const named = (ids: string[]) => ids.map((roleId) => ({ id: roleId, name: roles.find((role) => role.id === roleId)?.name ?? roleId }));
    return { patch: {}, audit: [{ action: 'user.roles_changed', target: userTarget(user), details: { added: named(added), removed: named(removed) } }] };
  }

  async function isAdministrator(executor: Executor, userId: string): Promise<boolean> {
    return ((await rolesByUser(executor, [userId])).get(userId) ?? []).some((role) => role.built_in === 'Administrator');
  }

  /** Someone must always be able to sign in and administer: the last enabled Administrator stays. */
  async function assertAnAdministratorRemains(executor: Executor, wasAdministrator: boolean): Promise<void> {
    if (!wasAdministrator) return;
    // PostgreSQL runs these transactions side by side: unserialized, two of them could each disable
    // one of the last two Administrators while still seeing the other enabled. The lock is held to
    // commit, and the count below (a new snapshot) then sees the earlier transaction's change.
    const repository = createUsersRepository(executor);
    await repository.lockAdministratorChanges();
    if ((await repository.countEnabledAdministrators()) === 0) throw new Conflict('this would leave no enabled user with the Administrator role');
  }

  async function insertUser(executor: Executor, actor: Actor, input: CreateUserInput, roleIds: readonly string[]): Promise<UserRow> {
    const email = input.email.trim();
    const emailKey = email.toLowerCase();
    if ((await createUsersRepository(executor).findByEmailKey(emailKey)) !== undefined) throw new Conflict(`a user with the email ${email} already exists`);
    const roles = await rolesFor(executor, actor, roleIds);
    const at = clock.now().toISOString();
    const name = (input.name === undefined || input.name === null ? '' : normalizeName(input.name)) || email.split('@')[0] || email;
    const row: UserRow = {
      id: randomUUID(),
      email,
      email_key: emailKey,
      name,
      name_key: name.toLowerCase(),
      password_hash: await hashPassword(input.password),
      enabled: 1,
      last_login_at: null,
      created_at: at,
      updated_at: at,
    };
    await createUsersRepository(executor)
      .insert(row)
      .catch(conflictOnDuplicate(`a user with the email ${email} already exists`));
    await createUsersRepository(executor).setRoles(
      row.id,
      roles.map((role) => role.id),
    );
    await recordAudit(executor, clock, actor, [
      { action: 'user.created', target: userTarget(row), details: { roles: roles.map((role) => ({ id: role.id, name: role.name })) } },
    ]);
    return row;
  }

  function checkCreateInput(input: CreateUserInput): string[] {
    const problems = new ProblemCollector();
    problems.add('email', emailInputProblem(input.email));
    problems.add('password', passwordProblem(input.password));
    if (input.name !== undefined && input.name !== null) problems.add('name', typeof input.name === 'string' ? nameProblem(input.name) : 'must be a string');
    const roleIds = roleIdsProblems(input.roleIds ?? [], problems);
    problems.throwIfAny();
    return roleIds;
  }

  /**
   * Changing one's own password or email takes the current password (ASVS 6.2.3): whoever finds a
   * signed-in console, or steals its session, must not be able to lock the owner out. Checked
   * before the change's transaction, as argon2 is slow; an administrator changing another user
   * is authorised by their permissions instead.
   */
  async function requireCurrentPassword(actor: Actor, id: string, input: UpdateUserInput, meta: RequestMeta | undefined): Promise<void> {
    if (actor.type !== 'user' || actor.id !== checkId(id)) return;
    if (input.password === undefined && input.email === undefined) return;
    const row = await findRow(db, id);
    if (input.password === undefined && input.email?.trim().toLowerCase() === row.email_key) return;
    const current = input.currentPassword;
    if (current === undefined || current === null || current === '') {
      throw new BadInput({ field: 'currentPassword', message: 'is required to change your own password or email' });
    }
    // Counted with the account's sign-ins, before the password is checked: a session is no licence to guess.
    const address = meta?.address ?? 'unknown';
    const reservation = await signInThrottle?.reserve({ subject: `user:${row.email_key}`, address });
    if (reservation !== undefined && !reservation.granted) {
      const wait = reservation.retryAfterSeconds;
      throw new TooManyRequests(wait, `too many wrong passwords; retry after ${wait} seconds`);
    }
    let right: boolean;
    try {
      right = typeof current === 'string' && current.length <= PASSWORD_MAX_LENGTH && (await verifyPassword(row.password_hash, current));
    } catch (error) {
      await reservation?.succeeded().catch(() => undefined);
      throw error;
    }
    if (!right) {
      await reservation?.failed();
      await recordRepeated(db, clock, {
        key: `user.sign_in_failed:${row.id}`,
        windowSeconds: FAILED_PASSWORD_AUDIT_WINDOW_SECONDS,
        actor,
        action: 'user.sign_in_failed',
        target: userTarget(row),
        sampled: { email: row.email_key, address },
        counted: { reason: 'bad_current_password' },
      });
      throw new BadInput({ field: 'currentPassword', message: 'is not your current password' });
    }
    await reservation?.succeeded();
  }

  /** Creates the first Administrator if the setup token is the one issued and no user exists yet. */
  async function consumeSetupToken(token: string, input: CreateUserInput): Promise<User> {
    checkCreateInput({ ...input, roleIds: [] });
    const row = await db.transaction().execute(async (trx) => {
      const stored = await createUsersRepository(trx).findSetupTokenHash();
      const presented = createHash('sha256')
        .update(typeof token === 'string' ? token : '')
        .digest();
      const expected = stored === undefined ? null : Buffer.from(stored, 'base64url');
      const valid = expected !== null && expected.length === presented.length && timingSafeEqual(presented, expected);
      const refused = () => new Forbidden('the setup link is invalid or has already been used');
      if (stored === undefined || !valid || (await createUsersRepository(trx).count()) > 0) throw refused();
      // Consume the link first: a concurrent use (PostgreSQL) waits on this row, then finds it gone.
      if (!(await createUsersRepository(trx).deleteSetupTokenHash(stored))) throw refused();
      return insertUser(trx, SYSTEM_ACTOR, input, [await createRolesRepository(trx).builtInId('Administrator')]);
    });
    return (await toUsers(db, [row]))[0]!;
  }

  const service = {
    async create(actor: Actor, input: CreateUserInput): Promise<User> {
      requirePermission(actor, 'users:write');
      const roleIds = checkCreateInput(input);
      if (roleIds.length > 0) requirePermission(actor, 'roles:assign');
      const row = await db.transaction().execute((trx) => insertUser(trx, actor, input, roleIds));
      return (await toUsers(db, [row]))[0]!;
    },

    async get(actor: Actor, id: string): Promise<User> {
      requirePermission(actor, 'users:read');
      return (await toUsers(db, [await findRow(db, id)]))[0]!;
    },

    /** Users by email, a page at a time; `search` keeps those whose name or email contains it, in any case. */
    async list(actor: Actor, input: { limit?: number; cursor?: string | null; search?: string | null } = {}) {
      requirePermission(actor, 'users:read');
      const problems = new ProblemCollector();
      const limit = checkPageLimit(input.limit, problems);
      const search = input.search?.normalize('NFC').trim() ?? null;
      if (search !== null && search.length > SEARCH_MAX_LENGTH) problems.add('search', `must be at most ${SEARCH_MAX_LENGTH} characters`);
      problems.throwIfAny();
      const position = decodePageCursor(input.cursor, USERS_SORT);
      const repository = createUsersRepository(db);
      const query = { limit, after: position === null ? null : { emailKey: String(position.value), id: position.id }, search: search === '' ? null : search };
      const [{ rows, hasMore }, total] = await Promise.all([repository.list(query), repository.count(query.search)]);
      const last = rows.at(-1);
      return {
        items: await toUsers(db, rows),
        nextCursor: hasMore && last !== undefined ? encodeCursor({ sort: USERS_SORT, value: last.email_key, id: last.id }) : null,
        total,
      };
    },

    async update(actor: Actor, id: string, input: UpdateUserInput, meta?: RequestMeta): Promise<User> {
      const touchesAccount = input.email !== undefined || input.name !== undefined || input.enabled !== undefined || input.password !== undefined;
      if (touchesAccount || input.roleIds === undefined) requirePermission(actor, 'users:write');
      const problems = new ProblemCollector();
      if (input.email !== undefined) problems.add('email', emailInputProblem(input.email));
      if (input.name !== undefined) problems.add('name', typeof input.name === 'string' ? nameProblem(input.name) : 'must be a string');
      if (input.enabled !== undefined && typeof input.enabled !== 'boolean') problems.add('enabled', 'must be true or false');
      if (input.password !== undefined) problems.add('password', passwordProblem(input.password));
      const roleIds = input.roleIds === undefined ? undefined : roleIdsProblems(input.roleIds, problems);
      problems.throwIfAny();
      if (roleIds !== undefined) requirePermission(actor, 'roles:assign');
      await requireCurrentPassword(actor, id, input, meta);
      const passwordHash = input.password === undefined ? undefined : await hashPassword(input.password);

      const row = await changes.transaction(async (trx, recordChange) => {
        const before = await findRow(trx, id);
        recordChange({ kind: 'user', id: before.id });
        // Changing an account's email, password or state is a way into it: only for someone who
        // already holds everything that account holds (else a users:write holder takes over an admin).
        if (actor.id !== before.id) requireHoldsAll(actor, await permissionsOf(trx, before.id), 'this user');
        const wasAdministrator = await isAdministrator(trx, before.id);
        const account = accountChanges(before, input, passwordHash);
        if (account.patch.email_key !== undefined) {
          const existing = await createUsersRepository(trx).findByEmailKey(account.patch.email_key);
          if (existing !== undefined && existing.id !== before.id) throw new Conflict(`a user with the email ${account.patch.email} already exists`);
        }
        const { patch, audit } = changeSet(account, roleIds === undefined ? changeSet() : await replaceRoles(trx, actor, before, roleIds));
        // A stolen session must not outlive the password it was opened with, nor a disabled account
        // come back with its old sessions when re-enabled (ASVS 3.3.3). In the change's
        // transaction, so every door (REST, GraphQL) ends them alike, and a refused change ends none.
        if (passwordHash !== undefined || input.enabled === false) await createSessionsRepository(trx).deleteAllOfUser(before.id);
        if (audit.length === 0) return before;
        await createUsersRepository(trx)
          .update(before.id, { ...patch, updated_at: clock.now().toISOString() })
          .catch(conflictOnDuplicate(`a user with the email ${patch.email ?? ''} already exists`));
        await recordAudit(trx, clock, actor, audit);
        await assertAnAdministratorRemains(trx, wasAdministrator);
        return findRow(trx, before.id);
      });
      return (await toUsers(db, [row]))[0]!;
    },

    async delete(actor: Actor, id: string): Promise<void> {
      requirePermission(actor, 'users:write');
      await changes.transaction(async (trx, recordChange) => {
        const row = await findRow(trx, id);
        recordChange({ kind: 'user', id: row.id });
        if (actor.id === row.id) throw new Conflict('you cannot delete your own account');
        requireHoldsAll(actor, await permissionsOf(trx, row.id), 'this user');
        const wasAdministrator = await isAdministrator(trx, row.id);
        // The foreign key cascades too; said here, where the rule lives.
        await createSessionsRepository(trx).deleteAllOfUser(row.id);
        await createUsersRepository(trx).delete(row.id);
        await recordAudit(trx, clock, actor, [{ action: 'user.deleted', target: userTarget(row) }]);
        await assertAnAdministratorRemains(trx, wasAdministrator);
      });
    },

    async permissions(actor: Actor, id: string) {
      requirePermission(actor, 'users:read');
      const row = await findRow(db, id);
      return grantedPermissions(await permissionsOf(db, row.id));
    },

    /**
     * The batch form of `permissions`, for a page of users (GraphQL's loader): one query whatever
     * the number of ids. Unknown ids map to the empty grant, as a user without roles does.
     */
    async permissionsOfMany(actor: Actor, ids: readonly string[]) {
      requirePermission(actor, 'users:read');
      ids.forEach((id) => checkId(id));
      const roles = await rolesByUser(
        db,
        ids.map((id) => id.toLowerCase()),
      );
      return new Map(ids.map((id) => [id, grantedPermissions(new Set((roles.get(id.toLowerCase()) ?? []).flatMap((role) => permissionsOfRole(role))))]));
    },

    /** The permissions a signed-in user holds now (the union of their roles'). */
    permissionsOf: (userId: string) => permissionsOf(db, userId),

    /** Checks an email and password; null for any failure, with the same work whether the account exists. */
    async verifyCredentials(email: string, password: string): Promise<User | null> {
      const result = await service.checkCredentials(email, password);
      return 'user' in result ? result.user : null;
    },

    /**
     * The same check, saying why it failed (for the audit log, never for the answer): the same
     * work whether the account exists.
     */
    async checkCredentials(email: string, password: string): Promise<CredentialsCheck> {
      const row = typeof email === 'string' ? await createUsersRepository(db).findByEmailKey(email.trim().toLowerCase()) : undefined;
      const ok = await verifyPassword(row?.password_hash ?? null, typeof password === 'string' ? password : '');
      if (row === undefined) return { reason: 'unknown_email', account: null };
      const account = { id: row.id, email: row.email };
      if (!ok) return { reason: 'bad_password', account };
      if (row.enabled !== 1) return { reason: 'disabled', account };
      await createUsersRepository(db).update(row.id, { last_login_at: clock.now().toISOString() });
      return { user: (await toUsers(db, [row]))[0]! };
    },

    async count(): Promise<number> {
      return createUsersRepository(db).count();
    },

    /** With KOIOS_ADMIN_EMAIL/PASSWORD set and no user yet, create that Administrator. */
    async ensureFirstAdministrator(admin: { email: string; password: string }): Promise<User | null> {
      const problems = new ProblemCollector();
      problems.add('KOIOS_ADMIN_EMAIL', emailInputProblem(admin.email));
      problems.add('KOIOS_ADMIN_PASSWORD', passwordProblem(admin.password));
      problems.throwIfAny();
      const row = await db.transaction().execute(async (trx) => {
        // Two instances starting together on an empty PostgreSQL database would both count no
        // user and insert; the second then failed its start on the unique email.
        await createUsersRepository(trx).lockAdministratorChanges();
        if ((await createUsersRepository(trx).count()) > 0) return null;
        return insertUser(trx, SYSTEM_ACTOR, { email: admin.email, password: admin.password, name: 'Administrator' }, [
          await createRolesRepository(trx).builtInId('Administrator'),
        ]);
      });
      return row === null ? null : (await toUsers(db, [row]))[0]!;
    },

    /**
     * A one-time setup token while no user exists: only its SHA-256 is stored, and it
     * stops working once a user exists. Returns null when users exist.
     */
    async issueSetupToken(): Promise<string | null> {
      if ((await createUsersRepository(db).count()) > 0) return null;
      const token = randomBytes(32).toString('base64url');
      const hash = createHash('sha256').update(token).digest('base64url');
      await createUsersRepository(db).saveSetupTokenHash(hash);
      return token;
    },

    async completeSetup(token: string, input: CreateUserInput, meta?: RequestMeta): Promise<User> {
      // Per address only: the link holds 256 random bits, so others' wrong guesses must never
      // lock out the operator who holds the right one.
      const reservation = await setupThrottle?.reserve({ subject: null, address: meta?.address ?? 'unknown' });
      if (reservation !== undefined && !reservation.granted) throw new TooManyRequests(reservation.retryAfterSeconds);
      try {
        const user = await consumeSetupToken(token, input);
        await reservation?.succeeded();
        return user;
      } catch (error) {
        // Only a refused link is a guess; a bad form or an outage gives the slot back.
        await (error instanceof Forbidden ? reservation?.failed() : reservation?.succeeded());
        throw error;
      }
    },
  };
  return service;
}

export type UsersService = ReturnType<typeof createUsersService>;
