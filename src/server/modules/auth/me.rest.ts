import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { PERMISSION_KEYS, sortPermissionKeys } from '../../../shared/permissions.js';
import { problems } from '../../http/schemas.js';

export const Me = Type.Object(
  {
    type: Type.Union([Type.Literal('user'), Type.Literal('client')], { description: 'A console user or an API client' }),
    id: Type.String({ format: 'uuid' }),
    name: Type.String(),
    permissions: Type.Array(Type.Union(PERMISSION_KEYS.map((key) => Type.Literal(key))), { description: 'What the caller may do on this request' }),
  },
  { $id: 'Me', additionalProperties: false },
);
export type Me = Static<typeof Me>;

/** `GET /api/v1/me`: who the caller is and what it may do now (CONTRACT §6). */
export async function meRoutes(app: FastifyInstance): Promise<void> {
  app.get(
    '/api/v1/me',
    {
      schema: {
        summary: 'The authenticated principal and its current permissions',
        tags: ['session'],
        response: { 200: Type.Ref('Me'), ...problems(401, 503) },
      },
    },
    async (request) => {
      const actor = request.principal!;
      return { type: actor.type === 'system' ? 'user' : actor.type, id: actor.id ?? '', name: actor.name, permissions: sortPermissionKeys(actor.permissions) };
    },
  );
}
