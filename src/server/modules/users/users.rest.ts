import { actorOf } from '../../http/authenticate.js';
import { AUTHENTICATED_ERRORS, IdParams, listQueryNames, problems, type RoutesApp } from '../../http/schemas.js';
import { namingFields } from '../../errors.js';
import { Ref } from '../../../shared/schemas/fields.js';
import { EffectivePermissions } from '../../../shared/schemas/permissions.js';
import { User, UserPage } from '../../../shared/schemas/users.js';
import type { UsersService } from './users.service.js';
import { CreateUserBody, ListUsersQuery, UpdateUserBody } from './users.schema.js';

/**
 * The console users, a thin door onto the users service. Passwords go in, never out:
 * the `User` response schema has no field that could carry one.
 */
export async function usersRoutes(app: RoutesApp, deps: { users: UsersService }): Promise<void> {
  const { users } = deps;
  const tags = ['Users'];

  app.get(
    '/api/v1/users',
    {
      schema: {
        summary: 'List users',
        description: 'By email, keyset-paginated; `q` keeps the users whose name or email contains it, and `total` counts them. Needs users:read.',
        tags,
        querystring: ListUsersQuery,
        response: { 200: Ref(UserPage), ...problems(...AUTHENTICATED_ERRORS) },
      },
    },
    async (request) =>
      namingFields(listQueryNames, () =>
        users.list(actorOf(request), { limit: request.query.limit, cursor: request.query.cursor ?? null, search: request.query.q ?? null }),
      ),
  );

  app.post(
    '/api/v1/users',
    {
      schema: {
        summary: 'Create a user',
        description: 'Needs users:write; roleIds also need roles:assign and every permission of each role.',
        tags,
        body: CreateUserBody,
        response: { 201: Ref(User), ...problems(...AUTHENTICATED_ERRORS, 409, 413, 415) },
      },
    },
    async (request, reply) => reply.code(201).send(await users.create(actorOf(request), request.body)),
  );

  app.get(
    '/api/v1/users/:id',
    {
      schema: {
        summary: 'Get a user',
        description: 'Needs users:read.',
        tags,
        params: IdParams,
        response: { 200: Ref(User), ...problems(...AUTHENTICATED_ERRORS, 404) },
      },
    },
    async (request) => users.get(actorOf(request), request.params.id),
  );

  app.patch(
    '/api/v1/users/:id',
    {
      schema: {
        summary: 'Change a user’s email, name, password, state or roles',
        description:
          'email, name, enabled and password need users:write and, for another user, every permission that user holds; changing your own password or email needs `currentPassword` (400 naming it when missing or wrong); roleIds needs roles:assign and every permission of each role added or removed. Disabling a user or changing their password ends their sessions. The last enabled Administrator cannot be disabled or lose the role (409).',
        tags,
        params: IdParams,
        body: UpdateUserBody,
        response: { 200: Ref(User), ...problems(...AUTHENTICATED_ERRORS, 404, 409, 413, 415) },
      },
    },
    // The service ends the user's sessions on a password change or when disabling them.
    async (request) => users.update(actorOf(request), request.params.id, request.body, { address: request.ip }),
  );

  app.delete(
    '/api/v1/users/:id',
    {
      schema: {
        summary: 'Delete a user',
        description:
          'Their sessions end at once. Needs users:write and every permission the user holds; nobody deletes their own account, nor the last enabled Administrator (409).',
        tags,
        params: IdParams,
        response: { 204: { type: 'null', description: 'Deleted' }, ...problems(...AUTHENTICATED_ERRORS, 404, 409) },
      },
    },
    async (request, reply) => {
      await users.delete(actorOf(request), request.params.id);
      return reply.code(204).send();
    },
  );

  app.get(
    '/api/v1/users/:id/permissions',
    {
      schema: {
        summary: 'The user’s effective permissions, grouped by category',
        description: 'Every permission of the catalog with `granted`: the union of the user’s roles. Needs users:read.',
        tags,
        params: IdParams,
        response: { 200: Ref(EffectivePermissions), ...problems(...AUTHENTICATED_ERRORS, 404) },
      },
    },
    async (request) => ({ categories: await users.permissions(actorOf(request), request.params.id) }),
  );
}
