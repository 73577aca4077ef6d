import { DefaultQueryExecutor, type CompiledQuery } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { SYSTEM_ACTOR } from '../actor.js';
import { testDialects } from '../../../test/support/databases.js';
import { codesOf, graphqlClient } from '../../../test/support/graphql.js';
import { accessToken, actorWith } from '../../../test/support/oauth.js';
import { startTestServer, type TestServer } from '../../../test/support/server.js';

/**
 * The GraphQL API through graphql-request over HTTP, against the real server: the
 * queries and mutations for clients, roles, users and the audit log, Relay pagination, the
 * pinned error codes, the door (bearer and console session) and the loader that keeps a page of
 * clients with their permissions to a fixed number of queries.
 */
const CLIENT_FIELDS = 'id name description enabled role { id name } secretHint lastUsedAt createdAt updatedAt';

interface ClientNode {
  id: string;
  name: string;
  description: string | null;
  enabled: boolean;
  role: { id: string; name: string } | null;
  secretHint: string;
  lastUsedAt: string | null;
  createdAt: string;
  updatedAt: string;
}
interface Connection<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  totalCount: number;
}

describe.each(testDialects())('the GraphQL API on %s', (dialect) => {
  let server: TestServer;
  let ask: ReturnType<typeof graphqlClient>;
  let viewerRoleId: string;
  let adminRoleId: string;

  const createClient = async (name: string, extra: Record<string, unknown> = {}) => {
    const answer = await ask<{ createApiClient: { apiClient: ClientNode; clientSecret: string } }>(
      `mutation Create($input: CreateApiClientInput!) { createApiClient(input: $input) { clientSecret apiClient { ${CLIENT_FIELDS} } } }`,
      { input: { name, ...extra } },
    );
    expect(answer.errors).toEqual([]);
    return answer.data!.createApiClient;
  };

  beforeAll(async () => {
    server = await startTestServer(dialect);
    const roles = await server.services.roles.list(SYSTEM_ACTOR);
    viewerRoleId = roles.find((role) => role.name === 'Viewer')!.id;
    adminRoleId = roles.find((role) => role.name === 'Administrator')!.id;
    ask = graphqlClient(server, (await actorWith(server, 'graphql admin', 'Administrator')).token);
  });
  afterAll(async () => server?.close());
  afterEach(() => vi.restoreAllMocks());

  it('answers `me` with the calling client and the permissions it holds on this request', async () => {
    const viewer = await actorWith(server, 'graphql me', 'Viewer');
    const answer = await graphqlClient(server, viewer.token)('{ me { type id name permissions } }');
    expect(answer.status).toBe(200);
    expect(answer.data).toEqual({
      me: { type: 'CLIENT', id: viewer.id, name: 'graphql me', permissions: ['clients:read', 'roles:read', 'users:read', 'audit:read'] },
    });
  });

  describe('API clients', () => {
    it('creates a client and shows its secret once, in a response nobody may cache', async () => {
      const answer = await ask<{ createApiClient: { apiClient: ClientNode; clientSecret: string } }>(
        `mutation { createApiClient(input: { name: "  billing export ", description: "nightly", roleId: "${viewerRoleId}" }) { clientSecret apiClient { ${CLIENT_FIELDS} } } }`,
      );
      expect(answer.status).toBe(200);
      expect(answer.headers.get('cache-control')).toBe('no-store');
      const { apiClient, clientSecret } = answer.data!.createApiClient;
      expect(clientSecret).toMatch(/^koios_cs_[A-Za-z0-9_-]{43}$/);
      expect(apiClient).toMatchObject({
        name: 'billing export',
        description: 'nightly',
        enabled: true,
        role: { id: viewerRoleId, name: 'Viewer' },
        lastUsedAt: null,
      });
      expect(apiClient.secretHint).toBe(clientSecret.slice(-4));
      expect(apiClient.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);

      const read = await ask<{ apiClient: ClientNode }>(`query One($id: ID!) { apiClient(id: $id) { ${CLIENT_FIELDS} } }`, { id: apiClient.id });
      expect(read.data!.apiClient).toEqual(apiClient);
      expect(JSON.stringify(read.data)).not.toContain(clientSecret);
      // The secret works at the token endpoint: it is the client's real secret.
      await expect(accessToken(server, { id: apiClient.id, secret: clientSecret })).resolves.toEqual(expect.any(String));
    });

    it('pages with Relay cursors: every edge is a place to resume, endCursor and hasNextPage end the walk', async () => {
      const names = ['page-e', 'page-a', 'page-d', 'page-b', 'page-c'];
      for (const name of names) await createClient(name);
      const page = (first: number, after: string | null) =>
        ask<{ apiClients: Connection<ClientNode> }>(
          `query Page($first: Int, $after: String) { apiClients(first: $first, after: $after, filter: { search: "page-" }, orderBy: NAME_ASC) {
            totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { name } } } }`,
          { first, after },
        );
      const seen: string[] = [];
      let after: string | null = null;
      for (let pages = 0; pages < 5; pages += 1) {
        const { apiClients }: { apiClients: Connection<ClientNode> } = (await page(2, after)).data!;
        expect(apiClients.totalCount).toBe(5);
        expect(apiClients.pageInfo.hasPreviousPage).toBe(false);
        expect(apiClients.pageInfo.startCursor).toBe(apiClients.edges[0]?.cursor ?? null);
        expect(apiClients.pageInfo.endCursor).toBe(apiClients.edges.at(-1)?.cursor ?? null);
        seen.push(...apiClients.edges.map((edge) => edge.node.name));
        if (!apiClients.pageInfo.hasNextPage) break;
        after = apiClients.pageInfo.endCursor;
      }
      expect(seen).toEqual(['page-a', 'page-b', 'page-c', 'page-d', 'page-e']);

      const all = (await page(5, null)).data!.apiClients;
      expect(all.pageInfo.hasNextPage).toBe(false);
      const resumed = (await page(5, all.edges[1]!.cursor)).data!.apiClients;
      expect(resumed.edges.map((edge) => edge.node.name)).toEqual(['page-c', 'page-d', 'page-e']);
    });

    it('orders by each ApiClientOrder and filters by status', async () => {
      const quiet = await createClient('status-quiet');
      await createClient('status-busy');
      await ask(`mutation { updateApiClient(id: "${quiet.apiClient.id}", input: { enabled: false }) { id } }`);
      const names = async (filter: string, orderBy: string) =>
        (
          await ask<{ apiClients: Connection<ClientNode> }>(`{ apiClients(filter: ${filter}, orderBy: ${orderBy}) { edges { node { name } } } }`)
        ).data!.apiClients.edges.map((edge) => edge.node.name);
      expect(await names('{ search: "status-", status: DISABLED }', 'NAME_ASC')).toEqual(['status-quiet']);
      expect(await names('{ search: "status-", status: ENABLED }', 'NAME_ASC')).toEqual(['status-busy']);
      expect(await names('{ search: "status-" }', 'NAME_DESC')).toEqual(['status-quiet', 'status-busy']);
      expect(await names('{ search: "status-" }', 'CREATED_AT_ASC')).toEqual(['status-quiet', 'status-busy']);
      expect(await names('{ search: "status-" }', 'CREATED_AT_DESC')).toEqual(['status-busy', 'status-quiet']);
      for (const order of ['LAST_USED_AT_ASC', 'LAST_USED_AT_DESC'])
        expect((await names('{ search: "status-" }', order)).sort()).toEqual(['status-busy', 'status-quiet']);
    });

    it('renames, describes, assigns and removes a role, and disables, each change in the audit log', async () => {
      const { apiClient } = await createClient('to edit');
      const update = (input: string) =>
        ask<{ updateApiClient: ClientNode }>(`mutation { updateApiClient(id: "${apiClient.id}", input: ${input}) { ${CLIENT_FIELDS} } }`);
      expect((await update('{ name: "edited", description: "about it" }')).data!.updateApiClient).toMatchObject({ name: 'edited', description: 'about it' });
      expect((await update(`{ roleId: "${viewerRoleId}" }`)).data!.updateApiClient.role).toEqual({ id: viewerRoleId, name: 'Viewer' });
      expect((await update('{ roleId: null, description: null }')).data!.updateApiClient).toMatchObject({ role: null, description: null });
      expect((await update('{ enabled: false }')).data!.updateApiClient.enabled).toBe(false);
      const audit = await server.services.audit.list(SYSTEM_ACTOR, { targetId: apiClient.id });
      expect(audit.items.map((event) => event.action).reverse()).toEqual([
        'client.created',
        'client.renamed',
        'client.description_changed',
        'client.role_changed',
        'client.description_changed',
        'client.role_changed',
        'client.disabled',
      ]);
    });

    it('regenerates a secret: the new one works at the token endpoint and the old one no longer does', async () => {
      const { apiClient, clientSecret } = await createClient('to regenerate');
      const answer = await ask<{ regenerateApiClientSecret: { apiClient: ClientNode; clientSecret: string } }>(
        `mutation { regenerateApiClientSecret(id: "${apiClient.id}") { clientSecret apiClient { id secretHint } } }`,
      );
      expect(answer.headers.get('cache-control')).toBe('no-store');
      const regenerated = answer.data!.regenerateApiClientSecret;
      expect(regenerated.clientSecret).not.toBe(clientSecret);
      expect(regenerated.apiClient.secretHint).toBe(regenerated.clientSecret.slice(-4));
      await expect(accessToken(server, { id: apiClient.id, secret: regenerated.clientSecret })).resolves.toEqual(expect.any(String));
      await expect(accessToken(server, { id: apiClient.id, secret: clientSecret })).rejects.toThrow(/401/);
    });

    it('enables, disables and deletes in bulk, reporting the ids it did not find', async () => {
      const one = (await createClient('bulk one')).apiClient.id;
      const two = (await createClient('bulk two')).apiClient.id;
      const missing = '0b6c2f61-3f2e-4a37-9a5e-6f0f8e0d1c2b';
      const disabled = await ask<{ setApiClientsEnabled: { succeeded: string[]; notFound: string[] } }>(
        'mutation Off($ids: [ID!]!) { setApiClientsEnabled(ids: $ids, enabled: false) { succeeded notFound } }',
        { ids: [one, two, missing] },
      );
      expect(disabled.data!.setApiClientsEnabled).toEqual({ succeeded: [one, two], notFound: [missing] });
      expect((await server.services.clients.get(SYSTEM_ACTOR, one)).enabled).toBe(false);
      const enabled = await ask<{ setApiClientsEnabled: { succeeded: string[] } }>(
        `mutation { setApiClientsEnabled(ids: ["${one}"], enabled: true) { succeeded } }`,
      );
      expect(enabled.data!.setApiClientsEnabled.succeeded).toEqual([one]);
      const deleted = await ask<{ deleteApiClients: { succeeded: string[]; notFound: string[] } }>(
        `mutation { deleteApiClients(ids: ["${one}", "${two}"]) { succeeded notFound } }`,
      );
      expect(deleted.data!.deleteApiClients).toEqual({ succeeded: [one, two], notFound: [] });
      const gone = await ask(`{ apiClient(id: "${one}") { id } }`);
      expect(codesOf(gone)).toEqual(['NOT_FOUND']);
    });

    it("shows a client's effective permissions, the whole catalog by category with granted from its role", async () => {
      const { apiClient } = await createClient('with viewer', { roleId: viewerRoleId });
      const answer = await ask<{ apiClient: { permissions: { name: string; permissions: { key: string; name: string; granted: boolean }[] }[] } }>(
        `{ apiClient(id: "${apiClient.id}") { permissions { name permissions { key name granted } } } }`,
      );
      const categories = answer.data!.apiClient.permissions;
      expect(categories.map((category) => category.name)).toEqual(['API Clients', 'Roles', 'Users', 'Audit']);
      const granted = categories.flatMap((category) => category.permissions.filter((p) => p.granted).map((p) => p.key));
      expect(granted).toEqual(['clients:read', 'roles:read', 'users:read', 'audit:read']);
      expect(categories[0]!.permissions[0]).toEqual({ key: 'clients:read', name: 'View API clients', granted: true });
    });

    it('loads the permissions of a whole page in one batch: 50 clients cost the same queries as 2', async () => {
      for (let index = 0; index < 50; index += 1)
        await server.services.clients.create(SYSTEM_ACTOR, { name: `batch ${index}`, roleId: index % 2 === 0 ? viewerRoleId : adminRoleId });
      const batch = vi.spyOn(server.services.clients, 'permissionsOfMany');
      const single = vi.spyOn(server.services.clients, 'permissions');
      const statements: string[] = [];
      const execute = DefaultQueryExecutor.prototype.executeQuery;
      vi.spyOn(DefaultQueryExecutor.prototype, 'executeQuery').mockImplementation(function (this: DefaultQueryExecutor, query: CompiledQuery) {
        statements.push(query.sql);
        return execute.call(this, query);
      } as typeof execute);
      const readsFor = async (first: number) => {
        statements.length = 0;
        const answer = await ask<{ apiClients: Connection<ClientNode & { permissions: unknown[] }> }>(
          `{ apiClients(first: ${first}, filter: { search: "batch " }) { edges { node { id role { name } permissions { name permissions { key granted } } } } } }`,
        );
        expect(answer.errors).toEqual([]);
        expect(answer.data!.apiClients.edges).toHaveLength(first);
        // Reads of clients and roles, but not the bearer check's own (cached) look at the caller.
        return statements.filter((sql) => /^select/i.test(sql) && /"(api_clients|roles)"/.test(sql) && !sql.includes('secret_hash'));
      };
      const small = await readsFor(2);
      const large = await readsFor(50);
      // The page, its count, the clients for the loader, their roles: four, whatever the page size.
      expect(large.length).toBe(small.length);
      expect(large.length).toBeLessThanOrEqual(4);
      expect(batch).toHaveBeenCalledTimes(2);
      expect(batch.mock.calls[1]![1]).toHaveLength(50);
      expect(single).not.toHaveBeenCalled();
    });
  });

  describe('roles', () => {
    it('lists the built-in roles and reads one', async () => {
      const answer = await ask<{ roles: { name: string; builtIn: boolean; permissions: string[] }[] }>(
        '{ roles { id name description builtIn permissions createdAt updatedAt } }',
      );
      expect(answer.data!.roles.filter((role) => role.builtIn).map((role) => role.name)).toEqual(['Administrator', 'Viewer']);
      const viewer = await ask<{ role: { name: string; permissions: string[] } }>(`{ role(id: "${viewerRoleId}") { name permissions } }`);
      expect(viewer.data!.role).toEqual({ name: 'Viewer', permissions: ['clients:read', 'roles:read', 'users:read', 'audit:read'] });
    });

    it('creates, updates and deletes a custom role; a duplicate name is CONFLICT; a built-in role cannot change', async () => {
      const created = await ask<{ createRole: { id: string; name: string; builtIn: boolean; permissions: string[] } }>(
        'mutation { createRole(input: { name: "Auditors", description: "read the log", permissions: ["audit:read"] }) { id name builtIn permissions } }',
      );
      expect(created.data!.createRole).toMatchObject({ name: 'Auditors', builtIn: false, permissions: ['audit:read'] });
      const id = created.data!.createRole.id;

      const duplicate = await ask('mutation { createRole(input: { name: "auditors", permissions: [] }) { id } }');
      expect(codesOf(duplicate)).toEqual(['CONFLICT']);

      const updated = await ask<{ updateRole: { name: string; permissions: string[] } }>(
        `mutation { updateRole(id: "${id}", input: { name: "Log readers", permissions: ["audit:read", "clients:read"] }) { name permissions } }`,
      );
      expect(updated.data!.updateRole).toEqual({ name: 'Log readers', permissions: ['clients:read', 'audit:read'] });

      const builtIn = await ask(`mutation { updateRole(id: "${viewerRoleId}", input: { name: "Lookers" }) { id } }`);
      expect(codesOf(builtIn)).toEqual(['CONFLICT']);
      expect(codesOf(await ask(`mutation { deleteRole(id: "${adminRoleId}") }`))).toEqual(['CONFLICT']);

      const deleted = await ask<{ deleteRole: string }>(`mutation { deleteRole(id: "${id}") }`);
      expect(deleted.data!.deleteRole).toBe(id);
      expect(codesOf(await ask(`{ role(id: "${id}") { id } }`))).toEqual(['NOT_FOUND']);
    });

    it('names the bad permission key inside input', async () => {
      const answer = await ask('mutation { createRole(input: { name: "Broken", permissions: ["audit:read", "clients:fly"] }) { id } }');
      expect(codesOf(answer)).toEqual(['BAD_USER_INPUT']);
      expect(answer.errors[0]!.extensions!['problems']).toEqual([{ field: 'input.permissions[1]', message: expect.stringContaining('clients:fly') }]);
    });
  });

  describe('users', () => {
    it('creates, pages, updates and deletes a user; permissions come from the roles; a duplicate email is CONFLICT', async () => {
      const created = await ask<{
        createUser: { id: string; email: string; roles: { name: string }[]; permissions: { permissions: { key: string; granted: boolean }[] }[] };
      }>(
        `mutation { createUser(input: { email: "ada@example.com", name: "Ada", password: "correct horse battery", roleIds: ["${viewerRoleId}"] }) {
          id email name enabled roles { id name } lastLoginAt createdAt updatedAt permissions { name permissions { key granted } } } }`,
      );
      expect(created.errors).toEqual([]);
      const user = created.data!.createUser;
      expect(user).toMatchObject({ email: 'ada@example.com', roles: [{ name: 'Viewer' }] });
      expect(user.permissions.flatMap((category) => category.permissions.filter((p) => p.granted).map((p) => p.key))).toEqual([
        'clients:read',
        'roles:read',
        'users:read',
        'audit:read',
      ]);
      expect(JSON.stringify(created.data)).not.toContain('correct horse');

      const duplicate = await ask('mutation { createUser(input: { email: "ADA@example.com", password: "another long password" }) { id } }');
      expect(codesOf(duplicate)).toEqual(['CONFLICT']);
      const short = await ask('mutation { createUser(input: { email: "bob@example.com", password: "short" }) { id } }');
      expect(short.errors[0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', problems: [{ field: 'input.password' }] });

      await ask('mutation { createUser(input: { email: "cy@example.com", password: "a long enough password" }) { id } }');
      const first = await ask<{ users: Connection<{ email: string }> }>(
        '{ users(first: 1) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { email } } } }',
      );
      expect(first.data!.users).toMatchObject({ totalCount: 2, pageInfo: { hasNextPage: true }, edges: [{ node: { email: 'ada@example.com' } }] });
      const second = await ask<{ users: Connection<{ email: string }> }>(
        `{ users(first: 1, after: "${first.data!.users.pageInfo.endCursor}") { pageInfo { hasNextPage } edges { node { email } } } }`,
      );
      expect(second.data!.users).toMatchObject({ pageInfo: { hasNextPage: false }, edges: [{ node: { email: 'cy@example.com' } }] });

      const updated = await ask<{ updateUser: { name: string; enabled: boolean; roles: unknown[] } }>(
        `mutation { updateUser(id: "${user.id}", input: { name: "Ada L.", enabled: false, roleIds: [] }) { name enabled roles { id } } }`,
      );
      expect(updated.data!.updateUser).toEqual({ name: 'Ada L.', enabled: false, roles: [] });
      expect((await ask<{ user: { email: string } }>(`{ user(id: "${user.id}") { email } }`)).data!.user.email).toBe('ada@example.com');
      expect((await ask<{ deleteUser: string }>(`mutation { deleteUser(id: "${user.id}") }`)).data!.deleteUser).toBe(user.id);
      expect(codesOf(await ask(`{ user(id: "${user.id}") { id } }`))).toEqual(['NOT_FOUND']);
    });
  });

  it('shows the audit log newest first as a connection, with actor and target', async () => {
    const { apiClient } = await createClient('audited');
    const answer = await ask<{
      auditEvents: Connection<{ action: string; actor: { type: string; name: string }; target: { type: string; id: string }; details: unknown }>;
    }>(
      '{ auditEvents(first: 1) { pageInfo { hasNextPage endCursor } edges { cursor node { id occurredAt action actor { type id name } target { type id name } details } } } }',
    );
    const [edge] = answer.data!.auditEvents.edges;
    expect(edge!.node).toMatchObject({
      action: 'client.created',
      actor: { type: 'CLIENT', name: 'graphql admin' },
      target: { type: 'CLIENT', id: apiClient.id },
      details: { role: null },
    });
    expect(answer.data!.auditEvents.pageInfo.hasNextPage).toBe(true);
    const next = await ask<{ auditEvents: Connection<{ action: string }> }>(
      `{ auditEvents(first: 1, after: "${edge!.cursor}") { edges { node { action } } } }`,
    );
    expect(next.data!.auditEvents.edges).toHaveLength(1);
  });

  it('lists the permission catalog by category', async () => {
    const answer = await ask<{ permissionCategories: { name: string; permissions: { key: string }[] }[] }>(
      '{ permissionCategories { name permissions { key name description } } }',
    );
    expect(answer.data!.permissionCategories.map((category) => [category.name, category.permissions.length])).toEqual([
      ['API Clients', 5],
      ['Roles', 3],
      ['Users', 2],
      ['Audit', 1],
    ]);
  });

  describe('errors', () => {
    it('answers an unknown id NOT_FOUND, with the path of the field', async () => {
      const answer = await ask('{ apiClient(id: "0b6c2f61-3f2e-4a37-9a5e-6f0f8e0d1c2b") { id } }');
      expect(answer.status).toBe(200);
      expect(answer.data).toEqual({ apiClient: null });
      expect(answer.errors).toEqual([
        { message: expect.stringContaining('was not found'), locations: [{ line: 1, column: 3 }], path: ['apiClient'], extensions: { code: 'NOT_FOUND' } },
      ]);
    });

    it('answers bad input BAD_USER_INPUT, naming the GraphQL argument of each bad field', async () => {
      const page = await ask('{ apiClients(first: 500, after: "nonsense!") { totalCount } }');
      expect(page.errors[0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', problems: [{ field: 'first', message: expect.any(String) }] });
      const cursor = await ask('{ apiClients(after: "nonsense!") { totalCount } }');
      expect(cursor.errors[0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', problems: [{ field: 'after', message: expect.any(String) }] });
      const input = await ask(`mutation { createApiClient(input: { name: " ", description: "${'x'.repeat(1001)}" }) { clientSecret } }`);
      expect(input.errors[0]!.extensions!['problems']).toEqual([
        { field: 'input.name', message: 'is required' },
        { field: 'input.description', message: expect.stringContaining('1000') },
      ]);
      const id = await ask('mutation { regenerateApiClientSecret(id: "not-a-uuid") { clientSecret } }');
      expect(id.errors[0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', problems: [{ field: 'id', message: 'must be a UUID' }] });
      const ids = await ask('mutation { deleteApiClients(ids: ["0b6c2f61-3f2e-4a37-9a5e-6f0f8e0d1c2b", "nope"]) { succeeded } }');
      expect(ids.errors[0]!.extensions!['problems']).toEqual([{ field: 'ids[1]', message: 'must be a UUID' }]);
    });

    it('refuses variables of the wrong type BAD_USER_INPUT and a broken document GRAPHQL_PARSE_FAILED, before anything runs', async () => {
      const list = vi.spyOn(server.services.clients, 'list');
      const variables = await ask('query Page($first: Int) { apiClients(first: $first) { totalCount } }', { first: 'many' });
      expect(variables.status).toBe(400);
      expect(codesOf(variables)).toEqual(['BAD_USER_INPUT']);
      const broken = await ask('{ apiClients { totalCount }');
      expect(broken.status).toBe(400);
      expect(codesOf(broken)).toEqual(['GRAPHQL_PARSE_FAILED']);
      const unknown = await ask('{ apiClients { secret } }');
      expect(codesOf(unknown)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
      expect(list).not.toHaveBeenCalled();
    });

    it('hides an unexpected failure behind a generic message, and logs it', async () => {
      vi.spyOn(server.services.clients, 'list').mockRejectedValue(new Error('internal detail: relation xyz at /srv/app.js:12'));
      const answer = await ask('{ apiClients { totalCount } }');
      expect(answer.errors).toEqual([
        {
          message: 'an unexpected error occurred; it has been logged',
          locations: expect.any(Array),
          path: ['apiClients'],
          extensions: { code: 'INTERNAL_SERVER_ERROR' },
        },
      ]);
      expect(JSON.stringify(answer)).not.toMatch(/internal detail|app\.js|stack/);
      expect(server.logs.text()).toContain('internal detail: relation xyz');
    });
  });

  describe('the door', () => {
    it('answers a request without credentials 401 with the Bearer challenge REST sends, before reading the query', async () => {
      const list = vi.spyOn(server.services.clients, 'list');
      const answer = await graphqlClient(server, null)('{ apiClients { totalCount } }');
      expect(answer.status).toBe(401);
      expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="koios"');
      expect(answer.data).toBeUndefined();
      expect(codesOf(answer)).toEqual(['UNAUTHENTICATED']);
      const introspection = await graphqlClient(server, null)('{ __schema { queryType { name } } }');
      expect(introspection.status).toBe(401);
      expect(list).not.toHaveBeenCalled();
    });

    it('answers a bad or dead token 401 invalid_token: a disabled client is refused on its next request', async () => {
      const bad = await graphqlClient(server, 'not.a.token')('{ me { id } }');
      expect(bad.status).toBe(401);
      expect(bad.headers.get('www-authenticate')).toMatch(/^Bearer realm="koios", error="invalid_token"/);
      const victim = await actorWith(server, 'soon disabled', 'Viewer');
      const victimAsk = graphqlClient(server, victim.token);
      expect((await victimAsk('{ me { id } }')).status).toBe(200);
      await ask(`mutation { setApiClientsEnabled(ids: ["${victim.id}"], enabled: false) { succeeded } }`);
      const dead = await victimAsk('{ me { id } }');
      expect(dead.status).toBe(401);
      expect(dead.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    });

    it('accepts the console session cookie; a change made with it needs the X-CSRF-Token header', async () => {
      await server.services.users.create(SYSTEM_ACTOR, { email: 'console@example.com', password: 'a console password', roleIds: [adminRoleId] });
      const signIn = await fetch(`${server.url}/api/v1/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'console@example.com', password: 'a console password' }),
      });
      const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
      const { csrfToken } = (await signIn.json()) as { csrfToken: string };
      const post = (query: string, headers: Record<string, string> = {}) =>
        fetch(`${server.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', cookie, ...headers },
          body: JSON.stringify({ query }),
        });

      const me = await fetch(`${server.url}/graphql?query=${encodeURIComponent('{ me { type name } }')}`, { headers: { cookie } });
      expect(await me.json()).toEqual({ data: { me: { type: 'USER', name: 'console@example.com' } } });

      const before = (await server.services.clients.list(SYSTEM_ACTOR)).total;
      const forged = await post('mutation { createApiClient(input: { name: "csrf" }) { clientSecret } }');
      expect(forged.status).toBe(403);
      expect(((await forged.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('FORBIDDEN');
      const crossSite = await post('mutation { createApiClient(input: { name: "csrf" }) { clientSecret } }', {
        origin: 'https://evil.example',
        'x-csrf-token': csrfToken,
      });
      expect(crossSite.status).toBe(403);
      expect((await server.services.clients.list(SYSTEM_ACTOR)).total).toBe(before);

      const genuine = await post('mutation { createApiClient(input: { name: "from the console" }) { apiClient { name } } }', { 'x-csrf-token': csrfToken });
      expect(await genuine.json()).toEqual({ data: { createApiClient: { apiClient: { name: 'from the console' } } } });
    });

    it('serves queries over GET, and refuses a mutation over GET 405 without running it', async () => {
      const admin = await actorWith(server, 'get caller', 'Administrator');
      const get = (query: string) => fetch(`${server.url}/graphql?query=${encodeURIComponent(query)}`, { headers: { authorization: `Bearer ${admin.token}` } });
      const query = await get('{ me { name } }');
      expect(query.status).toBe(200);
      expect(await query.json()).toEqual({ data: { me: { name: 'get caller' } } });
      const create = vi.spyOn(server.services.clients, 'create');
      const mutation = await get('mutation { createApiClient(input: { name: "via get" }) { clientSecret } }');
      expect(mutation.status).toBe(405);
      expect(((await mutation.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('METHOD_NOT_ALLOWED');
      expect(create).not.toHaveBeenCalled();
    });
  });
});
