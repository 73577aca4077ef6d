import { Type } from '@sinclair/typebox';
import { Nullable, Uuid } from '../../../shared/schemas/fields.js';
import {
  EMAIL_MAX_LENGTH,
  NAME_MAX_LENGTH,
  PAGE_SIZE_DEFAULT,
  PAGE_SIZE_MAX,
  PASSWORD_MAX_LENGTH,
  PASSWORD_MIN_LENGTH,
  SEARCH_MAX_LENGTH,
} from '../../../shared/limits.js';

/** More roles than anyone holds; a bound on the work one request can ask for. */
const ROLE_IDS_MAX = 1000;

// The email's shape is checked by the service, once for every door (the CLI accepts `admin@localhost`).
const Email = Type.String({ minLength: 1, maxLength: EMAIL_MAX_LENGTH, description: 'Unique among users, case-insensitively' });
const Name = Type.String({ minLength: 1, maxLength: NAME_MAX_LENGTH, description: `A display name: 1 to ${NAME_MAX_LENGTH} characters after trimming` });
const Password = Type.String({
  minLength: PASSWORD_MIN_LENGTH,
  maxLength: PASSWORD_MAX_LENGTH,
  writeOnly: true,
  description: `${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters; stored as an Argon2id hash, never returned`,
});
const RoleIds = Type.Array(Uuid(), { maxItems: ROLE_IDS_MAX, description: 'The user’s roles; they get the union of their permissions' });

export const ListUsersQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: PAGE_SIZE_MAX, default: PAGE_SIZE_DEFAULT }),
    cursor: Type.Optional(Type.String({ maxLength: 1000 })),
    q: Type.Optional(Type.String({ maxLength: SEARCH_MAX_LENGTH, description: 'Matches part of the name or the email, case-insensitively' })),
  },
  { additionalProperties: false },
);

export const CreateUserBody = Type.Object(
  {
    email: Email,
    name: Type.Optional(Nullable(Name)),
    password: Password,
    roleIds: Type.Optional(RoleIds),
  },
  { additionalProperties: false, examples: [{ email: 'ada@example.com', name: 'Ada', password: 'correct horse battery staple', roleIds: [] }] },
);

export const UpdateUserBody = Type.Object(
  {
    email: Type.Optional(Email),
    name: Type.Optional(Name),
    enabled: Type.Optional(Type.Boolean({ description: 'false ends the user’s sessions' })),
    password: Type.Optional(Password),
    roleIds: Type.Optional(RoleIds),
    currentPassword: Type.Optional(
      Type.String({
        maxLength: PASSWORD_MAX_LENGTH,
        writeOnly: true,
        description: 'Your current password: required to change your own password or email, never stored or returned',
      }),
    ),
  },
  { additionalProperties: false, minProperties: 1, examples: [{ enabled: false }] },
);
