import { Type, type Static } from '@sinclair/typebox';
import { Ref, Timestamp, Uuid } from './fields.js';
import { PermissionKeySchema } from './permissions.js';

/** A role as a client or a user refers to it. */
export const RoleSummary = Type.Object({ id: Uuid(), name: Type.String() }, { additionalProperties: false });
export type RoleSummary = Static<typeof RoleSummary>;

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
export type Role = Static<typeof Role>;

export const RoleList = Type.Object({ items: Type.Array(Ref(Role)) }, { $id: 'RoleList', additionalProperties: false });
export type RoleList = Static<typeof RoleList>;
