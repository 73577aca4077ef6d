/**
 * The permission catalog. Keys are `resource:action` and never change
 * once published; the catalog may grow. Shared by the server and the console.
 */
export interface PermissionDefinition {
  readonly key: PermissionKey;
  readonly category: PermissionCategory;
  readonly name: string;
  readonly description: string;
}

export const PERMISSION_CATEGORIES = ['API Clients', 'Roles', 'Users', 'Audit'] as const;
export type PermissionCategory = (typeof PERMISSION_CATEGORIES)[number];

export const PERMISSION_KEYS = [
  'clients:read',
  'clients:create',
  'clients:update',
  'clients:delete',
  'clients:secrets',
  'roles:read',
  'roles:write',
  'roles:assign',
  'users:read',
  'users:write',
  'audit:read',
] as const;
export type PermissionKey = (typeof PERMISSION_KEYS)[number];

export const PERMISSIONS: readonly PermissionDefinition[] = Object.freeze([
  { key: 'clients:read', category: 'API Clients', name: 'View API clients', description: 'List API clients and see their details and effective permissions.' },
  { key: 'clients:create', category: 'API Clients', name: 'Create API clients', description: 'Create API clients and receive their one-time secret.' },
  {
    key: 'clients:update',
    category: 'API Clients',
    name: 'Edit API clients',
    description: 'Rename API clients, edit their description, enable and disable them.',
  },
  { key: 'clients:delete', category: 'API Clients', name: 'Delete API clients', description: 'Delete API clients; their tokens stop working at once.' },
  {
    key: 'clients:secrets',
    category: 'API Clients',
    name: 'Regenerate client secrets',
    description: 'Regenerate a client secret; the old secret and its tokens stop working at once.',
  },
  { key: 'roles:read', category: 'Roles', name: 'View roles', description: 'List roles and the permissions they grant.' },
  { key: 'roles:write', category: 'Roles', name: 'Manage roles', description: 'Create, edit and delete custom roles.' },
  {
    key: 'roles:assign',
    category: 'Roles',
    name: 'Assign roles',
    description: 'Assign roles to API clients and users (only roles whose permissions you hold).',
  },
  { key: 'users:read', category: 'Users', name: 'View users', description: 'List console users and see their roles and permissions.' },
  { key: 'users:write', category: 'Users', name: 'Manage users', description: 'Create, edit, enable, disable and delete console users.' },
  { key: 'audit:read', category: 'Audit', name: 'View audit log', description: 'Read the audit log of every change and failed authentication.' },
] satisfies PermissionDefinition[]).map((p) => Object.freeze(p)) as readonly PermissionDefinition[];

const KEY_SET: ReadonlySet<string> = new Set(PERMISSION_KEYS);

export function isPermissionKey(value: string): value is PermissionKey {
  return KEY_SET.has(value);
}

/** Built-in roles: present from the first start, never editable or deletable. */
export const BUILT_IN_ROLES = Object.freeze({
  Administrator: Object.freeze({
    name: 'Administrator',
    description: 'Every permission, including those added to the catalog later.',
    permissions: PERMISSION_KEYS,
  }),
  Viewer: Object.freeze({
    name: 'Viewer',
    description: 'Read-only access: every :read permission.',
    permissions: PERMISSION_KEYS.filter((key) => key.endsWith(':read')),
  }),
});

export interface PermissionGroup<P> {
  readonly name: PermissionCategory;
  readonly permissions: P[];
}

/** The catalog grouped by category in catalog order, each entry shaped by `shape`. */
export function groupPermissions<P>(shape: (definition: PermissionDefinition) => P): PermissionGroup<P>[] {
  return PERMISSION_CATEGORIES.map((category) => ({
    name: category,
    permissions: PERMISSIONS.filter((p) => p.category === category).map(shape),
  }));
}

/** Sort keys into catalog order, dropping duplicates. */
export function sortPermissionKeys(keys: Iterable<PermissionKey>): PermissionKey[] {
  const wanted = new Set(keys);
  return PERMISSION_KEYS.filter((key) => wanted.has(key));
}
