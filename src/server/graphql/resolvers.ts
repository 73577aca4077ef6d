import type { ValueNode } from 'graphql';
import { valueFromASTUntyped } from './graphql-js.js';
import type { IResolvers, MercuriusContext, MercuriusLoaders } from 'mercurius';
import type { AddFederatedCredentialInput } from '../modules/federation/federation.service.js';
import type { Actor } from '../actor.js';
import { namingFields, renameFields, Unauthenticated } from '../errors.js';
import { encodeCursor } from '../db/pagination.js';
import type { AuditEvent, AuditTarget } from '../modules/audit/audit.service.js';
import {
  clientPosition,
  type ApiClient,
  type ApiClientWithSecret,
  type CreatedApiClient,
  type CreateClientInput,
  type UpdateClientInput,
} from '../modules/clients/clients.service.js';
import type { RoleInput, RolePatch } from '../modules/roles/roles.service.js';
import { userPosition, type CreateUserInput, type UpdateUserInput, type User } from '../modules/users/users.service.js';
import type { Services } from '../services.js';
import { groupPermissions, sortPermissionKeys } from '../../shared/permissions.js';

/**
 * The GraphQL door: every resolver is a call to the same service method REST calls, with the
 * caller as actor, so who may do what is decided in one place. Fields of an object a
 * service returned are plain reads; a field that fetches more (a client's permissions) calls a
 * service again, through a loader, and is authorised there.
 */
declare module 'mercurius' {
  interface MercuriusContext {
    /** Set by the door's authentication hook before anything executes. */
    actor: Actor | null;
    /** The caller's address, for throttles. */
    address: string;
  }
}

export type GraphQLContext = MercuriusContext;

/** What `Query.me` resolves to: the caller, its permissions as the unsorted set it holds. */
interface MeSource {
  readonly type: 'CLIENT' | 'USER';
  readonly id: string;
  readonly name: string;
  readonly held: Actor['permissions'];
}

function principalOf(context: GraphQLContext): Actor {
  if (context.actor === null) throw new Unauthenticated();
  return context.actor;
}

const ORDER = {
  NAME_ASC: 'name',
  NAME_DESC: '-name',
  CREATED_AT_ASC: 'createdAt',
  CREATED_AT_DESC: '-createdAt',
  LAST_USED_AT_ASC: 'lastUsedAt',
  LAST_USED_AT_DESC: '-lastUsedAt',
  REQUESTS_7D_ASC: 'requests7d',
  REQUESTS_7D_DESC: '-requests7d',
} as const;
const GRANULARITY = { HOUR: 'hour', DAY: 'day' } as const;
interface UsageArgs {
  readonly from?: string | null;
  readonly to?: string | null;
  readonly granularity?: keyof typeof GRANULARITY | null;
}
const usageInput = (args: UsageArgs) => ({
  from: args.from ?? null,
  to: args.to ?? null,
  granularity: args.granularity === undefined || args.granularity === null ? null : GRANULARITY[args.granularity],
});
/** GraphQL enum values are upper case; the services speak the REST words. */
const usageAnswer = <T extends { granularity: string }>(usage: T) => ({ ...usage, granularity: usage.granularity.toUpperCase() });
const STATUS = { ENABLED: 'enabled', DISABLED: 'disabled' } as const;

/** The services name bad fields after their input's properties; a GraphQL caller is told the argument it sent. */
const pageArguments = (extra: Record<string, string> = {}) => renameFields({ limit: 'first', cursor: 'after', ...extra });
/** `id` is an argument of its own; everything else the service checks came in `input`. */
const inputArguments = (field: string) => (field === 'id' ? field : `input.${field}`);

interface Page<T> {
  readonly items: readonly T[];
  readonly nextCursor: string | null;
}

