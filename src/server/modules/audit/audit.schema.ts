import { Type } from '@sinclair/typebox';
import { Uuid } from '../../../shared/schemas/fields.js';
import { PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX, SEARCH_MAX_LENGTH } from '../../../shared/limits.js';

export const ListAuditEventsQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: PAGE_SIZE_MAX, default: PAGE_SIZE_DEFAULT }),
    cursor: Type.Optional(Type.String({ maxLength: 1000 })),
    actorId: Type.Optional(Uuid('Only events by this user or client')),
    targetId: Type.Optional(Uuid('Only events about this client, role or user')),
    action: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Only this action, e.g. `client.deleted`' })),
    q: Type.Optional(
      Type.String({ maxLength: SEARCH_MAX_LENGTH, description: 'Matches the actor’s or target’s name, the action or an id, case-insensitively' }),
    ),
  },
  { additionalProperties: false },
);
