import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SYSTEM_ACTOR } from '../actor.js';
import type { PermissionKey } from '../../shared/permissions.js';
import { testDialects } from '../../../test/support/databases.js';
import { actorWith } from '../../../test/support/oauth.js';
import { allBut, clientsLackingOne, fieldsOf, PASSWORD, rest, stateOf, unique, userWith, type Caller } from '../../../test/support/rest.js';
import { startTestServer, type TestServer } from '../../../test/support/server.js';

/**
 * Who may call what: every /api/v1 route behind authentication, with the one
 * permission it needs. `:client`, `:role` and `:user` in a path or body become a new client, custom
 * role (no permissions) or user made for the test; `:fc` a federated credential of that client;
 * `:unique` a fresh suffix.
 */
interface RouteCase {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  readonly path: string;
  /** The permission the route needs for this body; null when authentication is enough. */
  readonly permission: PermissionKey | null;
  readonly body?: Record<string, unknown>;
  /** The status of a successful call. */
  readonly success: number;
}

/** Public keys of a private_key_jwt target: the one it is made with (kid `matrix`), and one to add. */
const publicJwk = () => generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
const TARGET_KEY = { ...publicJwk(), kid: 'matrix' };
const ADDED_KEY = { ...publicJwk(), kid: 'added' };

const ROUTES: readonly RouteCase[] = [
  { method: 'GET', path: '/api/v1/me', permission: null, success: 200 },
  { method: 'GET', path: '/api/v1/permissions', permission: null, success: 200 },
  { method: 'GET', path: '/api/v1/clients', permission: 'clients:read', success: 200 },
  { method: 'POST', path: '/api/v1/clients', permission: 'clients:create', body: { name: 'matrix :unique' }, success: 201 },
  { method: 'POST', path: '/api/v1/clients', permission: 'roles:assign', body: { name: 'matrix :unique', roleId: ':role' }, success: 201 },
  { method: 'POST', path: '/api/v1/clients/bulk', permission: 'clients:update', body: { action: 'disable', ids: [':client'] }, success: 200 },
  { method: 'POST', path: '/api/v1/clients/bulk', permission: 'clients:delete', body: { action: 'delete', ids: [':client'] }, success: 200 },
  { method: 'GET', path: '/api/v1/clients/:client', permission: 'clients:read', success: 200 },
  { method: 'PATCH', path: '/api/v1/clients/:client', permission: 'clients:update', body: { name: 'renamed :unique' }, success: 200 },
  { method: 'PATCH', path: '/api/v1/clients/:client', permission: 'roles:assign', body: { roleId: ':role' }, success: 200 },
  { method: 'DELETE', path: '/api/v1/clients/:client', permission: 'clients:delete', success: 204 },
  { method: 'POST', path: '/api/v1/clients/:client/secret', permission: 'clients:secrets', success: 200 },
  { method: 'PATCH', path: '/api/v1/clients/:client', permission: 'clients:secrets', body: { secretExpiresAt: '2099-01-01T00:00:00.000Z' }, success: 200 },
  { method: 'DELETE', path: '/api/v1/clients/:client/previous-secret', permission: 'clients:secrets', success: 204 },
  { method: 'GET', path: '/api/v1/clients/:client/permissions', permission: 'clients:read', success: 200 },
  { method: 'GET', path: '/api/v1/clients/:client/usage', permission: 'clients:read', success: 200 },
  { method: 'GET', path: '/api/v1/clients/:client/refusals', permission: 'clients:read', success: 200 },
  { method: 'GET', path: '/api/v1/usage', permission: 'clients:read', success: 200 },
  { method: 'GET', path: '/api/v1/clients/:client/federated-credentials', permission: 'clients:read', success: 200 },
  {
    method: 'POST',
    path: '/api/v1/clients/:client/federated-credentials',
    permission: 'clients:secrets',
    body: {
      name: 'ci :unique',
      issuer: 'https://token.actions.githubusercontent.com',
      audience: 'https://koios.test',
      subject: 'repo:acme/api:ref:refs/heads/main',
    },
    success: 201,
  },
  { method: 'DELETE', path: '/api/v1/clients/:client/federated-credentials/:fc', permission: 'clients:secrets', success: 204 },
  { method: 'POST', path: '/api/v1/clients/:keyclient/keys', permission: 'clients:secrets', body: { jwk: ADDED_KEY }, success: 201 },
  { method: 'DELETE', path: '/api/v1/clients/:keyclient/keys/matrix', permission: 'clients:secrets', success: 204 },
  { method: 'GET', path: '/api/v1/roles', permission: 'roles:read', success: 200 },
  { method: 'POST', path: '/api/v1/roles', permission: 'roles:write', body: { name: 'matrix role :unique', permissions: ['clients:read'] }, success: 201 },
  { method: 'GET', path: '/api/v1/roles/:role', permission: 'roles:read', success: 200 },
  { method: 'PATCH', path: '/api/v1/roles/:role', permission: 'roles:write', body: { description: 'changed by the matrix' }, success: 200 },
  { method: 'DELETE', path: '/api/v1/roles/:role', permission: 'roles:write', success: 204 },
  { method: 'GET', path: '/api/v1/users', permission: 'users:read', success: 200 },
  { method: 'POST', path: '/api/v1/users', permission: 'users:write', body: { email: 'matrix-:unique@example.com', password: PASSWORD }, success: 201 },
  {
    method: 'POST',
    path: '/api/v1/users',
    permission: 'roles:assign',
    body: { email: 'matrix-:unique@example.com', password: PASSWORD, roleIds: [':role'] },
    success: 201,
  },
  { method: 'GET', path: '/api/v1/users/:user', permission: 'users:read', success: 200 },
  { method: 'PATCH', path: '/api/v1/users/:user', permission: 'users:write', body: { name: 'Renamed :unique' }, success: 200 },
  { method: 'PATCH', path: '/api/v1/users/:user', permission: 'roles:assign', body: { roleIds: [':role'] }, success: 200 },
  { method: 'DELETE', path: '/api/v1/users/:user', permission: 'users:write', success: 204 },
  { method: 'GET', path: '/api/v1/users/:user/permissions', permission: 'users:read', success: 200 },
  { method: 'GET', path: '/api/v1/audit-events', permission: 'audit:read', success: 200 },
];

