import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../actor.js';
import { PERMISSION_CATEGORIES, PERMISSION_KEYS, PERMISSIONS } from '../../../shared/permissions.js';
import { testDialects } from '../../../../test/support/databases.js';
import { accessToken, actorWith } from '../../../../test/support/oauth.js';
import { fieldsOf, rest, stateOf, unique, type Caller } from '../../../../test/support/rest.js';
import { startTestServer, type TestServer } from '../../../../test/support/server.js';
import type { Role } from './roles.service.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UNKNOWN_ID = '3f1d2c4b-5a6e-4f70-8192-a3b4c5d6e7f8';

describe.each(testDialects())('REST /api/v1/roles and /api/v1/permissions on %s', (dialect) => {
  let server: TestServer;
  let admin: Caller;

  const createRole = async (body: Record<string, unknown>) => {
    const answer = await rest<Role>(server, 'POST', '/api/v1/roles', admin, body);
    expect(answer.status, answer.text).toBe(201);
    return answer.body;
  };

  beforeAll(async () => {
    server = await startTestServer(dialect);
    admin = { token: (await actorWith(server, 'roles admin', 'Administrator')).token };
  });
  afterAll(async () => server?.close());

  it('lists the built-in roles with their catalog permissions, and custom roles, as {items}', async () => {
    const custom = await createRole({ name: `listed ${unique()}`, permissions: ['users:read'] });
    const answer = await rest<{ items: Role[] }>(server, 'GET', '/api/v1/roles', admin);
    expect(answer.status).toBe(200);
    expect(Object.keys(answer.body)).toEqual(['items']);
    const byName = new Map(answer.body.items.map((role) => [role.name, role]));
    expect(byName.get('Administrator')).toMatchObject({ builtIn: true, permissions: [...PERMISSION_KEYS] });
    expect(byName.get('Viewer')).toMatchObject({ builtIn: true, permissions: PERMISSION_KEYS.filter((key) => key.endsWith(':read')) });
    expect(byName.get(custom.name)).toEqual(custom);
  });

  it('creates a role: 201 with exactly the Role fields, permissions deduplicated in catalog order, and an audit entry', async () => {
    const name = `Support ${unique()}`;
    const answer = await rest<Role>(server, 'POST', '/api/v1/roles', admin, {
      name: `  ${name}  `,
      description: 'Helps customers',
      permissions: ['users:read', 'clients:read', 'users:read'],
    });
    expect(answer.status, answer.text).toBe(201);
    expect(answer.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name,
      description: 'Helps customers',
      builtIn: false,
      permissions: ['clients:read', 'users:read'],
      createdAt: expect.stringMatching(ISO),
      updatedAt: expect.stringMatching(ISO),
    });
    expect((await rest(server, 'GET', `/api/v1/roles/${answer.body.id}`, admin)).body).toEqual(answer.body);
    const events = await server.services.audit.list(SYSTEM_ACTOR, { targetId: answer.body.id });
    expect(events.items.map((event) => event.action)).toEqual(['role.created']);
  });

  it('creates a role without description or permissions as an empty one', async () => {
    const role = await createRole({ name: `empty ${unique()}` });
    expect(role).toMatchObject({ description: '', permissions: [] });
  });

  it('answers 409 to a second role of the same name, whatever its case and spacing, and creates nothing', async () => {
    const name = `Operators ${unique()}`;
    await createRole({ name });
    const before = await stateOf(server);
    const answer = await rest(server, 'POST', '/api/v1/roles', admin, { name: ` ${name.toUpperCase()} ` });
    expect(answer.status).toBe(409);
    expect(answer.body).toMatchObject({ status: 409, code: 'conflict' });
    expect(await stateOf(server)).toEqual(before);
  });

  it('answers 409 to a built-in role’s name', async () => {
    expect((await rest(server, 'POST', '/api/v1/roles', admin, { name: 'administrator' })).status).toBe(409);
  });

  it('gives one 201 and otherwise 409 when the same new name is created concurrently', async () => {
    const name = `raced ${unique()}`;
    const answers = await Promise.all(Array.from({ length: 6 }, () => rest(server, 'POST', '/api/v1/roles', admin, { name })));
    expect(answers.map((answer) => answer.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
  });

  it.each([
    ['a missing name', {}, ['name']],
    ['a name of spaces', { name: '   ' }, ['name']],
    ['a name that is not a string', { name: 7 }, ['name']],
    ['a name over 100 characters', { name: 'x'.repeat(101) }, ['name']],
    ['a description over 1000 characters', { name: 'long', description: 'x'.repeat(1001) }, ['description']],
    ['a permission outside the catalog', { name: 'typo', permissions: ['clients:read', 'clients:raed'] }, ['permissions[1]']],
    ['permissions that are not a list', { name: 'not a list', permissions: 'clients:read' }, ['permissions']],
    ['an unknown field', { name: 'extra', builtIn: true }, ['builtIn']],
    ['several wrong fields at once', { name: '', permissions: ['nope'] }, ['name', 'permissions[0]']],
  ])('answers 400 naming each bad field for %s, and creates nothing', async (_what, body, fields) => {
    const before = await stateOf(server);
    const answer = await rest(server, 'POST', '/api/v1/roles', admin, body);
    expect(answer.status, answer.text).toBe(400);
    expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(answer.body).toMatchObject({ status: 400, code: 'bad_input' });
    expect(fieldsOf(answer).sort()).toEqual([...fields].sort());
    expect(await stateOf(server)).toEqual(before);
  });

  it('changes a custom role’s name, description and permissions, and records what changed', async () => {
    const role = await createRole({ name: `before ${unique()}`, permissions: ['clients:read'] });
    const name = `after ${unique()}`;
    const answer = await rest<Role>(server, 'PATCH', `/api/v1/roles/${role.id}`, admin, {
      name,
      description: 'now described',
      permissions: ['roles:read', 'clients:read'],
    });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body).toMatchObject({
      id: role.id,
      name,
      description: 'now described',
      permissions: ['clients:read', 'roles:read'],
      createdAt: role.createdAt,
    });
    const [event] = (await server.services.audit.list(SYSTEM_ACTOR, { targetId: role.id, action: 'role.updated' })).items;
    expect(event?.details).toEqual({
      name: { from: role.name, to: name },
      description: true,
      permissions: { from: ['clients:read'], to: ['clients:read', 'roles:read'] },
    });
  });

  it('takes `description: null` as clearing the description', async () => {
    const role = await createRole({ name: `described ${unique()}`, description: 'something' });
    const answer = await rest<Role>(server, 'PATCH', `/api/v1/roles/${role.id}`, admin, { description: null });
    expect(answer.body.description).toBe('');
  });

  it('answers 409 to renaming a role to another role’s name, and changes nothing', async () => {
    const first = await createRole({ name: `first ${unique()}` });
    const second = await createRole({ name: `second ${unique()}` });
    const before = await stateOf(server);
    const answer = await rest(server, 'PATCH', `/api/v1/roles/${second.id}`, admin, { name: first.name.toUpperCase() });
    expect(answer.status).toBe(409);
    expect(await stateOf(server)).toEqual(before);
  });

  it('lets a role be renamed in its own name’s case', async () => {
    const role = await createRole({ name: `casing ${unique()}` });
    const answer = await rest<Role>(server, 'PATCH', `/api/v1/roles/${role.id}`, admin, { name: role.name.toUpperCase() });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body.name).toBe(role.name.toUpperCase());
  });

  it.each([
    ['an empty body', {}, ['body']],
    ['a permission outside the catalog', { permissions: ['everything'] }, ['permissions[0]']],
    ['an unknown field', { builtIn: false }, ['builtIn']],
    ['a name of spaces', { name: ' ' }, ['name']],
  ])('answers 400 naming the field for a change with %s', async (_what, body, fields) => {
    const role = await createRole({ name: `patched ${unique()}` });
    const answer = await rest(server, 'PATCH', `/api/v1/roles/${role.id}`, admin, body);
    expect(answer.status, answer.text).toBe(400);
    expect(fieldsOf(answer)).toEqual(fields);
  });

  it.each(['Administrator', 'Viewer'])('answers 409 to changing or deleting the built-in %s role, which stays as it was', async (name) => {
    const role = (await server.services.roles.list(SYSTEM_ACTOR)).find((candidate) => candidate.name === name)!;
    const before = await stateOf(server);
    const patched = await rest(server, 'PATCH', `/api/v1/roles/${role.id}`, admin, { permissions: [] });
    expect(patched.status).toBe(409);
    expect(patched.body).toMatchObject({ code: 'conflict' });
    expect((await rest(server, 'DELETE', `/api/v1/roles/${role.id}`, admin)).status).toBe(409);
    expect(await stateOf(server)).toEqual(before);
    expect(await server.services.roles.get(SYSTEM_ACTOR, role.id)).toEqual(role);
  });

  it('deletes a custom role (204): it is gone, and the clients that held it have no role', async () => {
    const role = await createRole({ name: `doomed ${unique()}`, permissions: ['clients:read'] });
    const holder = await server.services.clients.create(SYSTEM_ACTOR, { name: `holder ${unique()}`, roleId: role.id });
    const answer = await rest(server, 'DELETE', `/api/v1/roles/${role.id}`, admin);
    expect(answer.status).toBe(204);
    expect(answer.text).toBe('');
    expect((await rest(server, 'GET', `/api/v1/roles/${role.id}`, admin)).status).toBe(404);
    expect((await server.services.clients.get(SYSTEM_ACTOR, holder.client.id)).role).toBeNull();
    expect((await rest(server, 'DELETE', `/api/v1/roles/${role.id}`, admin)).status).toBe(404);
  });

  it('applies a role change to the clients holding it on their next request, within their token’s scope', async () => {
    const role = await createRole({ name: `changing ${unique()}`, permissions: ['clients:read'] });
    const holder = await server.services.clients.create(SYSTEM_ACTOR, { name: `holder ${unique()}`, roleId: role.id });
    const caller = { token: await accessToken(server, { id: holder.client.id, secret: holder.clientSecret }) };
    expect((await rest(server, 'GET', '/api/v1/clients', caller)).status).toBe(200);
    expect((await rest(server, 'PATCH', `/api/v1/roles/${role.id}`, admin, { permissions: ['roles:read'] })).status).toBe(200);
    expect((await rest(server, 'GET', '/api/v1/clients', caller)).status).toBe(403);
    // A permission the role gained is outside the scope the token was issued with: a new token has it.
    expect((await rest(server, 'GET', `/api/v1/roles/${role.id}`, caller)).status).toBe(403);
    const fresh = { token: await accessToken(server, { id: holder.client.id, secret: holder.clientSecret }) };
    expect((await rest(server, 'GET', `/api/v1/roles/${role.id}`, fresh)).status).toBe(200);
  });

  it('answers 404 for an unknown role id on GET, PATCH and DELETE', async () => {
    for (const [method, body] of [
      ['GET', undefined],
      ['PATCH', { name: 'ghost' }],
      ['DELETE', undefined],
    ] as const) {
      const answer = await rest(server, method, `/api/v1/roles/${UNKNOWN_ID}`, admin, body);
      expect(answer.status, method).toBe(404);
      expect(answer.body).toMatchObject({ code: 'not_found' });
    }
  });

  it('finds a role by its id in upper case too', async () => {
    const role = await createRole({ name: `upper ${unique()}` });
    expect((await rest(server, 'GET', `/api/v1/roles/${role.id.toUpperCase()}`, admin)).body).toEqual(role);
  });

  it('serves the permission catalog by category, without `granted`, to any authenticated caller', async () => {
    const nobody = await actorWith(server, `no role ${unique()}`, null);
    const answer = await rest<{ categories: { name: string; permissions: Record<string, unknown>[] }[] }>(server, 'GET', '/api/v1/permissions', {
      token: nobody.token,
    });
    expect(answer.status).toBe(200);
    expect(answer.body.categories.map((category) => category.name)).toEqual([...PERMISSION_CATEGORIES]);
    expect(answer.body.categories.flatMap((category) => category.permissions)).toEqual(
      PERMISSIONS.map((permission) => ({ key: permission.key, name: permission.name, description: permission.description })),
    );
    for (const category of answer.body.categories) {
      for (const permission of category.permissions) expect(PERMISSIONS.find((p) => p.key === permission['key'])?.category).toBe(category.name);
    }
  });
});
