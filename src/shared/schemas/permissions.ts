import { Type, type Static } from '@sinclair/typebox';
import { PERMISSION_CATEGORIES, PERMISSION_KEYS, type PermissionKey } from '../permissions.js';
import { StringEnum } from './fields.js';

/**
 * A permission key of the catalog. An `enum` rather than a union of constants: a wrong key then
 * fails once ("must be equal to one of the allowed values") instead of once per key.
 */
export const PermissionKeySchema = StringEnum<readonly PermissionKey[]>(PERMISSION_KEYS, { description: 'A permission key of the catalog' });

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
export type PermissionCatalog = Static<typeof PermissionCatalog>;

/** A client's or a user's effective permissions: the whole catalog by category, each with `granted`. */
export const EffectivePermissions = Type.Object(
  {
    categories: Type.Array(
      Type.Object(
        {
          name: StringEnum(PERMISSION_CATEGORIES),
          permissions: Type.Array(
            Type.Object(
              {
                key: StringEnum(PERMISSION_KEYS),
                name: Type.String(),
                description: Type.String(),
                granted: Type.Boolean(),
              },
              { additionalProperties: false },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { $id: 'EffectivePermissions', additionalProperties: false },
);
export type EffectivePermissions = Static<typeof EffectivePermissions>;
export type GrantedPermission = EffectivePermissions['categories'][number]['permissions'][number];