/** `[name, route]` pairs for test.each: `PATCH /api/v1/clients/:client {roleId} (roles:assign)`. */
const named = <R extends RouteCase>(routes: readonly R[]) =>
  routes.map(
    (route) =>
      [
        `${route.method} ${route.path}${route.body === undefined ? '' : ` {${Object.keys(route.body).join(', ')}}`} (${route.permission ?? 'authentication only'})`,
        route,
      ] as const,
  );
const PROTECTED = ROUTES.filter((route): route is RouteCase & { permission: PermissionKey } => route.permission !== null);
const WITH_ID = ROUTES.filter((route) => /\/:(client|keyclient|role|user)\b/.test(route.path));
/** Routes outside the authenticated scope, each for its reason: sign-in, the first-start setup, and the OpenAPI document. */
const PUBLIC_ROUTES = [
  'get /api/v1/session',
  'post /api/v1/session',
  'delete /api/v1/session',
  'get /api/v1/setup',
  'post /api/v1/setup',
  'get /api/v1/openapi.json',
];
const openApiPath = (path: string) =>
  path
    .replace(/:fc\b/g, '{fcId}')
    .replace(/:(client|keyclient|role|user)\b/g, '{id}')
    .replace('/keys/matrix', '/keys/{kid}');
const UNKNOWN_ID = '0b7e7a52-1c3d-4e5f-8a9b-0c1d2e3f4a5b';

