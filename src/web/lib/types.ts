/** The REST API's shapes as the console reads them. */
import type { PermissionKey } from '../../shared/permissions';

export type { PermissionKey };

export interface RoleRef {
  readonly id: string;
  readonly name: string;
}

export interface ApiClient {
  readonly id: string;
  readonly name: string;
  readonly description: string | null;
  readonly enabled: boolean;
  readonly role: RoleRef | null;
  readonly secretHint: string;
  readonly lastUsedAt: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface Page<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
  readonly total?: number;
}

export interface ApiClientWithSecret {
  readonly client: ApiClient;
  readonly clientSecret: string;
}

export type BulkAction = 'enable' | 'disable' | 'delete';

export interface BulkResult {
  readonly action: BulkAction;
  readonly succeeded: string[];
  readonly notFound: string[];
  /** Clients left unchanged: their role grants a permission the caller lacks. */
  readonly refused: { readonly id: string; readonly reason: string }[];
  /** The succeeded ids whose state changed (enabling an enabled client changes nothing). */
  readonly changed: string[];
}

export interface Permission {
  readonly key: PermissionKey;
  readonly name: string;
  readonly description: string;
  readonly granted?: boolean;
}

export interface PermissionCategory {
  readonly name: string;
  readonly permissions: Permission[];
}

export interface PermissionCategories {
  readonly categories: PermissionCategory[];
}

export interface Role {
  readonly id: string;
  readonly name: string;
  readonly description: string | null;
  readonly builtIn: boolean;
  readonly permissions: PermissionKey[];
  readonly createdAt?: string;
  readonly updatedAt?: string;
}

export interface User {
  readonly id: string;
  readonly email: string;
  readonly name: string;
  readonly enabled: boolean;
  readonly roles: RoleRef[];
  readonly lastLoginAt: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface AuditEvent {
  readonly id: string;
  readonly occurredAt: string;
  readonly actor: { readonly type: 'user' | 'client' | 'system'; readonly id: string | null; readonly name: string };
  readonly action: string;
  readonly target: { readonly type: string; readonly id: string | null; readonly name: string | null } | null;
  readonly details: Record<string, unknown>;
}

export interface Session {
  readonly user: { readonly id: string; readonly email: string; readonly name: string };
  readonly csrfToken: string;
  readonly expiresAt: string;
}

export interface Me {
  readonly type: 'user' | 'client';
  readonly id: string;
  readonly name: string;
  readonly permissions: PermissionKey[];
}
