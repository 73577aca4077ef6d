import { Type } from '@sinclair/typebox';
import { Nullable, StringEnum, Timestamp, Uuid } from '../../http/schemas.js';
import { PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX, SEARCH_MAX_LENGTH } from '../../../shared/limits.js';

export const AuditEvent = Type.Object(
  {
    id: Type.String({ description: 'Increases with time; also the event’s position in the list' }),
    occurredAt: Timestamp('When it happened'),
    actor: Type.Object(
      {
        type: StringEnum(['user', 'client', 'system'], { description: '`system` is the operator at the CLI' }),
        id: Nullable(Type.String()),
        name: Type.String({ description: 'As it was at the time' }),
      },
      { additionalProperties: false },
    ),
    action: Type.String({ description: '`<noun>.<verb>`, e.g. `client.secret_regenerated`' }),
    target: Nullable(
      Type.Object(
        {
          type: StringEnum(['client', 'role', 'user', 'system']),
          id: Nullable(Type.String()),
          name: Nullable(Type.String({ description: 'As it was at the time' })),
        },
        { additionalProperties: false },
      ),
    ),
    details: Type.Object({}, { additionalProperties: true, description: 'What changed; never a secret, a password or a token' }),
  },
  { $id: 'AuditEvent', additionalProperties: false },
);

export const AuditPage = Type.Object(
  {
    items: Type.Array(Type.Ref('AuditEvent'), { description: 'Newest first' }),
    nextCursor: Nullable(Type.String({ description: 'Pass as `cursor` for older events; null on the last page' })),
  },
  { $id: 'AuditPage', additionalProperties: false },
);

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
