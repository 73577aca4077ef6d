import { randomUUID } from 'node:crypto';
import {
  buildSchema,
  getIntrospectionQuery,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
} from 'graphql';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { SYSTEM_ACTOR } from '../actor.js';
import { PERMISSION_KEYS, type PermissionKey } from '../../shared/permissions.js';
import { testDialects } from '../../../test/support/databases.js';
import { codesOf, graphqlClient, postGraphql } from '../../../test/support/graphql.js';
import { actorWith } from '../../../test/support/oauth.js';
import { startTestServer, type TestServer } from '../../../test/support/server.js';
import { QUERY_LIMITS } from './limits.js';
import { typeDefs } from './schema.js';

/**
 * At the GraphQL door: authorisation on every field, nested ones included, through
 * the services; and the limits that refuse an abusive request before any resolver runs (the
 * OWASP GraphQL Cheat Sheet's depth, alias, field, cost and batching attacks).
 */
const schema = buildSchema(typeDefs);
const queryType = schema.getQueryType()!;
const mutationType = schema.getMutationType()!;

/** A literal for any input type: well-formed, so only authorisation can refuse it. */
function literalFor(type: GraphQLInputType): string {
  if (isNonNullType(type)) return literalFor(type.ofType);
  if (isListType(type)) return `[${literalFor(type.ofType)}]`;
  if (isInputObjectType(type)) {
    const fields = Object.values(type.getFields()).filter((field) => isNonNullType(field.type));
    return `{ ${fields.map((field) => `${field.name}: ${literalFor(field.type)}`).join(', ')} }`;
  }
  if (isEnumType(type)) return type.getValues()[0]!.name;
  switch (type.name) {
    case 'ID':
      return `"${randomUUID()}"`;
    case 'Int':
      return '1';
    case 'Boolean':
      return 'true';
    default:
      return '"clients:read"';
  }
}

/** Every field of a type that needs no argument, objects two levels down. */
function selectionOf(type: GraphQLObjectType, depth = 2): string {
  const fields = Object.values(type.getFields()).filter((field) => field.args.every((arg) => !isNonNullType(arg.type)));
  return fields
    .flatMap((field) => {
      const named = getNamedType(field.type);
      if (isLeafType(named)) return [field.name];
      if (depth === 0 || !isObjectType(named)) return [];
      return [`${field.name} { ${selectionOf(named, depth - 1)} }`];
    })
    .join(' ');
}

/** `field(args) { selection }` with every required argument filled in. */
function callOf(field: GraphQLField<unknown, unknown>): string {
  const args = field.args.filter((arg) => isNonNullType(arg.type)).map((arg) => `${arg.name}: ${literalFor(arg.type)}`);
  const named = getNamedType(field.type);
  return `${field.name}${args.length > 0 ? `(${args.join(', ')})` : ''}${isObjectType(named) ? ` { ${selectionOf(named)} }` : ''}`;
}

const UNGUARDED_QUERIES = ['me', 'permissionCategories'];

