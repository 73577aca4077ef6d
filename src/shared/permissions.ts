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

/** The catalog in its order, each key with its category, name and description; written once here. */
const CATALOG = {
  'clients:read': ['API Clients', 'View API clients', 'List API clients and see their details and effective permissions.'],
  'clients:create': ['API Clients', 'Create API clients', 'Create API clients and receive their one-time secret.'],
  'clients:update': ['API Clients', 'Edit API clients', 'Rename API clients, edit their description, enable and disable them.'],
  'clients:delete': ['API Clients', 'Delete API clients', 'Delete API clients; their tokens stop working at once.'],
  'clients:secrets': ['API Clients', 'Regenerate client secrets', 'Regenerate a client secret; the old secret and its tokens stop working at once.'],
  'roles:read': ['Roles', 'View roles', 'List roles and the permissions they grant.'],
  'roles:write': ['Roles', 'Manage roles', 'Create, edit and delete custom roles.'],
  'roles:assign': ['Roles', 'Assign roles', 'Assign roles to API clients and users (only roles whose permissions you hold).'],
  'users:read': ['Users', 'View users', 'List console users and see their roles and permissions.'],
  'users:write': ['Users', 'Manage users', 'Create, edit, enable, disable and delete console users.'],
  'audit:read': ['Audit', 'View audit log', 'Read the audit log of every change and failed authentication.'],
} as const satisfies Record<string, readonly [PermissionCategory, string, string]>;

export type PermissionKey = keyof typeof CATALOG;
export const PERMISSION_KEYS: readonly PermissionKey[] = Object.freeze(Object.keys(CATALOG) as PermissionKey[]);

export const PERMISSIONS: readonly PermissionDefinition[] = Object.freeze(
  PERMISSION_KEYS.map((key) => {
    const [category, name, description] = CATALOG[key];
    return Object.freeze({ key, category, name, description });
  }),
);

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
