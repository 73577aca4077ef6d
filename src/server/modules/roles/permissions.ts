import type { RoleRow } from '../../db/schema.js';
import {
  BUILT_IN_ROLES,
  groupPermissions,
  isPermissionKey,
  sortPermissionKeys,
  type PermissionGroup,
  type PermissionKey,
} from '../../../shared/permissions.js';
import type { GrantedPermission } from '../../../shared/schemas/permissions.js';

type BuiltInName = keyof typeof BUILT_IN_ROLES;

/** A built-in role's permissions come from the catalog, so Administrator gains new keys as they ship. */
export function permissionsOfRole(row: Pick<RoleRow, 'built_in' | 'permissions'>): PermissionKey[] {
  if (row.built_in !== null && row.built_in in BUILT_IN_ROLES) return [...BUILT_IN_ROLES[row.built_in as BuiltInName].permissions];
  const stored = JSON.parse(row.permissions) as string[];
  return sortPermissionKeys(stored.filter(isPermissionKey));
}

export type { GrantedPermission };

/** The whole catalog, grouped, each permission marked with whether `granted` holds it. */
export function grantedPermissions(granted: ReadonlySet<PermissionKey>): PermissionGroup<GrantedPermission>[] {
  return groupPermissions((p) => ({ key: p.key, name: p.name, description: p.description, granted: granted.has(p.key) }));
}
