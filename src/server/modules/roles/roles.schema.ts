import { Type } from '@sinclair/typebox';
import { Nullable } from '../../../shared/schemas/fields.js';
import { PermissionKeySchema } from '../../../shared/schemas/permissions.js';
import { DESCRIPTION_MAX_LENGTH, NAME_MAX_LENGTH } from '../../../shared/limits.js';

const Name = Type.String({
  minLength: 1,
  maxLength: NAME_MAX_LENGTH,
  description: `Unique among roles, case-insensitively: 1 to ${NAME_MAX_LENGTH} characters`,
});
const Description = Type.String({ maxLength: DESCRIPTION_MAX_LENGTH, description: `What the role is for, up to ${DESCRIPTION_MAX_LENGTH} characters` });
const Permissions = Type.Array(PermissionKeySchema, { maxItems: 1000, description: 'Permission keys; duplicates are ignored' });

export const CreateRoleBody = Type.Object(
  {
    name: Name,
    description: Type.Optional(Nullable(Description)),
    permissions: Type.Optional(Permissions),
  },
  {
    additionalProperties: false,
    examples: [{ name: 'Client operator', description: 'Runs the API clients', permissions: ['clients:read', 'clients:update'] }],
  },
);

export const UpdateRoleBody = Type.Object(
  {
    name: Type.Optional(Name),
    description: Type.Optional(Nullable(Description)),
    permissions: Type.Optional(Permissions),
  },
  { additionalProperties: false, minProperties: 1, examples: [{ permissions: ['clients:read'] }] },
);