describe.each(testDialects())('the authorization matrix of REST API v1 on %s', (dialect) => {
  let server: TestServer;
  let administrator: Caller;
  let viewer: Caller;
  let lackingOne: ReturnType<typeof clientsLackingOne>;

  /** The route's path and body with new targets made for this call. */
  async function materialise(route: RouteCase): Promise<{ path: string; body: unknown }> {
    const template = JSON.stringify({ path: route.path, body: route.body ?? null });
    const ids: Record<string, string> = {};
    if (template.includes(':client')) ids['client'] = (await server.services.clients.create(SYSTEM_ACTOR, { name: `target ${unique()}` })).client.id;
    if (template.includes(':keyclient'))
      ids['keyclient'] = (await server.services.clients.createWithKeys(SYSTEM_ACTOR, { name: `target ${unique()}`, publicKeys: [TARGET_KEY] })).id;
    // Ending an overlap needs one under way.
    if (route.path.endsWith('/previous-secret')) await server.services.clients.regenerateSecret(SYSTEM_ACTOR, ids['client']!, { keepPreviousFor: 3600 });
    if (template.includes(':fc')) {
      const credential = { name: `matrix ${unique()}`, issuer: 'https://token.actions.githubusercontent.com', audience: 'https://koios.test', subject: 'ci' };
      ids['fc'] = (await server.services.federation.add(SYSTEM_ACTOR, ids['client']!, credential)).id;
    }
    if (template.includes(':role')) ids['role'] = (await server.services.roles.create(SYSTEM_ACTOR, { name: `target role ${unique()}`, permissions: [] })).id;
    if (template.includes(':user'))
      ids['user'] = (await server.services.users.create(SYSTEM_ACTOR, { email: `target-${unique()}@example.com`, password: PASSWORD })).id;
    const filled = JSON.parse(
      template.replace(/:(client|keyclient|role|user|fc|unique)\b/g, (_match, name: string) => (name === 'unique' ? unique() : ids[name]!)),
    ) as {
      path: string;
      body: unknown;
    };
    return { path: filled.path, body: route.body === undefined ? undefined : filled.body };
  }

  beforeAll(async () => {
    server = await startTestServer(dialect);
    administrator = { token: (await actorWith(server, 'matrix administrator', 'Administrator')).token };
    viewer = { token: (await actorWith(server, 'matrix viewer', 'Viewer')).token };
    lackingOne = clientsLackingOne(server);
  });
  afterAll(async () => server?.close());

  test.each(named(ROUTES))('%s succeeds for an Administrator', async (_name, route) => {
    const { path, body } = await materialise(route);
    const answer = await rest(server, route.method, path, administrator, body);
    expect(answer.status, answer.text).toBe(route.success);
    if (route.success === 204) expect(answer.text).toBe('');
    else expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
  });

  test.each(named(ROUTES))('%s answers 401 with a bare Bearer challenge to a caller without credentials, and changes nothing', async (_name, route) => {
    const { path, body } = await materialise(route);
    const before = await stateOf(server);
    const answer = await rest(server, route.method, path, null, body);
    expect(answer.status).toBe(401);
    expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer realm="koios"$/);
    expect(answer.body).toMatchObject({ status: 401, code: 'unauthenticated' });
    expect(await stateOf(server)).toEqual(before);
  });

  test.each(named(ROUTES))('%s answers 401 invalid_token to a bad bearer token, and changes nothing', async (_name, route) => {
    const { path, body } = await materialise(route);
    const before = await stateOf(server);
    const answer = await rest(server, route.method, path, { token: 'eyJhbGciOiJFZERTQSJ9.e30.bm90LWEtc2lnbmF0dXJl' }, body);
    expect(answer.status).toBe(401);
    expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer realm="koios", error="invalid_token"/);
    expect(answer.body).toMatchObject({ status: 401, code: 'unauthenticated' });
    expect(await stateOf(server)).toEqual(before);
  });

  test.each(named(PROTECTED))(
    '%s answers 403 insufficient_scope naming that permission to a client holding every other permission, and changes nothing',
    async (_name, route) => {
      const { token } = await lackingOne(route.permission);
      const { path, body } = await materialise(route);
      const before = await stateOf(server);
      const answer = await rest(server, route.method, path, { token }, body);
      expect(answer.status, answer.text).toBe(403);
      expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(answer.headers.get('www-authenticate')).toBe(`Bearer realm="koios", error="insufficient_scope", scope="${route.permission}"`);
      expect(answer.body).toMatchObject({ status: 403, code: 'forbidden' });
      expect(await stateOf(server)).toEqual(before);
    },
  );

  test.each(named(ROUTES))('a Viewer may call %s only if it reads', async (_name, route) => {
    const { path, body } = await materialise(route);
    const before = await stateOf(server);
    const answer = await rest(server, route.method, path, viewer, body);
    if (route.method === 'GET') {
      expect(answer.status, answer.text).toBe(200);
    } else {
      expect(answer.status, answer.text).toBe(403);
      expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer realm="koios", error="insufficient_scope"/);
      expect(await stateOf(server)).toEqual(before);
    }
  });

  test.each(named(WITH_ID))('%s answers 400 naming `id` for an id that is not a UUID', async (_name, route) => {
    const { path, body } = await materialise(route);
    const answer = await rest(server, route.method, path.replace(/[0-9a-f-]{36}/, 'not-a-uuid'), administrator, body);
    expect(answer.status, answer.text).toBe(400);
    expect(fieldsOf(answer)).toEqual(['id']);
  });

  test.each(named(WITH_ID))('%s answers 404 for an id that does not exist, and changes nothing', async (_name, route) => {
    const { path, body } = await materialise(route);
    const before = await stateOf(server);
    const answer = await rest(server, route.method, path.replace(/[0-9a-f-]{36}/, UNKNOWN_ID), administrator, body);
    expect(answer.status, answer.text).toBe(404);
    expect(answer.body).toMatchObject({ status: 404, code: 'not_found' });
    expect(await stateOf(server)).toEqual(before);
  });

  test('authenticates before validating: a bad body without credentials is 401, not a 400 that describes the schema', async () => {
    const answer = await rest(server, 'POST', '/api/v1/roles', null, { name: 42, unexpected: true });
    expect(answer.status).toBe(401);
    expect(answer.text).not.toContain('unexpected');
  });

  test('the table covers every authenticated route of the OpenAPI document, and each operation names its permission', async () => {
    const document = (
      await rest<{ paths: Record<string, Record<string, { description?: string; responses: Record<string, unknown> }>> }>(
        server,
        'GET',
        '/api/v1/openapi.json',
        null,
      )
    ).body;
    const documented = Object.entries(document.paths)
      .filter(([path]) => path.startsWith('/api/v1/'))
      .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method} ${path}`));
    const tabled = new Set(ROUTES.map((route) => `${route.method.toLowerCase()} ${openApiPath(route.path)}`));
    expect(documented.filter((route) => !PUBLIC_ROUTES.includes(route)).sort()).toEqual([...tabled].sort());
    for (const route of ROUTES) {
      const operation = document.paths[openApiPath(route.path)]![route.method.toLowerCase()]!;
      expect(Object.keys(operation.responses), `${route.method} ${route.path}`).toEqual(expect.arrayContaining([String(route.success), '401']));
      if (route.permission !== null) {
        expect(Object.keys(operation.responses), `${route.method} ${route.path}`).toContain('403');
        expect(operation.description, `${route.method} ${route.path}`).toContain(route.permission);
      }
    }
  });
});

describe.each(testDialects())('nobody grants more than they hold, through REST on %s', (dialect) => {
  let server: TestServer;
  let administratorRoleId: string;

  beforeAll(async () => {
    server = await startTestServer(dialect);
    administratorRoleId = (await server.services.roles.list(SYSTEM_ACTOR)).find((role) => role.name === 'Administrator')!.id;
  });
  afterAll(async () => server?.close());

  describe('an API client with roles:assign and clients:update but not audit:read', () => {
    let caller: { id: string; token: string };
    let other: string;

    beforeAll(async () => {
      caller = await actorWith(server, `escalating client ${unique()}`, allBut('audit:read'));
      other = (await server.services.clients.create(SYSTEM_ACTOR, { name: `bystander ${unique()}` })).client.id;
    });

    test.each([
      ['itself', () => caller.id],
      ['another client', () => other],
    ])('cannot give %s the Administrator role: 403 naming audit:read, and nothing changes', async (_what, target) => {
      const before = await stateOf(server);
      const answer = await rest(server, 'PATCH', `/api/v1/clients/${target()}`, { token: caller.token }, { roleId: administratorRoleId });
      expect(answer.status, answer.text).toBe(403);
      expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="koios", error="insufficient_scope", scope="audit:read"');
      expect(await stateOf(server)).toEqual(before);
      expect((await server.services.clients.get(SYSTEM_ACTOR, target())).role?.name).not.toBe('Administrator');
    });

    test('cannot create a client with the Administrator role, and none is created', async () => {
      const before = await stateOf(server);
      const answer = await rest(server, 'POST', '/api/v1/clients', { token: caller.token }, { name: 'back door', roleId: administratorRoleId });
      expect(answer.status, answer.text).toBe(403);
      expect(await stateOf(server)).toEqual(before);
    });

    test('can assign a role whose permissions it holds (so the refusals above are the rule, not a broken request)', async () => {
      const held = await server.services.roles.create(SYSTEM_ACTOR, { name: `held ${unique()}`, permissions: ['clients:read', 'clients:update'] });
      const answer = await rest(server, 'PATCH', `/api/v1/clients/${other}`, { token: caller.token }, { roleId: held.id });
      expect(answer.status, answer.text).toBe(200);
      expect(answer.body['role']).toEqual({ id: held.id, name: held.name });
    });
  });

  describe('a console user with users:write, roles:write and roles:assign but not audit:read', () => {
    let escalator: Awaited<ReturnType<typeof userWith>>;
    let bystander: string;
    let ownRoleId: string;

    beforeAll(async () => {
      escalator = await userWith(server, allBut('audit:read'));
      ownRoleId = escalator.user.roles[0]!.id;
      bystander = (await server.services.users.create(SYSTEM_ACTOR, { email: `bystander-${unique()}@example.com`, password: PASSWORD })).id;
    });

    const refused = async (method: 'POST' | 'PATCH', path: string, body: unknown) => {
      const before = await stateOf(server);
      const answer = await rest(server, method, path, { session: escalator.session }, body);
      expect(answer.status, answer.text).toBe(403);
      expect(answer.body).toMatchObject({ code: 'forbidden' });
      expect(answer.body['detail']).toContain('audit:read');
      // RFC 6750 challenges are for bearer callers; a session is not one.
      expect(answer.headers.get('www-authenticate')).toBeNull();
      expect(await stateOf(server)).toEqual(before);
    };

    test('cannot give another user the Administrator role', async () => {
      await refused('PATCH', `/api/v1/users/${bystander}`, { roleIds: [administratorRoleId] });
      expect((await server.services.users.get(SYSTEM_ACTOR, bystander)).roles).toEqual([]);
    });

    test('cannot give themselves the Administrator role', async () => {
      await refused('PATCH', `/api/v1/users/${escalator.user.id}`, { roleIds: [ownRoleId, administratorRoleId] });
    });

    test('cannot create a user with the Administrator role', async () => {
      await refused('POST', '/api/v1/users', { email: `accomplice-${unique()}@example.com`, password: PASSWORD, roleIds: [administratorRoleId] });
    });

    test('cannot edit a role to include a permission they lack, not even their own role', async () => {
      const other = await server.services.roles.create(SYSTEM_ACTOR, { name: `plain ${unique()}`, permissions: ['clients:read'] });
      await refused('PATCH', `/api/v1/roles/${other.id}`, { permissions: ['clients:read', 'audit:read'] });
      await refused('PATCH', `/api/v1/roles/${ownRoleId}`, { permissions: allBut() });
      expect((await server.services.roles.get(SYSTEM_ACTOR, other.id)).permissions).toEqual(['clients:read']);
    });

    test('cannot create a role with a permission they lack', async () => {
      await refused('POST', '/api/v1/roles', { name: `wider ${unique()}`, permissions: ['audit:read'] });
    });

    test('can give another user a role whose permissions they hold (so the refusals above are the rule, not a broken session)', async () => {
      const held = await server.services.roles.create(SYSTEM_ACTOR, { name: `held ${unique()}`, permissions: ['clients:read'] });
      const answer = await rest(server, 'PATCH', `/api/v1/users/${bystander}`, { session: escalator.session }, { roleIds: [held.id] });
      expect(answer.status, answer.text).toBe(200);
      expect(answer.body['roles']).toEqual([{ id: held.id, name: held.name }]);
    });
  });
});
