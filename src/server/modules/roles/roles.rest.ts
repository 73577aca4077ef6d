import { actorOf } from '../../http/authenticate.js';
import { AUTHENTICATED_ERRORS, IdParams, problems, type RoutesApp } from '../../http/schemas.js';
import { Ref } from '../../../shared/schemas/fields.js';
import { PermissionCatalog } from '../../../shared/schemas/permissions.js';
import { Role, RoleList } from '../../../shared/schemas/roles.js';
import { groupPermissions } from '../../../shared/permissions.js';
import type { RolesService } from './roles.service.js';
import { CreateRoleBody, UpdateRoleBody } from './roles.schema.js';

/** The catalog does not change while the process runs. */
const CATALOG = { categories: groupPermissions((p) => ({ key: p.key, name: p.name, description: p.description })) };

/** Roles and the permission catalog, a thin door onto the roles service. */
export async function rolesRoutes(app: RoutesApp, deps: { roles: RolesService }): Promise<void> {
  const { roles } = deps;
  const tags = ['Roles'];

  app.get(
    '/api/v1/permissions',
    {
      schema: {
        summary: 'The permission catalog, grouped by category',
        description: 'Every permission a role can grant. Needs authentication only.',
        tags,
        response: { 200: Ref(PermissionCatalog), ...problems(401, 503) },
      },
    },
    async () => CATALOG,
  );

  app.get(
    '/api/v1/roles',
    {
      schema: {
        summary: 'List roles',
        description: 'Every role, built-in and custom, by name. Needs roles:read.',
        tags,
        response: { 200: Ref(RoleList), ...problems(...AUTHENTICATED_ERRORS) },
      },
    },
    async (request) => ({ items: await roles.list(actorOf(request)) }),
  );

  app.post(
    '/api/v1/roles',
    {
      schema: {
        summary: 'Create a role',
        description: 'Needs roles:write and every permission the role grants (nobody grants more than they hold).',
        tags,
        body: CreateRoleBody,
        response: { 201: Ref(Role), ...problems(...AUTHENTICATED_ERRORS, 409, 413, 415) },
      },
    },
    async (request, reply) => {
      const { name, description, permissions } = request.body;
      const created = await roles.create(actorOf(request), { name, description: description ?? null, permissions: permissions ?? [] });
      return reply.code(201).send(created);
    },
  );

  app.get(
    '/api/v1/roles/:id',
    {
      schema: {
        summary: 'Get a role',
        description: 'Needs roles:read.',
        tags,
        params: IdParams,
        response: { 200: Ref(Role), ...problems(...AUTHENTICATED_ERRORS, 404) },
      },
    },
    async (request) => roles.get(actorOf(request), request.params.id),
  );

  app.patch(
    '/api/v1/roles/:id',
    {
      schema: {
        summary: 'Rename, describe or change the permissions of a custom role',
        description:
          'Applies to every client and user holding the role on their next request. Needs roles:write and every permission of the role, as it is and as it will be. Built-in roles are 409.',
        tags,
        params: IdParams,
        body: UpdateRoleBody,
        response: { 200: Ref(Role), ...problems(...AUTHENTICATED_ERRORS, 404, 409, 413, 415) },
      },
    },
    async (request) => roles.update(actorOf(request), request.params.id, request.body),
  );

  app.delete(
    '/api/v1/roles/:id',
    {
      schema: {
        summary: 'Delete a custom role',
        description:
          'Clients and users holding it lose it in the same transaction. Needs roles:write and every permission of the role. Built-in roles are 409.',
        tags,
        params: IdParams,
        response: { 204: { type: 'null', description: 'Deleted' }, ...problems(...AUTHENTICATED_ERRORS, 404, 409) },
      },
    },
    async (request, reply) => {
      await roles.delete(actorOf(request), request.params.id);
      return reply.code(204).send();
    },
  );
}
