import { Type } from '@sinclair/typebox';
import { Nullable, StringEnum, Timestamp, Uuid } from '../../http/schemas.js';
import { DESCRIPTION_MAX_LENGTH, NAME_MAX_LENGTH } from '../../../shared/limits.js';
import { PERMISSION_CATEGORIES, PERMISSION_KEYS, type PermissionKey } from '../../../shared/permissions.js';

/**
 * A permission key of the catalog. An `enum` rather than a union of constants: a wrong key then
 * fails once ("must be equal to one of the allowed values") instead of once per key.
 */
const PermissionKeySchema = StringEnum<readonly PermissionKey[]>(PERMISSION_KEYS, { description: 'A permission key of the catalog' });

const Name = Type.String({
  minLength: 1,
  maxLength: NAME_MAX_LENGTH,
  description: `Unique among roles, case-insensitively: 1 to ${NAME_MAX_LENGTH} characters`,
});
const Description = Type.String({ maxLength: DESCRIPTION_MAX_LENGTH, description: `What the role is for, up to ${DESCRIPTION_MAX_LENGTH} characters` });
const Permissions = Type.Array(PermissionKeySchema, { maxItems: 1000, description: 'Permission keys; duplicates are ignored' });

export const Role = Type.Object(
  {
    id: Uuid(),
    name: Type.String(),
    description: Type.String(),
    builtIn: Type.Boolean({ description: 'Administrator and Viewer: present from the first start, never editable or deletable' }),
    permissions: Type.Array(PermissionKeySchema, { description: 'In catalog order' }),
    createdAt: Timestamp('When the role was created'),
    updatedAt: Timestamp('When the role was last changed'),
  },
  { $id: 'Role', additionalProperties: false },
);

export const RoleList = Type.Object({ items: Type.Array(Type.Ref('Role')) }, { $id: 'RoleList', additionalProperties: false });

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

/** `GET /api/v1/permissions`: the catalog, grouped as `EffectivePermissions` is but without `granted`. */
export const PermissionCatalog = Type.Object(
  {
    categories: Type.Array(
      Type.Object(
        {
          name: StringEnum(PERMISSION_CATEGORIES),
          permissions: Type.Array(Type.Object({ key: PermissionKeySchema, name: Type.String(), description: Type.String() }, { additionalProperties: false })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { $id: 'PermissionCatalog', additionalProperties: false },
);