/** A service page as a Relay connection: each edge's cursor is the place after its item, in the order the service listed. */
function connection<T>(page: Page<T>, cursorOf: (item: T) => string) {
  const edges = page.items.map((node) => ({ node, cursor: cursorOf(node) }));
  return {
    edges,
    pageInfo: {
      hasNextPage: page.nextCursor !== null,
      hasPreviousPage: false,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}

const withSecret = (created: ApiClientWithSecret | CreatedApiClient) => ({ apiClient: created.client, clientSecret: created.clientSecret });

interface PageArgs {
  readonly first?: number | null;
  readonly after?: string | null;
}
interface ApiClientsArgs extends PageArgs {
  readonly filter?: {
    readonly search?: string | null;
    readonly status?: keyof typeof STATUS | null;
    readonly roleId?: string | null;
    readonly unusedFor?: string | null;
    readonly neverUsed?: boolean | null;
    readonly expiringWithin?: string | null;
    readonly expired?: boolean | null;
  } | null;
  readonly orderBy?: keyof typeof ORDER | null;
}
interface UsersArgs extends PageArgs {
  readonly filter?: { readonly search?: string | null } | null;
}
const pageInput = (args: PageArgs) => ({ ...(args.first === undefined || args.first === null ? {} : { limit: args.first }), cursor: args.after ?? null });

/** Output-only scalars: values come from services already in shape (ISO 8601 text, JSON objects). */
const outputScalar = (name: string, accepts: (value: unknown) => boolean) => ({
  serialize(value: unknown) {
    if (!accepts(value)) throw new TypeError(`${name} cannot represent ${typeof value}`);
    return value;
  },
});

const isJsonObject = (value: unknown): boolean => typeof value === 'object' && value !== null && !Array.isArray(value);

/** JSON objects out (audit details) and in (a federated credential's conditions); the service checks what an input holds. */
const jsonObjectScalar = {
  ...outputScalar('JSONObject', isJsonObject),
  parseValue(value: unknown) {
    if (!isJsonObject(value)) throw new TypeError('JSONObject must be an object');
    return value;
  },
  parseLiteral(ast: ValueNode, variables?: Record<string, unknown> | null) {
    const value = valueFromASTUntyped(ast, variables);
    if (!isJsonObject(value)) throw new TypeError('JSONObject must be an object');
    return value;
  },
};

export function createResolvers(services: Services): IResolvers {
  return {
    DateTime: outputScalar('DateTime', (value) => typeof value === 'string'),
    JSONObject: jsonObjectScalar,

    Query: {
      me(_root: unknown, _args: unknown, context: GraphQLContext): MeSource {
        const actor = principalOf(context);
        return { type: actor.type === 'client' ? 'CLIENT' : 'USER', id: actor.id ?? '', name: actor.name, held: actor.permissions };
      },

      async apiClients(_root: unknown, args: ApiClientsArgs, context: GraphQLContext) {
        const sort = args.orderBy === undefined || args.orderBy === null ? undefined : ORDER[args.orderBy];
        const names = {
          search: 'filter.search',
          status: 'filter.status',
          roleId: 'filter.roleId',
          unusedFor: 'filter.unusedFor',
          neverUsed: 'filter.neverUsed',
          expiringWithin: 'filter.expiringWithin',
          expired: 'filter.expired',
          sort: 'orderBy',
        };
        const page = await namingFields(pageArguments(names), () =>
          services.clients.list(principalOf(context), {
            ...pageInput(args),
            search: args.filter?.search ?? null,
            roleId: args.filter?.roleId ?? null,
            unusedFor: args.filter?.unusedFor ?? null,
            neverUsed: args.filter?.neverUsed ?? null,
            expiringWithin: args.filter?.expiringWithin ?? null,
            expired: args.filter?.expired ?? null,
            status: args.filter?.status === undefined || args.filter.status === null ? null : STATUS[args.filter.status],
            ...(sort === undefined ? {} : { sort }),
          }),
        );
        return { ...connection(page, (client) => encodeCursor(clientPosition(sort, client))), totalCount: page.total };
      },

      apiClient: (_root: unknown, args: { id: string }, context: GraphQLContext) => services.clients.get(principalOf(context), args.id),

      roles: (_root: unknown, _args: unknown, context: GraphQLContext) => services.roles.list(principalOf(context)),

      role: (_root: unknown, args: { id: string }, context: GraphQLContext) => services.roles.get(principalOf(context), args.id),

      permissionCategories(_root: unknown, _args: unknown, context: GraphQLContext) {
        principalOf(context);
        return groupPermissions((permission) => ({ key: permission.key, name: permission.name, description: permission.description }));
      },

      async users(_root: unknown, args: UsersArgs, context: GraphQLContext) {
        const page = await namingFields(pageArguments({ search: 'filter.search' }), () =>
          services.users.list(principalOf(context), { ...pageInput(args), search: args.filter?.search ?? null }),
        );
        return { ...connection(page, (user) => encodeCursor(userPosition(user))), totalCount: page.total };
      },

      user: (_root: unknown, args: { id: string }, context: GraphQLContext) => services.users.get(principalOf(context), args.id),

      async auditEvents(_root: unknown, args: PageArgs, context: GraphQLContext) {
        // An event's cursor is its id (newest first; ids only grow).
        return connection(await namingFields(pageArguments(), () => services.audit.list(principalOf(context), pageInput(args))), (event) => event.id);
      },

      usage: async (_root: unknown, args: UsageArgs, context: GraphQLContext) =>
        usageAnswer(await services.usage.fleetUsage(principalOf(context), usageInput(args))),
    },

    Mutation: {
      createApiClient: (_root: unknown, args: { input: CreateClientInput }, context: GraphQLContext) =>
        // Keys come as text (a JWK's JSON or a PEM public key), which the service reads.
        namingFields(inputArguments, async () => withSecret(await services.clients.createAny(principalOf(context), args.input))),

      addApiClientKey: (_root: unknown, args: { id: string; jwk: string }, context: GraphQLContext) =>
        services.clients.addKey(principalOf(context), args.id, args.jwk),

      async removeApiClientKey(_root: unknown, args: { id: string; kid: string }, context: GraphQLContext) {
        await services.clients.removeKey(principalOf(context), args.id, args.kid);
        return services.clients.get(principalOf(context), args.id);
      },

      updateApiClient: (_root: unknown, args: { id: string; input: UpdateClientInput }, context: GraphQLContext) =>
        namingFields(inputArguments, () => services.clients.update(principalOf(context), args.id, args.input)),

      // The service names bad input as these arguments are named (keepPreviousFor, expiresAt).
      regenerateApiClientSecret: async (
        _root: unknown,
        args: { id: string; keepPreviousFor?: number | null; expiresAt?: string | null },
        context: GraphQLContext,
      ) =>
        withSecret(
          await services.clients.regenerateSecret(principalOf(context), args.id, {
            keepPreviousFor: args.keepPreviousFor ?? 0,
            expiresAt: args.expiresAt ?? null,
          }),
        ),

      async endApiClientPreviousSecret(_root: unknown, args: { id: string }, context: GraphQLContext) {
        await services.clients.endPreviousSecret(principalOf(context), args.id);
        return services.clients.get(principalOf(context), args.id);
      },

      addApiClientFederatedCredential: (_root: unknown, args: { id: string; input: AddFederatedCredentialInput }, context: GraphQLContext) =>
        namingFields(inputArguments, () => services.federation.add(principalOf(context), args.id, args.input)),

      async removeApiClientFederatedCredential(_root: unknown, args: { id: string; fcId: string }, context: GraphQLContext) {
        await services.federation.remove(principalOf(context), args.id, args.fcId);
        return args.fcId;
      },

      async setApiClientsEnabled(_root: unknown, args: { ids: string[]; enabled: boolean }, context: GraphQLContext) {
        const result = await services.clients.bulk(principalOf(context), args.enabled ? 'enable' : 'disable', args.ids);
        return { succeeded: result.succeeded, notFound: result.notFound, refused: result.refused, changed: result.changed };
      },

      async deleteApiClients(_root: unknown, args: { ids: string[] }, context: GraphQLContext) {
        const result = await services.clients.bulk(principalOf(context), 'delete', args.ids);
        return { succeeded: result.succeeded, notFound: result.notFound, refused: result.refused, changed: result.changed };
      },

      createRole: (_root: unknown, args: { input: RoleInput }, context: GraphQLContext) =>
        namingFields(inputArguments, () => services.roles.create(principalOf(context), args.input)),

      updateRole: (_root: unknown, args: { id: string; input: RolePatch }, context: GraphQLContext) =>
        namingFields(inputArguments, () => services.roles.update(principalOf(context), args.id, args.input)),

      async deleteRole(_root: unknown, args: { id: string }, context: GraphQLContext) {
        await services.roles.delete(principalOf(context), args.id);
        return args.id;
      },

      createUser: (_root: unknown, args: { input: CreateUserInput }, context: GraphQLContext) =>
        namingFields(inputArguments, () => services.users.create(principalOf(context), args.input)),

      updateUser: (_root: unknown, args: { id: string; input: UpdateUserInput }, context: GraphQLContext) =>
        namingFields(inputArguments, () => services.users.update(principalOf(context), args.id, args.input, { address: context.address })),

      async deleteUser(_root: unknown, args: { id: string }, context: GraphQLContext) {
        await services.users.delete(principalOf(context), args.id);
        return args.id;
      },
    },

    // Sorted only when asked for: sorting a Viewer's keys costs about 2 µs of CPU, which `{ me { id } }` paid too.
    Me: {
      permissions: (me: MeSource) => sortPermissionKeys(me.held),
    },
    AuditActor: {
      type: (actor: AuditEvent['actor']) => actor.type.toUpperCase(),
    },
    AuditTarget: {
      type: (target: AuditTarget) => target.type.toUpperCase(),
    },
    // A client's own figures, asked for one client at a time (the cost limit counts their buckets).
    ApiClient: {
      usage: async (client: ApiClient, args: UsageArgs, context: GraphQLContext) =>
        usageAnswer(await services.usage.clientUsage(principalOf(context), client.id, usageInput(args))),
      recentRefusals: async (client: ApiClient, args: { limit?: number | null }, context: GraphQLContext) =>
        (await services.usage.recentRefusals(principalOf(context), client.id, args.limit ?? undefined)).items.map((refusal) => ({
          ...refusal,
          reason: refusal.reason.toUpperCase(),
        })),
    },
  };
}

/**
 * Fields that would cost a query per object: batched per request (Mercurius loaders), so a page
 * of 200 clients with their permissions is two queries, not 400. The service authorises the batch.
 */
export function createLoaders(services: Services): MercuriusLoaders {
  return {
    ApiClient: {
      async federatedCredentials(queries: { obj: ApiClient }[], context: GraphQLContext) {
        return services.federation.listOfMany(
          principalOf(context),
          queries.map((query) => query.obj.id),
        );
      },
      async permissions(queries: { obj: ApiClient }[], context: GraphQLContext) {
        const ids = queries.map((query) => query.obj.id);
        const byId = await services.clients.permissionsOfMany(principalOf(context), ids);
        return ids.map((id) => byId.get(id) ?? null);
      },
    },
    User: {
      async permissions(queries: { obj: User }[], context: GraphQLContext) {
        const ids = queries.map((query) => query.obj.id);
        const byId = await services.users.permissionsOfMany(principalOf(context), ids);
        return ids.map((id) => byId.get(id) ?? null);
      },
    },
  };
}
