import type { FastifyReply } from 'fastify';
import { actorOf } from '../../http/authenticate.js';
import { AUTHENTICATED_ERRORS, IdParams, listQueryNames, problems, type RoutesApp } from '../../http/schemas.js';
import { namingFields } from '../../errors.js';
import { ApiClient, ApiClientWithSecret, BulkResult, ClientPage, CreatedApiClient } from '../../../shared/schemas/clients.js';
import { Ref } from '../../../shared/schemas/fields.js';
import { EffectivePermissions } from '../../../shared/schemas/permissions.js';
import type { ClientsService } from './clients.service.js';
import { AddKeyBody, BulkBody, CreateClientBody, KeyParams, ListClientsQuery, RegenerateSecretBody, UpdateClientBody } from './clients.schema.js';

/** RFC 6749 §5.1 asks it of tokens; a secret in a response must not be cached either. */
const noStore = (reply: FastifyReply) => reply.header('Cache-Control', 'no-store').header('Pragma', 'no-cache');

/** The API client routes, a thin door onto the clients service. */
export async function clientsRoutes(app: RoutesApp, deps: { clients: ClientsService }): Promise<void> {
  const { clients } = deps;
  const tags = ['API clients'];

  app.get(
    '/api/v1/clients',
    {
      schema: {
        summary: 'List API clients',
        description:
          'Keyset-paginated; `total` counts every client matching `q`, `status`, `roleId`, `unusedFor`, `neverUsed`, `expiringWithin` and `expired`. Needs clients:read.',
        tags,
        querystring: ListClientsQuery,
        response: { 200: Ref(ClientPage), ...problems(...AUTHENTICATED_ERRORS) },
      },
    },
    async (request) => {
      const { limit, cursor, q, status, roleId, unusedFor, neverUsed, expiringWithin, expired, sort } = request.query;
      return namingFields(listQueryNames, () =>
        clients.list(actorOf(request), {
          limit,
          cursor: cursor ?? null,
          search: q ?? null,
          status: status ?? null,
          roleId: roleId ?? null,
          unusedFor: unusedFor ?? null,
          neverUsed: neverUsed ?? null,
          expiringWithin: expiringWithin ?? null,
          expired: expired ?? null,
          sort,
        }),
      );
    },
  );

  app.post(
    '/api/v1/clients',
    {
      schema: {
        summary: 'Create an API client',
        description:
          'Returns the client secret once (null for a private_key_jwt client, which has none). Needs clients:create; a roleId also needs roles:assign and every permission of the role.',
        tags,
        body: CreateClientBody,
        response: { 201: Ref(CreatedApiClient), ...problems(...AUTHENTICATED_ERRORS, 409, 413, 415) },
      },
    },
    async (request, reply) => {
      const created = await clients.createAny(actorOf(request), request.body);
      return noStore(reply).code(201).send(created);
    },
  );

  app.post(
    '/api/v1/clients/bulk',
    {
      schema: {
        summary: 'Enable, disable or delete up to 1,000 clients in one transaction',
        description:
          'Ids that do not exist are listed in `notFound`; clients whose role grants a permission the caller lacks are left unchanged and listed in `refused` with the reason. Needs clients:update (enable, disable) or clients:delete.',
        tags,
        body: BulkBody,
        response: { 200: BulkResult, ...problems(...AUTHENTICATED_ERRORS, 413, 415) },
      },
    },
    async (request) => clients.bulk(actorOf(request), request.body.action, request.body.ids),
  );

  app.get(
    '/api/v1/clients/:id',
    {
      schema: {
        summary: 'Get an API client',
        description: 'Needs clients:read.',
        tags,
        params: IdParams,
        response: { 200: Ref(ApiClient), ...problems(...AUTHENTICATED_ERRORS, 404) },
      },
    },
    async (request) => clients.get(actorOf(request), request.params.id),
  );

  app.patch(
    '/api/v1/clients/:id',
    {
      schema: {
        summary: 'Rename, describe, enable or disable a client, change its role, its secret’s expiry or where it may call from',
        description:
          'Every change needs every permission of the client’s current role; name, description, enabled and allowedCidrs need clients:update; roleId needs roles:assign and every permission of the new role; secretExpiresAt needs clients:secrets. `roleId: null` removes the role, `secretExpiresAt: null` makes the secret never expire. `allowedCidrs: []` lets the client call from anywhere. Changes apply to the client’s next request on every instance.',
        tags,
        params: IdParams,
        body: UpdateClientBody,
        response: { 200: Ref(ApiClient), ...problems(...AUTHENTICATED_ERRORS, 404, 413, 415) },
      },
    },
    async (request) => clients.update(actorOf(request), request.params.id, request.body),
  );

  app.delete(
    '/api/v1/clients/:id',
    {
      schema: {
        summary: 'Delete an API client',
        description: 'Its tokens stop working on their next request. Needs clients:delete and every permission of the client’s role.',
        tags,
        params: IdParams,
        response: { 204: { type: 'null', description: 'Deleted' }, ...problems(...AUTHENTICATED_ERRORS, 404) },
      },
    },
    async (request, reply) => {
      await clients.delete(actorOf(request), request.params.id);
      return reply.code(204).send();
    },
  );

  app.post(
    '/api/v1/clients/:id/secret',
    {
      schema: {
        summary: 'Regenerate the client secret',
        description:
          'The old secret and every token minted with it stop working at once, or with `keepPreviousFor` when that many seconds have passed (both secrets work meanwhile; a rotation during an overlap ends it). The body is optional. 409 for a private_key_jwt client, which has no secret. Needs clients:secrets and every permission of the client’s role.',
        tags,
        params: IdParams,
        body: RegenerateSecretBody,
        response: { 200: Ref(ApiClientWithSecret), ...problems(...AUTHENTICATED_ERRORS, 404, 409, 413, 415) },
      },
      // The body is optional: no body is an empty one (no overlap, no chosen expiry).
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request, reply) => noStore(reply).send(await clients.regenerateSecret(actorOf(request), request.params.id, request.body)),
  );

  app.delete(
    '/api/v1/clients/:id/previous-secret',
    {
      schema: {
        summary: 'End a rotation’s overlap now',
        description:
          'The previous secret and every token minted with it stop working on their next request. 404 when the client has no previous secret. Needs clients:secrets and every permission of the client’s role.',
        tags,
        params: IdParams,
        response: { 204: { type: 'null', description: 'Ended' }, ...problems(...AUTHENTICATED_ERRORS, 404) },
      },
    },
    async (request, reply) => {
      await clients.endPreviousSecret(actorOf(request), request.params.id);
      return reply.code(204).send();
    },
  );

  app.post(
    '/api/v1/clients/:id/keys',
    {
      schema: {
        summary: 'Add a public key to a private_key_jwt client',
        description:
          'Assertions signed with the key authenticate the client from its next request on every instance; add the new key, move the client to it, then remove the old one for a rotation without downtime. 400 for a private key or an unsupported one, 409 for a client_secret client or a kid or key it has already. Needs clients:secrets and every permission of the client’s role.',
        tags,
        params: IdParams,
        body: AddKeyBody,
        response: { 201: Ref(ApiClient), ...problems(...AUTHENTICATED_ERRORS, 404, 409, 413, 415) },
      },
    },
    async (request, reply) => reply.code(201).send(await clients.addKey(actorOf(request), request.params.id, request.body.jwk)),
  );

  app.delete(
    '/api/v1/clients/:id/keys/:kid',
    {
      schema: {
        summary: 'Remove a public key from a private_key_jwt client',
        description:
          'Assertions signed with it, and every token it authenticated, stop working on their next request. Needs clients:secrets and every permission of the client’s role.',
        tags,
        params: KeyParams,
        response: { 204: { type: 'null', description: 'Removed' }, ...problems(...AUTHENTICATED_ERRORS, 404) },
      },
    },
    async (request, reply) => {
      await clients.removeKey(actorOf(request), request.params.id, request.params.kid);
      return reply.code(204).send();
    },
  );

  app.get(
    '/api/v1/clients/:id/permissions',
    {
      schema: {
        summary: 'The client’s effective permissions, grouped by category',
        description: 'Every permission of the catalog with `granted`. Needs clients:read.',
        tags,
        params: IdParams,
        response: { 200: Ref(EffectivePermissions), ...problems(...AUTHENTICATED_ERRORS, 404) },
      },
    },
    async (request) => ({ categories: await clients.permissions(actorOf(request), request.params.id) }),
  );
}
