import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../actor.js';
import { PERMISSION_KEYS } from '../../../shared/permissions.js';
import { testDialects } from '../../../../test/support/databases.js';
import { actorWith } from '../../../../test/support/oauth.js';
import { fieldsOf, PASSWORD, rest, signIn, stateOf, unique, userWith, type Caller } from '../../../../test/support/rest.js';
import { startTestServer, type TestServer } from '../../../../test/support/server.js';
import type { User } from './users.service.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UNKNOWN_ID = '5c2e8f1a-3b4d-4e6f-9a0b-1c2d3e4f5a6b';

interface UserPage {
  items: User[];
  nextCursor: string | null;
  total: number;
}

describe.each(testDialects())('REST /api/v1/users on %s', (dialect) => {
  let server: TestServer;
  let admin: Caller;
  let viewerRole: { id: string; name: string };

  const email = () => `person-${unique()}@example.com`;
  const createUser = async (body: Record<string, unknown> = {}) => {
    const answer = await rest<User>(server, 'POST', '/api/v1/users', admin, { email: email(), password: PASSWORD, ...body });
    expect(answer.status, answer.text).toBe(201);
    return answer.body;
  };
  /** Whether a console session still answers: 200 or 401. */
  const sessionStatus = async (session: Awaited<ReturnType<typeof signIn>>) => (await rest(server, 'GET', '/api/v1/me', { session })).status;

  beforeAll(async () => {
    server = await startTestServer(dialect);
    admin = { token: (await actorWith(server, 'users admin', 'Administrator')).token };
    const viewer = (await server.services.roles.list(SYSTEM_ACTOR)).find((role) => role.name === 'Viewer')!;
    viewerRole = { id: viewer.id, name: viewer.name };
  });
  afterAll(async () => server?.close());

  it('creates a user: 201 with exactly the User fields, the email trimmed, and never the password', async () => {
    const address = email();
    const password = `secret-${unique()}-horse-battery`;
    const answer = await rest<User>(server, 'POST', '/api/v1/users', admin, { email: ` ${address} `, name: 'Ada', password, roleIds: [viewerRole.id] });
    expect(answer.status, answer.text).toBe(201);
    expect(answer.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      email: address,
      name: 'Ada',
      enabled: true,
      roles: [viewerRole],
      lastLoginAt: null,
      createdAt: expect.stringMatching(ISO),
      updatedAt: expect.stringMatching(ISO),
    });
    expect(answer.text).not.toContain(password);
    expect(answer.text).not.toContain('argon2');
    const fetched = await rest<User>(server, 'GET', `/api/v1/users/${answer.body.id}`, admin);
    expect(fetched.body).toEqual(answer.body);
    expect(fetched.text).not.toContain('argon2');
    // The password works: the user can sign in with it.
    expect((await signIn(server, address, password)).userId).toBe(answer.body.id);
  });

  it('names a user after their email when no name is given', async () => {
    const address = `grace.hopper-${unique()}@example.com`;
    const user = await createUser({ email: address });
    expect(user.name).toBe(address.split('@')[0]);
  });

  it('answers 409 to a second user with the same email in another case, and creates nothing', async () => {
    const address = email();
    await createUser({ email: address });
    const before = await stateOf(server);
    const answer = await rest(server, 'POST', '/api/v1/users', admin, { email: address.toUpperCase(), password: PASSWORD });
    expect(answer.status).toBe(409);
    expect(answer.body).toMatchObject({ status: 409, code: 'conflict' });
    expect(await stateOf(server)).toEqual(before);
  });

  it('gives one 201 and otherwise 409 when the same email is registered concurrently', async () => {
    const address = email();
    const answers = await Promise.all(Array.from({ length: 4 }, () => rest(server, 'POST', '/api/v1/users', admin, { email: address, password: PASSWORD })));
    expect(answers.map((answer) => answer.status).sort()).toEqual([201, 409, 409, 409]);
  });

  it.each([
    ['a missing email', { password: PASSWORD }, ['email']],
    ['an email that is not an address', { email: 'nobody', password: PASSWORD }, ['email']],
    ['a missing password', { email: 'missing-password@example.com' }, ['password']],
    ['a password under 12 characters', { email: 'short@example.com', password: 'short' }, ['password']],
    ['a role id that is not a UUID', { email: 'bad-role@example.com', password: PASSWORD, roleIds: ['admin'] }, ['roleIds[0]']],
    ['a role id of no role', { email: 'no-role@example.com', password: PASSWORD, roleIds: [UNKNOWN_ID] }, ['roleIds']],
    ['an unknown field', { email: 'extra@example.com', password: PASSWORD, isAdmin: true }, ['isAdmin']],
    ['a name of spaces', { email: 'spaces@example.com', password: PASSWORD, name: '   ' }, ['name']],
    ['several wrong fields at once', { email: '', password: 'x' }, ['email', 'password']],
  ])('answers 400 naming each bad field for %s, and creates nothing', async (_what, body, fields) => {
    const before = await stateOf(server);
    const answer = await rest(server, 'POST', '/api/v1/users', admin, body);
    expect(answer.status, answer.text).toBe(400);
    expect(answer.body).toMatchObject({ status: 400, code: 'bad_input' });
    expect(fieldsOf(answer).sort()).toEqual([...fields].sort());
    // A problem body about a password never repeats it.
    if ('password' in body && typeof body.password === 'string' && body.password.length > 3) expect(answer.text).not.toContain(body.password);
    expect(await stateOf(server)).toEqual(before);
  });

  it('lists users by email in pages: every user exactly once, with the total', async () => {
    for (let i = 0; i < 3; i += 1) await createUser();
    const seen: string[] = [];
    let cursor: string | null = null;
    let total = -1;
    let pages = 0;
    do {
      const query: string = cursor === null ? '' : `&cursor=${cursor}`;
      const answer = await rest<UserPage>(server, 'GET', `/api/v1/users?limit=2${query}`, admin);
      expect(answer.status, answer.text).toBe(200);
      expect(answer.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...answer.body.items.map((user) => user.email.toLowerCase()));
      total = answer.body.total;
      cursor = answer.body.nextCursor;
      pages += 1;
    } while (cursor !== null && pages < 100);
    expect(cursor).toBeNull();
    expect(seen.length).toBe(total);
    expect(new Set(seen).size).toBe(total);
    expect(seen).toEqual([...seen].sort());
    expect(total).toBe(await server.services.users.count());
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=201', 'limit'],
    ['limit=many', 'limit'],
    ['cursor=not-a-cursor!', 'cursor'],
    [`cursor=${Buffer.from(JSON.stringify(['name', 'x', 'y'])).toString('base64url')}`, 'cursor'],
    ['sort=email', 'sort'],
  ])('answers 400 naming the parameter for ?%s', async (query, field) => {
    const answer = await rest(server, 'GET', `/api/v1/users?${query}`, admin);
    expect(answer.status, answer.text).toBe(400);
    expect(fieldsOf(answer)).toEqual([field]);
  });

  it('changes email, name and roles, and records each change', async () => {
    const user = await createUser();
    const address = email();
    const answer = await rest<User>(server, 'PATCH', `/api/v1/users/${user.id}`, admin, { email: address, name: 'Renamed', roleIds: [viewerRole.id] });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body).toMatchObject({ id: user.id, email: address, name: 'Renamed', roles: [viewerRole], enabled: true });
    const actions = (await server.services.audit.list(SYSTEM_ACTOR, { targetId: user.id })).items.map((event) => event.action);
    expect(actions).toEqual(expect.arrayContaining(['user.email_changed', 'user.renamed', 'user.roles_changed']));
    expect((await rest<User>(server, 'PATCH', `/api/v1/users/${user.id}`, admin, { roleIds: [] })).body.roles).toEqual([]);
  });

  it('answers 409 to changing an email to another user’s, and changes nothing', async () => {
    const first = await createUser();
    const second = await createUser();
    const before = await stateOf(server);
    const answer = await rest(server, 'PATCH', `/api/v1/users/${second.id}`, admin, { email: first.email.toUpperCase() });
    expect(answer.status).toBe(409);
    expect(await stateOf(server)).toEqual(before);
  });

  it.each([
    ['an empty body', {}, ['body']],
    ['enabled that is not a boolean', { enabled: 'no' }, ['enabled']],
    ['a short password', { password: 'short' }, ['password']],
    ['a null name', { name: null }, ['name']],
    ['an unknown field', { roles: [] }, ['roles']],
  ])('answers 400 naming the field for a change with %s, and changes nothing', async (_what, body, fields) => {
    const user = await createUser();
    const before = await stateOf(server);
    const answer = await rest(server, 'PATCH', `/api/v1/users/${user.id}`, admin, body);
    expect(answer.status, answer.text).toBe(400);
    expect(fieldsOf(answer)).toEqual(fields);
    expect(await stateOf(server)).toEqual(before);
  });

  it('ends a user’s sessions when they are disabled: re-enabling does not bring the old session back', async () => {
    const { user, session, email: address, password } = await userWith(server, 'Viewer');
    expect(await sessionStatus(session)).toBe(200);
    expect((await rest(server, 'PATCH', `/api/v1/users/${user.id}`, admin, { enabled: false })).status).toBe(200);
    expect(await sessionStatus(session)).toBe(401);
    await expect(signIn(server, address, password)).rejects.toThrow(/401/);
    const enabled = await rest<User>(server, 'PATCH', `/api/v1/users/${user.id}`, admin, { enabled: true });
    expect(enabled.body.enabled).toBe(true);
    expect(await sessionStatus(session)).toBe(401);
    expect(await sessionStatus(await signIn(server, address, password))).toBe(200);
  });

  it('ends a user’s sessions when their password is changed; the new password signs in, the old one does not', async () => {
    const { user, session, email: address, password } = await userWith(server, 'Viewer');
    const other = await signIn(server, address, password);
    const newPassword = `new-${unique()}-password`;
    const answer = await rest(server, 'PATCH', `/api/v1/users/${user.id}`, admin, { password: newPassword });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.text).not.toContain(newPassword);
    expect(await sessionStatus(session)).toBe(401);
    expect(await sessionStatus(other)).toBe(401);
    await expect(signIn(server, address, password)).rejects.toThrow(/401/);
    expect(await sessionStatus(await signIn(server, address, newPassword))).toBe(200);
  });

  it('keeps a user’s sessions when only their name or roles change', async () => {
    const { user, session } = await userWith(server, 'Viewer');
    expect((await rest(server, 'PATCH', `/api/v1/users/${user.id}`, admin, { name: 'Still signed in', roleIds: [] })).status).toBe(200);
    expect(await sessionStatus(session)).toBe(200);
  });

  it('deletes a user (204): gone, their sessions ended, and a second delete is 404', async () => {
    const { user, session } = await userWith(server, 'Viewer');
    const answer = await rest(server, 'DELETE', `/api/v1/users/${user.id}`, admin);
    expect(answer.status).toBe(204);
    expect(answer.text).toBe('');
    expect(await sessionStatus(session)).toBe(401);
    expect(await server.services.db.selectFrom('sessions').select('user_id').where('user_id', '=', user.id).execute()).toEqual([]);
    expect((await rest(server, 'GET', `/api/v1/users/${user.id}`, admin)).status).toBe(404);
    expect((await rest(server, 'DELETE', `/api/v1/users/${user.id}`, admin)).status).toBe(404);
  });

  it('answers 409 to a user deleting their own account, which stays', async () => {
    const { user, session } = await userWith(server, 'Administrator');
    const before = await stateOf(server);
    const answer = await rest(server, 'DELETE', `/api/v1/users/${user.id}`, { session });
    expect(answer.status, answer.text).toBe(409);
    expect(await stateOf(server)).toEqual(before);
    expect(await sessionStatus(session)).toBe(200);
  });

  it('lets a signed-in user with users:write change their own password, which ends their own sessions too', async () => {
    const writer = await userWith(server, ['users:read', 'users:write']);
    const newPassword = `mine-${unique()}-password`;
    const changed = await rest(
      server,
      'PATCH',
      `/api/v1/users/${writer.user.id}`,
      { session: writer.session },
      { password: newPassword, currentPassword: writer.password },
    );
    expect(changed.status, changed.text).toBe(200);
    expect(await sessionStatus(writer.session)).toBe(401);
    expect(await sessionStatus(await signIn(server, writer.email, newPassword))).toBe(200);
  });

  it('shows a user’s effective permissions: the union of their roles, every catalog key with `granted`', async () => {
    const reader = await server.services.roles.create(SYSTEM_ACTOR, { name: `reader ${unique()}`, permissions: ['clients:read'] });
    const auditor = await server.services.roles.create(SYSTEM_ACTOR, { name: `auditor ${unique()}`, permissions: ['audit:read', 'clients:read'] });
    const user = await createUser({ roleIds: [reader.id, auditor.id] });
    const answer = await rest<{ categories: { name: string; permissions: { key: string; granted: boolean }[] }[] }>(
      server,
      'GET',
      `/api/v1/users/${user.id}/permissions`,
      admin,
    );
    expect(answer.status).toBe(200);
    const permissions = answer.body.categories.flatMap((category) => category.permissions);
    expect(permissions.map((permission) => permission.key)).toEqual([...PERMISSION_KEYS]);
    expect(permissions.filter((permission) => permission.granted).map((permission) => permission.key)).toEqual(['clients:read', 'audit:read']);
  });

  it('answers 404 for an unknown user id on every route that takes one', async () => {
    for (const [method, path, body] of [
      ['GET', '', undefined],
      ['PATCH', '', { name: 'ghost' }],
      ['DELETE', '', undefined],
      ['GET', '/permissions', undefined],
    ] as const) {
      const answer = await rest(server, method, `/api/v1/users/${UNKNOWN_ID}${path}`, admin, body);
      expect(answer.status, `${method} ${path}`).toBe(404);
      expect(answer.body).toMatchObject({ code: 'not_found' });
    }
  });
});

describe.each(testDialects())('REST /api/v1/users keeps an Administrator on %s', (dialect) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer(dialect);
  });
  afterAll(async () => server?.close());

  it('answers 409 to disabling, deleting or unassigning the last enabled Administrator, who keeps the role', async () => {
    const { user, session } = await userWith(server, 'Administrator');
    const operator = { token: (await actorWith(server, 'operator', 'Administrator')).token };
    const before = await stateOf(server);
    for (const [method, body] of [
      ['PATCH', { enabled: false }],
      ['PATCH', { roleIds: [] }],
      ['DELETE', undefined],
    ] as const) {
      const answer = await rest(server, method, `/api/v1/users/${user.id}`, operator, body);
      expect(answer.status, `${method} ${JSON.stringify(body)}`).toBe(409);
      expect(answer.body).toMatchObject({ code: 'conflict' });
    }
    expect(await stateOf(server)).toEqual(before);
    // Refused changes end no session.
    expect((await rest(server, 'GET', '/api/v1/me', { session })).status).toBe(200);
  });
});
