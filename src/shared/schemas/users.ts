import { Type, type Static } from '@sinclair/typebox';
import { Nullable, Ref, Timestamp, Uuid } from './fields.js';
import { RoleSummary } from './roles.js';

/** A console user as every door shows it: no field could carry a password. */
export const User = Type.Object(
  {
    id: Uuid(),
    email: Type.String(),
    name: Type.String(),
    enabled: Type.Boolean({ description: 'Disabled users cannot sign in; their sessions have ended' }),
    roles: Type.Array(RoleSummary),
    lastLoginAt: Nullable(Timestamp('When the user last signed in')),
    createdAt: Timestamp('When the user was created'),
    updatedAt: Timestamp('When the user was last changed'),
  },
  { $id: 'User', additionalProperties: false },
);
export type User = Static<typeof User>;

export const UserPage = Type.Object(
  {
    items: Type.Array(Ref(User)),
    nextCursor: Nullable(Type.String({ description: 'Pass as `cursor` for the next page; null on the last page' })),
    total: Type.Integer({ description: 'How many users match the search (every user without one)' }),
  },
  { $id: 'UserPage', additionalProperties: false },
);
export type UserPage = Static<typeof UserPage>;