describe.each(testDialects())('GraphQL authorisation and limits on %s', (dialect) => {
  let server: TestServer;
  let admin: ReturnType<typeof graphqlClient>;
  let adminToken: string;

  /** Everything an attack could have changed. */
  const snapshot = async () => ({
    clients: (await server.services.clients.list(SYSTEM_ACTOR, { limit: 200 })).items.map((client) => [
      client.name,
      client.enabled,
      client.secretHint,
      client.role?.id,
    ]),
    roles: (await server.services.roles.list(SYSTEM_ACTOR)).map((role) => [role.name, role.permissions]),
    users: (await server.services.users.list(SYSTEM_ACTOR)).items.map((user) => [user.email, user.enabled]),
    audit: (await server.services.audit.list(SYSTEM_ACTOR, { limit: 1 })).items[0]?.id,
  });

  beforeAll(async () => {
    server = await startTestServer(dialect);
    adminToken = (await actorWith(server, 'security admin', 'Administrator')).token;
    admin = graphqlClient(server, adminToken);
  });
  afterAll(async () => server?.close());
  afterEach(() => vi.restoreAllMocks());

  describe('authorisation on every field', () => {
    it('answers every mutation FORBIDDEN to a Viewer, and nothing changes', async () => {
      const viewer = graphqlClient(server, (await actorWith(server, 'viewer', 'Viewer')).token);
      const before = await snapshot();
      const fields = Object.values(mutationType.getFields());
      expect(fields.map((field) => field.name)).toHaveLength(16);
      for (const field of fields) {
        const answer = await viewer(`mutation { ${callOf(field)} }`);
        expect({ field: field.name, status: answer.status, data: answer.data, codes: codesOf(answer) }).toEqual({
          field: field.name,
          status: 200,
          data: { [field.name]: null },
          codes: ['FORBIDDEN'],
        });
      }
      expect(await snapshot()).toEqual(before);
    });

    it('walks every Query field: none but me and permissionCategories gives data to an actor without permissions', async () => {
      const nobody = await actorWith(server, 'nobody', null);
      const ask = graphqlClient(server, nobody.token);
      for (const field of Object.values(queryType.getFields())) {
        const answer = await ask(`{ ${callOf(field)} }`);
        if (UNGUARDED_QUERIES.includes(field.name)) {
          expect({ field: field.name, errors: answer.errors }).toEqual({ field: field.name, errors: [] });
          continue;
        }
        expect({ field: field.name, data: answer.data, codes: codesOf(answer) }).toEqual({
          field: field.name,
          data: { [field.name]: null },
          codes: ['FORBIDDEN'],
        });
      }
      expect((await ask('{ me { permissions } }')).data).toEqual({ me: { permissions: [] } });
    });

    const READS: [PermissionKey, string[]][] = [
      ['clients:read', ['apiClients', 'apiClient']],
      ['roles:read', ['roles', 'role']],
      ['users:read', ['users', 'user']],
      ['audit:read', ['auditEvents']],
    ];
    it.each(READS)('gates %s: FORBIDDEN holding every other permission, answered holding it alone', async (permission, fields) => {
      const without = graphqlClient(
        server,
        (
          await actorWith(
            server,
            `all but ${permission}`,
            PERMISSION_KEYS.filter((key) => key !== permission),
          )
        ).token,
      );
      const only = graphqlClient(server, (await actorWith(server, `only ${permission}`, [permission])).token);
      for (const name of fields) {
        const query = `{ ${callOf(queryType.getFields()[name]!)} }`;
        expect(codesOf(await without(query)), `${name} without ${permission}`).toEqual(['FORBIDDEN']);
        // A random id is then not found, which only a caller allowed to look may learn.
        expect(codesOf(await only(query)), `${name} with ${permission}`).toEqual(name.endsWith('s') ? [] : ['NOT_FOUND']);
      }
    });

    it("refuses nested fields too: a creator without clients:read gets its client but not the client's permissions", async () => {
      const creator = graphqlClient(server, (await actorWith(server, 'creator', ['clients:create'])).token);
      const answer = await creator<{ createApiClient: { apiClient: { name: string; permissions: null } } }>(
        'mutation { createApiClient(input: { name: "made by a creator" }) { clientSecret apiClient { id name permissions { name permissions { key granted } } } } }',
      );
      expect(answer.data!.createApiClient.apiClient).toMatchObject({ name: 'made by a creator', permissions: null });
      expect(answer.errors).toEqual([
        expect.objectContaining({ path: ['createApiClient', 'apiClient', 'permissions'], extensions: expect.objectContaining({ code: 'FORBIDDEN' }) }),
      ]);
      expect(codesOf(await creator('{ apiClients { totalCount } }'))).toEqual(['FORBIDDEN']);
      expect(codesOf(await creator(`{ apiClient(id: "${randomUUID()}") { id } }`))).toEqual(['FORBIDDEN']);

      const userWriter = graphqlClient(server, (await actorWith(server, 'user writer', ['users:write'])).token);
      const user = await userWriter(
        'mutation { createUser(input: { email: "nested@example.com", password: "a long password!" }) { email permissions { name } } }',
      );
      expect(user.data).toEqual({ createUser: { email: 'nested@example.com', permissions: null } });
      expect(user.errors).toEqual([
        expect.objectContaining({ path: ['createUser', 'permissions'], extensions: expect.objectContaining({ code: 'FORBIDDEN' }) }),
      ]);
    });

    it('says which permissions are missing, and never lets anyone grant more than they hold', async () => {
      const assigner = graphqlClient(server, (await actorWith(server, 'assigner', ['clients:create', 'clients:read', 'roles:assign', 'roles:read'])).token);
      const administrator = (await server.services.roles.list(SYSTEM_ACTOR)).find((role) => role.name === 'Administrator')!;
      const answer = await assigner(`mutation { createApiClient(input: { name: "escalation", roleId: "${administrator.id}" }) { clientSecret } }`);
      expect(answer.errors[0]!.extensions).toMatchObject({ code: 'FORBIDDEN', missingPermissions: expect.arrayContaining(['clients:delete', 'users:write']) });
      expect((await server.services.clients.list(SYSTEM_ACTOR, { search: 'escalation' })).total).toBe(0);
    });
  });

  describe('limits, checked before anything runs', () => {
    /** Spies on what any of the abusive requests below would have run. */
    const watch = () => [vi.spyOn(server.services.clients, 'list'), vi.spyOn(server.services.clients, 'create'), vi.spyOn(server.services.clients, 'get')];
    /** No call on behalf of a caller (the test's own snapshots act as the system). */
    const expectNothingRan = (spies: ReturnType<typeof watch>) =>
      spies.forEach((spy) => expect((spy.mock.calls as unknown[][]).filter(([actor]) => actor !== SYSTEM_ACTOR)).toEqual([]));

    it('refuses a 40-deep query', async () => {
      // The data graph has no cycles; introspection does (__Type.ofType), so that is how one gets deep.
      const deep = `{ apiClients { totalCount } __type(name: "ApiClient") { ${'ofType { '.repeat(38)}name${' }'.repeat(38)} } }`;
      const spies = watch();
      const before = await snapshot();
      const answer = await admin(deep);
      expect(answer.status).toBe(400);
      expect(answer.data).toBeUndefined();
      expect(codesOf(answer)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
      expect(answer.errors[0]!.message).toMatch(/depth \(40\) exceeds the query depth limit of 15/);
      expectNothingRan(spies);
      expect(await snapshot()).toEqual(before);
    });

    it('refuses a 5,000-alias query (it is refused at parsing, past the token limit)', async () => {
      const aliases = Array.from({ length: 5000 }, (_, index) => `a${index}:me{id}`).join(' ');
      const spies = watch();
      const answer = await admin(`{ apiClients { totalCount } ${aliases} }`);
      expect(answer.status).toBe(400);
      expect(codesOf(answer)).toEqual(['GRAPHQL_PARSE_FAILED']);
      expect(answer.errors[0]!.message).toMatch(/contains more th\w+ 5000 tokens/);
      expectNothingRan(spies);
    });

    it('refuses more aliases than the limit even when the document is small', async () => {
      const count = QUERY_LIMITS.maxAliases + 1;
      const aliases = Array.from({ length: count }, (_, index) => `a${index}: createApiClient(input: { name: "alias ${index}" }) { clientSecret }`).join(' ');
      const spies = watch();
      const before = await snapshot();
      const answer = await admin(`mutation Flood { ${aliases} }`);
      expect(answer.status).toBe(400);
      expect(answer.errors).toEqual([
        expect.objectContaining({
          message: `Flood has ${count} aliases; at most ${QUERY_LIMITS.maxAliases} are allowed`,
          extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
        }),
      ]);
      expectNothingRan(spies);
      expect(await snapshot()).toEqual(before);
    });

    it('refuses more fields than the limit, counting fragments each time they are spread', async () => {
      const spies = watch();
      const fields = await admin(`{ me { ${'id '.repeat(QUERY_LIMITS.maxFields)} } }`);
      expect(fields.status).toBe(400);
      expect(fields.errors[0]!.message).toMatch(/selects 501 fields/);
      // 2^10 spreads of a fragment: small on the wire, 2,048 fields once expanded.
      const levels = Array.from({ length: 10 }, (_, index) => `fragment F${index} on Me { ...F${index + 1} ...F${index + 1} }`).join(' ');
      const fragments = await admin(`{ me { ...F0 } } ${levels} fragment F10 on Me { id name }`);
      expect(fragments.status).toBe(400);
      expect(fragments.errors[0]!.message).toMatch(/selects 2049 fields/);
      expectNothingRan(spies);
    });

    it('refuses a query over the cost limit, and accepts a full page of 200 clients with their permissions', async () => {
      const page = `apiClients(first: 200) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id name description enabled role { id name } secretHint lastUsedAt createdAt updatedAt permissions { name permissions { key name granted } } } } }`;
      const spies = watch();
      const twice = await admin(`{ a: ${page} b: ${page} }`);
      expect(twice.status).toBe(400);
      expect(twice.errors[0]!.message).toMatch(/costs an estimated \d+; at most 25000 is allowed/);
      expectNothingRan(spies);
      // A variable page size counts as the largest page.
      const variable = await admin(`query Pages($n: Int) { a: ${page.replace('first: 200', 'first: $n')} b: ${page.replace('first: 200', 'first: $n')} }`, {
        n: 1,
      });
      expect(variable.status).toBe(400);
      vi.restoreAllMocks();
      const once = await admin(`{ ${page} }`);
      expect(once.status).toBe(200);
      expect(once.errors).toEqual([]);
    });

    it('refuses a batch of 100 operations, and runs a batch of 10', async () => {
      const operation = { query: 'mutation { createApiClient(input: { name: "batched" }) { clientSecret } }' };
      const spies = watch();
      const before = await snapshot();
      const refused = await postGraphql(server, adminToken, JSON.stringify(Array.from({ length: 100 }, () => operation)));
      expect(refused.status).toBe(400);
      expect(refused.json).toEqual({ errors: [{ message: 'a batch must hold 1 to 10 operations; this one has 100', extensions: { code: 'BAD_REQUEST' } }] });
      expect((await postGraphql(server, adminToken, '[]')).status).toBe(400);
      expectNothingRan(spies);
      expect(await snapshot()).toEqual(before);

      const accepted = await postGraphql(server, adminToken, JSON.stringify(Array.from({ length: 10 }, () => ({ query: '{ me { name } }' }))));
      expect(accepted.status).toBe(200);
      expect(accepted.json).toEqual(Array.from({ length: 10 }, () => ({ data: { me: { name: 'security admin' } } })));
    });

    it('refuses a body over the size limit 413, and an unknown method 405', async () => {
      const big = await postGraphql(server, adminToken, JSON.stringify({ query: `{ me { id } } # ${'x'.repeat(QUERY_LIMITS.bodyLimit)}` }));
      expect(big.status).toBe(413);
      expect(big.json).toEqual({
        errors: [{ message: `the body is larger than ${QUERY_LIMITS.bodyLimit / 1024} KiB`, extensions: { code: 'PAYLOAD_TOO_LARGE' } }],
      });
      const put = await fetch(`${server.url}/graphql`, { method: 'PUT', headers: { authorization: `Bearer ${adminToken}` } });
      expect(put.status).toBe(405);
      expect(put.headers.get('allow')).toBe('GET, POST');
    });

    it('refuses a NUL character in a string literal, or in a variable, before anything runs', async () => {
      const spies = watch();
      const before = await snapshot();
      const literal = await admin('mutation { createApiClient(input: { name: "nul", description: "x\\u0000y" }) { clientSecret } }');
      expect(literal.status).toBe(400);
      expect(codesOf(literal)).toEqual(['BAD_USER_INPUT']);
      expect(literal.errors[0]!.message).toMatch(/NUL character/);
      const variable = await admin('mutation C($input: CreateApiClientInput!) { createApiClient(input: $input) { clientSecret } }', {
        input: { name: 'nul', description: 'x\u0000y' },
      });
      expect(variable.status).toBe(400);
      // A GET's variables are parsed after the request's validation; a crafted cursor hides one too.
      const viaGet = await fetch(
        `${server.url}/graphql?${new URLSearchParams({ query: 'query S($s: String) { apiClients(filter: { search: $s }) { totalCount } }', variables: JSON.stringify({ s: 'a\u0000' }) })}`,
        { headers: { authorization: `Bearer ${adminToken}` } },
      );
      expect(viaGet.status).toBe(400);
      expect(((await viaGet.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('BAD_USER_INPUT');
      expectNothingRan(spies);
      // The service decodes the cursor, and refuses it before any query.
      const cursor = Buffer.from(JSON.stringify(['-createdAt', '\u0000', 'x'])).toString('base64url');
      const crafted = await admin(`{ apiClients(after: "${cursor}") { totalCount } }`);
      expect(codesOf(crafted)).toEqual(['BAD_USER_INPUT']);
      expect(await snapshot()).toEqual(before);
    });

    it.each([
      ['an operation its document lacks', 'query Q { me { id } }', 'Nope', 'Unknown operation named "Nope".'],
      ['an empty operation name', 'query Q { me { id } }', '', 'Unknown operation named "".'],
      [
        'no operation in a document of two',
        'query Q { me { id } } query R { me { name } }',
        undefined,
        'Must provide operation name if query contains multiple operations.',
      ],
    ])('answers a GET naming %s 400 with graphql-js’s message, not 500', async (_what, query, operationName, message) => {
      const params = new URLSearchParams({ query, ...(operationName === undefined ? {} : { operationName }) });
      const viaGet = await fetch(`${server.url}/graphql?${params}`, { headers: { authorization: `Bearer ${adminToken}` } });
      expect(viaGet.status).toBe(400);
      expect(((await viaGet.json()) as { errors: { message: string }[] }).errors.map((error) => error.message)).toEqual([message]);
    });

    it('keeps the standard introspection query working for the authenticated, and serves no GraphiQL', async () => {
      const introspection = await admin(
        getIntrospectionQuery({ descriptions: true, schemaDescription: true, specifiedByUrl: true, directiveIsRepeatable: true, inputValueDeprecation: true }),
      );
      expect(introspection.status).toBe(200);
      expect(introspection.errors).toEqual([]);
      expect((await graphqlClient(server, null)(getIntrospectionQuery())).status).toBe(401);
      expect((await fetch(`${server.url}/graphiql`)).status).toBe(404);
    });
  });
});
