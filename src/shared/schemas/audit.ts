import { Type, type Static } from '@sinclair/typebox';
import { Nullable, Ref, StringEnum, Timestamp } from './fields.js';

export const AuditTarget = Type.Object(
  {
    type: StringEnum(['client', 'role', 'user', 'system']),
    id: Nullable(Type.String()),
    name: Nullable(Type.String({ description: 'As it was at the time' })),
  },
  { additionalProperties: false },
);
export type AuditTarget = Static<typeof AuditTarget>;

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
    target: Nullable(AuditTarget),
    // Any JSON object: typed as a record, described exactly as before.
    details: Type.Unsafe<Record<string, unknown>>(
      Type.Object({}, { additionalProperties: true, description: 'What changed; never a secret, a password or a token' }),
    ),
  },
  { $id: 'AuditEvent', additionalProperties: false },
);
export type AuditEvent = Static<typeof AuditEvent>;

export const AuditPage = Type.Object(
  {
    items: Type.Array(Ref(AuditEvent), { description: 'Newest first' }),
    nextCursor: Nullable(Type.String({ description: 'Pass as `cursor` for older events; null on the last page' })),
  },
  { $id: 'AuditPage', additionalProperties: false },
);
export type AuditPage = Static<typeof AuditPage>;
