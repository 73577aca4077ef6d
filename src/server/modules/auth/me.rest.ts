import { sortPermissionKeys, type PermissionKey } from '../../../shared/permissions.js';
import { Ref } from '../../../shared/schemas/fields.js';
import { Me } from '../../../shared/schemas/session.js';
import { problems, type RoutesApp } from '../../http/schemas.js';

/** In catalog order, once per permission set (a client's set is kept until its state changes). */
const sortedBySet = new WeakMap<ReadonlySet<PermissionKey>, PermissionKey[]>();
function sorted(permissions: ReadonlySet<PermissionKey>): PermissionKey[] {
  let keys = sortedBySet.get(permissions);
  if (keys === undefined) sortedBySet.set(permissions, (keys = sortPermissionKeys(permissions)));
  return keys;
}

/** `GET /api/v1/me`: who the caller is and what it may do now. */
export async function meRoutes(app: RoutesApp): Promise<void> {
  app.get(
    '/api/v1/me',
    {
      schema: {
        summary: 'The authenticated principal and its current permissions',
        tags: ['session'],
        response: { 200: Ref(Me), ...problems(401, 503) },
      },
    },
    async (request) => {
      const actor = request.actor!;
      return { type: actor.type === 'system' ? 'user' : actor.type, id: actor.id ?? '', name: actor.name, permissions: sorted(actor.permissions) };
    },
  );
}
