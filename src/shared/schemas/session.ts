import { Type, type Static } from '@sinclair/typebox';
import { PERMISSION_KEYS } from '../permissions.js';
import { StringEnum, Timestamp, Uuid } from './fields.js';

/** `GET /api/v1/me`: who the caller is and what it may do now. */
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

/** A console session, as signing in and `GET /api/v1/session` answer it. */
export const Session = Type.Object(
  {
    user: Type.Object({ id: Uuid(), email: Type.String(), name: Type.String() }, { additionalProperties: false }),
    csrfToken: Type.String({ description: 'Send it as X-CSRF-Token on every change made with the session cookie' }),
    expiresAt: Timestamp('When the session ends'),
  },
  { $id: 'Session', additionalProperties: false },
);
export type Session = Static<typeof Session>;
