import { Type, type Static } from '@sinclair/typebox';
import { PERMISSION_KEYS, sortPermissionKeys, type PermissionKey } from '../../../shared/permissions.js';
import { problems, Ref, StringEnum, type RoutesApp } from '../../http/schemas.js';

export const Me = Type.Object(
  {
    type: StringEnum(['user', 'client'], { description: 'A console user or an API client' }),
    id: Type.String({ format: 'uuid' }),
    name: Type.String(),
    permissions: Type.Array(StringEnum(PERMISSION_KEYS), { description: 'What the caller may do on this request' }),
  },
  { $id: 'Me', additionalProperties: false },
);
export type Me = Static<typeof Me>;

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
      const actor = request.principal!;
      return { type: actor.type === 'system' ? 'user' : actor.type, id: actor.id ?? '', name: actor.name, permissions: sorted(actor.permissions) };
    },
  );
}
