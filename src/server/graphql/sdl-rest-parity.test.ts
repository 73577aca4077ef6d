import type { TSchema } from '@sinclair/typebox';
import {
  buildSchema,
  getNamedType,
  isEnumType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { AuditEvent, AuditPage } from '../../shared/schemas/audit.js';
import { ApiClient, ApiClientWithSecret, BulkResult, ClientPage, CreatedApiClient } from '../../shared/schemas/clients.js';
import { EffectivePermissions, PermissionCatalog } from '../../shared/schemas/permissions.js';
import { FederatedCredential } from '../../shared/schemas/federated-credentials.js';
import { Role } from '../../shared/schemas/roles.js';
import { Me } from '../../shared/schemas/session.js';
import { User, UserPage } from '../../shared/schemas/users.js';
import { ClientUsage, FleetUsage, Refusal, RefusalList, UsageBucket } from '../../shared/schemas/usage.js';
import { typeDefs } from './schema.js';

/**
 * The GraphQL SDL and the REST response schemas describe the same objects twice, in two languages.
 * This test holds them to one another, field by field: names, nullability, list-ness and the kind
 * of each scalar, following nested objects. A field added to one door only fails here until the
 * other door has it too, or it is listed below as a deliberate difference.
 */

const REGISTERED: Record<string, TSchema> = Object.fromEntries(
  [
    ApiClient,
    ApiClientWithSecret,
    CreatedApiClient,
    ClientPage,
    EffectivePermissions,
    PermissionCatalog,
    Role,
    User,
    UserPage,
    AuditEvent,
    AuditPage,
    Me,
    UsageBucket,
    ClientUsage,
    FleetUsage,
    RefusalList,
  ].map((schema) => [schema.$id!, schema]),
);

/** The shapes both doors expose: a GraphQL object type and the REST schema of the same object. */
const PAIRS: readonly (readonly [graphqlType: string, rest: TSchema])[] = [
  ['ApiClient', ApiClient],
  // One GraphQL type answers creating (a private_key_jwt client's secret is null) and regenerating;
  // REST's create answer is the one with the nullable secret.
  ['ApiClientWithSecret', CreatedApiClient],
  ['BulkApiClientsResult', BulkResult],
  ['Role', Role],
  ['PermissionCategory', PermissionCatalog['properties']['categories']['items']],
  ['GrantedPermissionCategory', EffectivePermissions['properties']['categories']['items']],
  ['User', User],
  ['AuditEvent', AuditEvent],
  ['Me', Me],
  ['FederatedCredential', FederatedCredential],
  ['ClientUsage', ClientUsage],
  ['FleetUsage', FleetUsage],
  // GET /api/v1/clients/{id}/refusals wraps the list in `items`; GraphQL's field is the list.
  ['Refusal', Refusal],
  // A page's items are a connection's nodes; the paging fields differ (see RELAY below).
  ['ApiClientEdge', Type({ node: ClientPage['properties']['items']['items'] })],
  ['UserEdge', Type({ node: UserPage['properties']['items']['items'] })],
  ['AuditEventEdge', Type({ node: AuditPage['properties']['items']['items'] })],
];

/** Deliberate differences, `GraphQLType.field`, each with why. Nothing else may differ. */
const GRAPHQL_ONLY: Record<string, string> = {
  // REST serves these at /api/v1/{clients,users}/{id}/permissions, so a page of 50 clients does
  // not compute 50 permission sets; a GraphQL caller asks for the field only when it wants it.
  'ApiClient.permissions': 'GET /api/v1/clients/{id}/permissions',
  'User.permissions': 'GET /api/v1/users/{id}/permissions',
  'ApiClient.federatedCredentials': 'GET /api/v1/clients/{id}/federated-credentials',
  // REST serves a client's figures and refusals at routes of their own, with their ranges.
  'ApiClient.usage': 'GET /api/v1/clients/{id}/usage',
  'ApiClient.recentRefusals': 'GET /api/v1/clients/{id}/refusals',
  // An edge's cursor: REST pages have one `nextCursor` instead.
  'ApiClientEdge.cursor': 'Relay edge cursor',
  'UserEdge.cursor': 'Relay edge cursor',
  'AuditEventEdge.cursor': 'Relay edge cursor',
};
const REST_ONLY: Record<string, string> = {
  // One REST route takes all three actions and says which it did; GraphQL has one mutation per action.
  'BulkApiClientsResult.action': 'POST /api/v1/clients/bulk echoes its action',
};
/** GraphQL names the object after its type (`apiClient`); REST after its role in the answer (`client`). */
const RENAMED: Record<string, string> = { 'ApiClientWithSecret.apiClient': 'client' };
/**
 * Relay connections against REST pages: `edges`/`pageInfo`/`totalCount` against
 * `items`/`nextCursor`/`total`. Compared: the node types (the edges above) and the count.
 */
const RELAY: readonly (readonly [connection: string, page: TSchema])[] = [
  ['ApiClientConnection', ClientPage],
  ['UserConnection', UserPage],
  ['AuditEventConnection', AuditPage],
];
/** Object types with no REST object to compare with: the roots, and Relay's paging metadata. */
const UNPAIRED = new Set(['Query', 'Mutation', 'PageInfo', ...RELAY.map(([connection]) => connection)]);

/** An object schema built for a pairing, not served: every field present. */
function Type(properties: Record<string, TSchema>): TSchema {
  return { type: 'object', properties, required: Object.keys(properties) } as unknown as TSchema;
}

const resolve = (schema: TSchema): TSchema => (typeof schema['$ref'] === 'string' ? REGISTERED[schema['$ref']]! : schema);

/** The schema without its null: `Nullable()` is a type list (`["string", "null"]`) or an `anyOf` with `{ type: "null" }`. */
function withoutNull(schema: TSchema): { schema: TSchema; nullable: boolean } {
  const type: unknown = schema['type'];
  if (Array.isArray(type) && type.includes('null')) {
    const rest = type.filter((t) => t !== 'null');
    return { schema: { ...schema, type: rest.length === 1 ? rest[0] : rest } as TSchema, nullable: true };
  }
  const anyOf = schema['anyOf'] as TSchema[] | undefined;
  if (anyOf?.some((branch) => branch['type'] === 'null')) {
    const rest = anyOf.filter((branch) => branch['type'] !== 'null');
    return { schema: rest.length === 1 ? rest[0]! : ({ anyOf: rest } as unknown as TSchema), nullable: true };
  }
  return { schema, nullable: false };
}

/** The values of a string enum, written as `enum` or as an `anyOf` of constants. */
function enumValues(schema: TSchema): string[] | null {
  if (Array.isArray(schema['enum'])) return (schema['enum'] as string[]).map((value) => value.toUpperCase());
  const anyOf = schema['anyOf'] as TSchema[] | undefined;
  if (anyOf?.every((branch) => typeof branch['const'] === 'string')) return anyOf.map((branch) => (branch['const'] as string).toUpperCase());
  return null;
}

/**
 * What is wrong with a REST scalar standing for a GraphQL scalar or enum, or null. ID stands for
 * any string (a UUID or an audit event's number); String for a string that is no UUID or time;
 * String for an enum too, since permission keys hold `:`, which no GraphQL enum value may.
 */
function scalarProblem(graphql: GraphQLOutputType, rest: TSchema): string | null {
  const named = getNamedType(graphql);
  const restEnum = enumValues(rest);
  const restKind = restEnum !== null ? 'string' : (rest['type'] as string | undefined);
  const format = rest['format'] as string | undefined;
  if (isEnumType(named)) {
    const values = named.getValues().map((value) => value.name);
    return restEnum !== null && [...values].sort().join() === [...restEnum].sort().join()
      ? null
      : `enum ${named.name} (${values.join(', ')}) is REST ${JSON.stringify(rest['enum'] ?? rest['type'])}`;
  }
  const expected: Record<string, (kind: string | undefined) => boolean> = {
    ID: (kind) => kind === 'string' && format !== 'date-time',
    String: (kind) => kind === 'string' && format === undefined,
    DateTime: (kind) => kind === 'string' && format === 'date-time',
    Boolean: (kind) => kind === 'boolean',
    Int: (kind) => kind === 'integer',
    // Free-form details, or a map of names to strings (a TypeBox Record).
    JSONObject: (kind) => kind === 'object' && (rest['additionalProperties'] === true || rest['patternProperties'] !== undefined),
  };
  const matches = expected[named.name];
  if (matches === undefined) return `GraphQL scalar ${named.name} has no REST counterpart in this test`;
  return matches(restKind) ? null : `GraphQL ${named.name} is REST ${restKind ?? 'untyped'}${format === undefined ? '' : ` (${format})`}`;
}

/** The REST objects each GraphQL type was compared with already: a shape nested twice is compared once. */
type Compared = Map<string, Set<TSchema>>;

/** Every difference between a GraphQL object type and a REST object schema, as `Type.field: why` lines. */
function compareObject(schema: GraphQLSchema, typeName: string, restObject: TSchema, seen: Compared): string[] {
  const pairs = seen.get(typeName) ?? new Set<TSchema>();
  if (pairs.has(restObject)) return [];
  seen.set(typeName, pairs.add(restObject));
  const type = schema.getType(typeName);
  if (!isObjectType(type)) return [`${typeName}: no such GraphQL object type`];
  const rest = resolve(restObject);
  const properties = (rest['properties'] ?? {}) as Record<string, TSchema>;
  const required = new Set((rest['required'] ?? []) as string[]);
  const fields = (type as GraphQLObjectType).getFields();
  const found: string[] = [];
  const restNames = new Set<string>();
  for (const [name, field] of Object.entries(fields)) {
    const at = `${typeName}.${name}`;
    if (at in GRAPHQL_ONLY) continue;
    const restName = RENAMED[at] ?? name;
    const property = properties[restName];
    if (property === undefined) {
      found.push(`${at}: in the SDL, not in the REST schema`);
      continue;
    }
    restNames.add(restName);
    found.push(...compareField(schema, at, field.type, property, required.has(restName), seen));
  }
  for (const name of Object.keys(properties)) {
    if (!restNames.has(name) && !(`${typeName}.${name}` in REST_ONLY)) found.push(`${typeName}.${name}: in the REST schema, not in the SDL`);
  }
  return found;
}

function compareField(schema: GraphQLSchema, at: string, graphql: GraphQLOutputType, restProperty: TSchema, required: boolean, seen: Compared): string[] {
  const { schema: rest, nullable } = withoutNull(resolve(restProperty));
  const nonNull = isNonNullType(graphql);
  if (nonNull === (nullable || !required))
    return [`${at}: ${nonNull ? 'non-null' : 'nullable'} in the SDL, ${nullable || !required ? 'nullable or optional' : 'always present'} in REST`];
  const inner = nonNull ? graphql.ofType : graphql;
  if (isListType(inner)) {
    if (rest['type'] !== 'array') return [`${at}: a list in the SDL, not an array in REST`];
    return compareField(schema, `${at}[]`, inner.ofType as GraphQLOutputType, rest['items'] as TSchema, true, seen);
  }
  if (rest['type'] === 'array') return [`${at}: an array in REST, not a list in the SDL`];
  if (isObjectType(inner)) {
    if (rest['type'] !== 'object') return [`${at}: object ${inner.name} in the SDL is REST ${String(rest['type'])}`];
    return compareObject(schema, inner.name, rest, seen);
  }
  if (isScalarType(inner) || isEnumType(inner)) {
    const problem = scalarProblem(inner, rest);
    return problem === null ? [] : [`${at}: ${problem}`];
  }
  return [`${at}: ${String(inner)} is neither object, list, scalar nor enum`];
}

/** Every difference between the SDL and the REST schemas that the lists above do not explain. */
function differences(sdl: string): string[] {
  const schema = buildSchema(sdl);
  const seen: Compared = new Map();
  const found = PAIRS.flatMap(([typeName, rest]) => compareObject(schema, typeName, rest, seen));
  for (const [connection, page] of RELAY) {
    const type = schema.getType(connection);
    if (!isObjectType(type)) {
      found.push(`${connection}: no such GraphQL object type`);
      continue;
    }
    const { totalCount } = type.getFields();
    const total = (page['properties'] as Record<string, TSchema>)['total'];
    if ((totalCount === undefined) !== (total === undefined))
      found.push(`${connection}.totalCount: ${totalCount === undefined ? 'missing' : 'present'}, REST total is not`);
    else if (totalCount !== undefined && total !== undefined)
      found.push(...compareField(schema, `${connection}.totalCount`, totalCount.type, total, true, seen));
  }
  // A new object type is compared with its REST schema, or explained above: never left out silently.
  for (const type of Object.values(schema.getTypeMap())) {
    if (isObjectType(type) && !type.name.startsWith('__') && !seen.has(type.name) && !UNPAIRED.has(type.name)) {
      found.push(`${type.name}: a GraphQL object type compared with no REST schema`);
    }
  }
  return found;
}

describe('the GraphQL SDL and the REST response schemas', () => {
  it('agree field by field on every shape both doors expose, but for the deliberate differences listed', () => {
    expect(differences(typeDefs)).toEqual([]);
  });

  it('names what differs when one door changes a field', () => {
    const broken = typeDefs
      .replace('  enabled: Boolean!\n', '  enabled: Boolean\n') // nullability
      .replace('roles: [RoleSummary!]!', 'roles: RoleSummary!') // list-ness
      .replace('builtIn: Boolean!', 'builtIn: String!') // scalar kind
      .replace('occurredAt: DateTime!', 'occurredAt: String!') // a time as plain text
      .replace('  type: AuditActorType!', '  type: PrincipalType!') // enum values
      .replace('  lastLoginAt: DateTime\n', '  lastSignInAt: DateTime\n') // a renamed field
      .concat('\ntype Webhook {\n  id: ID!\n}\n'); // a new shape, paired with nothing
    expect(differences(broken)).toEqual([
      'ApiClient.enabled: nullable in the SDL, always present in REST',
      'Role.builtIn: GraphQL String is REST boolean',
      'User.roles: an array in REST, not a list in the SDL',
      'User.lastSignInAt: in the SDL, not in the REST schema',
      'User.lastLoginAt: in the REST schema, not in the SDL',
      'AuditEvent.occurredAt: GraphQL String is REST string (date-time)',
      'AuditActor.type: enum PrincipalType (USER, CLIENT) is REST ["user","client","system"]',
      'Webhook: a GraphQL object type compared with no REST schema',
    ]);
  });
});
