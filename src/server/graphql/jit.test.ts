import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../actor.js';
import { createApp } from '../app.js';
import { testDialects } from '../../../test/support/databases.js';
import { actorWith } from '../../../test/support/oauth.js';
import { startTestServer, type TestServer } from '../../../test/support/server.js';

/**
 * graphql-jit compiles a document at its second execution (graphql.plugin.ts). Every operation
 * here goes to two servers over the same services and database: one interpreting (jit off), one
 * compiling; the compiled answer (the second execution) must equal the interpreted one, data and
 * errors alike.
 */
interface Operation {
  readonly name: string;
  readonly as: 'admin' | 'viewer' | 'nobody';
  readonly query: string;
  readonly variables?: (fixtures: Fixtures) => Record<string, unknown>;
  /** For operations that create: each execution needs a fresh name, and the answers are normalised. */
  readonly creates?: boolean;
}

interface Fixtures {
  readonly clientIds: readonly string[];
  readonly roleId: string;
  readonly userId: string;
  readonly unknownId: string;
  readonly serial: number;
}

interface Answer {
  readonly data?: Record<string, unknown>;
  readonly errors?: { readonly extensions: { readonly code: string } }[];
}

const CLIENT_FIELDS = 'id name description enabled role { id name } secretHint lastUsedAt createdAt updatedAt';

const OPERATIONS: readonly Operation[] = [
  { name: 'me', as: 'admin', query: '{ me { type id name permissions } }' },
  { name: 'me as a viewer', as: 'viewer', query: '{ me { type permissions } }' },
  {
    name: 'a page of clients with a fragment, aliases and variables',
    as: 'admin',
    query: `query Page($first: Int, $search: String) {
      page: apiClients(first: $first, filter: { search: $search }, orderBy: NAME_ASC) { totalCount edges { cursor node { ...C } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } }
      disabled: apiClients(filter: { search: $search, status: DISABLED }) { totalCount edges { node { id enabled } } }
    }
    fragment C on ApiClient { ${CLIENT_FIELDS} permissions { name permissions { key granted } } }`,
    variables: () => ({ first: 3, search: 'jit fixture' }),
  },
  { name: 'one client', as: 'admin', query: `query One($id: ID!) { apiClient(id: $id) { ${CLIENT_FIELDS} } }`, variables: (f) => ({ id: f.clientIds[0] }) },
  { name: 'an unknown client', as: 'admin', query: 'query One($id: ID!) { apiClient(id: $id) { id } }', variables: (f) => ({ id: f.unknownId }) },
  { name: 'a malformed id', as: 'admin', query: 'query One($id: ID!) { apiClient(id: $id) { id } }', variables: () => ({ id: 'not-a-uuid' }) },
  {
    name: 'a variable of the wrong type',
    as: 'admin',
    query: 'query Page($first: Int) { apiClients(first: $first) { totalCount } }',
    variables: () => ({ first: 'ten' }),
  },
  { name: 'a page size out of range', as: 'admin', query: '{ apiClients(first: 500) { totalCount } }' },
  {
    name: 'roles, permission catalog and one role',
    as: 'admin',
    query: `query R($id: ID!) { roles { id name builtIn permissions } role(id: $id) { name description permissions } permissionCategories { name permissions { key name description } } }`,
    variables: (f) => ({ id: f.roleId }),
  },
  {
    name: 'users and one user',
    as: 'admin',
    query: `query U($id: ID!) { users(first: 5) { totalCount edges { node { id email name enabled roles { name } lastLoginAt } } } user(id: $id) { email permissions { name permissions { key granted } } } }`,
    variables: (f) => ({ id: f.userId }),
  },
  {
    name: 'audit events with typename and a union of actor kinds',
    as: 'admin',
    query: '{ auditEvents(first: 5) { edges { node { __typename action actor { type id name } target { type id name } details } } pageInfo { hasNextPage } } }',
  },
  {
    name: 'fields a viewer may not read, beside ones it may',
    as: 'viewer',
    query: '{ me { id } users { totalCount } roles { name } apiClients(first: 1) { totalCount } }',
  },
  { name: 'no actor', as: 'nobody', query: '{ me { id } }' },
  {
    name: 'a mutation a viewer may not run',
    as: 'viewer',
    query: 'mutation D($ids: [ID!]!) { deleteApiClients(ids: $ids) { succeeded notFound } }',
    variables: (f) => ({ ids: [f.clientIds[0]] }),
  },
  {
    name: 'a mutation with bad input',
    as: 'admin',
    query: 'mutation C($input: CreateApiClientInput!) { createApiClient(input: $input) { clientSecret } }',
    variables: () => ({ input: { name: ' ', description: 'x'.repeat(1001) } }),
  },
  {
    name: 'an idempotent bulk disable',
    as: 'admin',
    query: 'mutation S($ids: [ID!]!) { setApiClientsEnabled(ids: $ids, enabled: false) { succeeded notFound } }',
    variables: (f) => ({ ids: [f.clientIds[2], f.unknownId] }),
  },
  {
    name: 'a create, normalised',
    as: 'admin',
    query: `mutation C($input: CreateApiClientInput!) { createApiClient(input: $input) { clientSecret apiClient { ${CLIENT_FIELDS} permissions { name } } } }`,
    variables: (f) => ({ input: { name: `jit created ${f.serial}`, description: 'made twice', roleId: f.roleId } }),
    creates: true,
  },
];

/** Ids, secrets, times and serial numbers differ between two creates; everything else must not. */
function normalised(body: unknown): unknown {
  return JSON.parse(
    JSON.stringify(body)
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<id>')
      .replace(/koios_cs_[A-Za-z0-9_-]+/g, '<secret>')
      .replace(/"secretHint":"[^"]*"/g, '"secretHint":"<hint>"')
      .replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/g, '<time>')
      .replace(/jit created \d+/g, 'jit created <n>'),
  );
}

/**
 * graphql-jit words a refused variable's reason its own way at the execution that compiles the
 * document ("…; Expected type Int; Int cannot…"); the variable, value, code and location agree.
 */
function sameVariableWording(body: unknown): unknown {
  const { errors, ...rest } = body as { errors?: { message: string }[] };
  if (errors === undefined) return body;
  const cut = (message: string) => (message.startsWith('Variable "$') ? message.slice(0, message.indexOf(';')) : message);
  return { ...rest, errors: errors.map((error) => ({ ...error, message: cut(error.message) })) };
}

describe.each(testDialects())('GraphQL compiled by graphql-jit answers as interpreted on %s', (dialect) => {
  let compiling: TestServer;
  let interpreting: FastifyInstance;
  let interpretingUrl: string;
  let fixtures: Omit<Fixtures, 'serial'>;
  const tokens: Record<Operation['as'], string | null> = { admin: null, viewer: null, nobody: null };
  let serial = 0;

  beforeAll(async () => {
    compiling = await startTestServer(dialect);
    interpreting = await createApp({
      config: compiling.config,
      database: compiling.database.handle,
      services: compiling.services,
      logger: pino({ level: 'silent' }),
      graphqlJitAfter: 0,
    });
    interpretingUrl = await interpreting.listen({ host: '127.0.0.1', port: 0 });
    tokens.admin = (await actorWith(compiling, 'jit admin', 'Administrator')).token;
    tokens.viewer = (await actorWith(compiling, 'jit viewer', 'Viewer')).token;
    const viewerRole = (await compiling.services.roles.list(SYSTEM_ACTOR)).find((role) => role.name === 'Viewer')!;
    const clientIds: string[] = [];
    for (const [n, description] of ['first', null, 'third'].entries()) {
      const { client } = await compiling.services.clients.create(SYSTEM_ACTOR, {
        name: `jit fixture ${n}`,
        description,
        roleId: n === 0 ? viewerRole.id : null,
      });
      clientIds.push(client.id);
    }
    await compiling.services.clients.update(SYSTEM_ACTOR, clientIds[2]!, { enabled: false });
    const user = await compiling.services.users.create(SYSTEM_ACTOR, {
      email: 'jit@example.com',
      name: 'Jit',
      password: 'correct horse battery staple',
      roleIds: [viewerRole.id],
    });
    fixtures = { clientIds, roleId: viewerRole.id, userId: user.id, unknownId: '00000000-0000-4000-8000-00000000dead' };
  });
  afterAll(async () => {
    await interpreting?.close();
    await compiling?.close();
  });

  async function ask(baseUrl: string, operation: Operation): Promise<{ status: number; body: unknown }> {
    const token = tokens[operation.as];
    const response = await fetch(`${baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
      body: JSON.stringify({ query: operation.query, variables: operation.variables?.({ ...fixtures, serial: serial++ }) ?? {} }),
    });
    return { status: response.status, body: await response.json() };
  }

  it('never runs a compiled mutation for a GET naming the query beside it in the same document', async () => {
    const { client: victim } = await compiling.services.clients.create(SYSTEM_ACTOR, { name: 'jit victim' });
    const document = `query Q { me { id } } mutation M { deleteApiClients(ids: ["${victim.id}"]) { succeeded } }`;
    const post = (token: string | null, operationName: string) =>
      fetch(`${compiling.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
        body: JSON.stringify({ query: document, operationName }),
      });
    // A Viewer runs the mutation (refused) often enough for it to be compiled, were it compiled.
    for (let n = 0; n < 3; n++) expect(((await (await post(tokens.viewer, 'M')).json()) as Answer).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    // An Administrator then follows a link naming the query, and posts it naming the query.
    const link = `${compiling.url}/graphql?${new URLSearchParams({ query: document, operationName: 'Q' })}`;
    for (let n = 0; n < 3; n++) {
      const viaGet = await fetch(link, { headers: { authorization: `Bearer ${tokens.admin}` } });
      expect(viaGet.status).toBe(200);
      expect(Object.keys(((await viaGet.json()) as Answer).data ?? {})).toEqual(['me']);
      expect(Object.keys(((await (await post(tokens.admin, 'Q')).json()) as Answer).data ?? {})).toEqual(['me']);
    }
    // And a GET naming the mutation is refused, however often the document ran before.
    const mutationLink = `${compiling.url}/graphql?${new URLSearchParams({ query: document, operationName: 'M' })}`;
    expect((await fetch(mutationLink, { headers: { authorization: `Bearer ${tokens.admin}` } })).status).toBe(405);
    expect((await compiling.services.clients.get(SYSTEM_ACTOR, victim.id)).id).toBe(victim.id);
  });

  it.each(OPERATIONS.map((operation) => [operation.name, operation] as const))('%s', async (_name, operation) => {
    const expected = await ask(interpretingUrl, operation);
    const first = await ask(compiling.url, operation);
    const compiled = await ask(compiling.url, operation);
    const third = await ask(compiling.url, operation);
    const comparable = (body: unknown) => sameVariableWording(operation.creates === true ? normalised(body) : body);
    for (const answer of [first, compiled, third]) {
      expect({ status: answer.status, body: comparable(answer.body) }).toEqual({ status: expected.status, body: comparable(expected.body) });
    }
  });
});
