/**
 * The REST API's shapes as the console reads them: types derived from the server's own response
 * schemas in src/shared/schemas, imported as types only so that no schema reaches the bundle.
 */
import type { EffectivePermissions, PermissionCatalog } from '../../shared/schemas/permissions';

export type { PermissionKey } from '../../shared/permissions';
export type { AuditEvent, AuditPage } from '../../shared/schemas/audit';
export type { ApiClient, ApiClientWithSecret, BulkAction, BulkResult, ClientPage } from '../../shared/schemas/clients';
export type { EffectivePermissions, PermissionCatalog } from '../../shared/schemas/permissions';
export type { Role } from '../../shared/schemas/roles';
export type { Me, Session } from '../../shared/schemas/session';
export type { User, UserPage } from '../../shared/schemas/users';

/** A category of the catalog, or of someone's effective permissions (each permission with `granted`). */
export type PermissionCategory = PermissionCatalog['categories'][number] | EffectivePermissions['categories'][number];

// The usage shapes, as src/shared/schemas/usage.ts will export them once the server side lands.
export type RefusalReason =
  | 'bad_secret'
  | 'unknown_client'
  | 'disabled'
  | 'expired'
  | 'address_not_allowed'
  | 'throttled'
  | 'rate_limited'
  | 'revoked_token'
  | 'stale_secret'
  | 'insufficient_scope';
export interface UsageBucket {
  start: string;
  tokens: number;
  rest: number;
  graphql: number;
  refusals: Partial<Record<RefusalReason, number>>;
}
export interface ClientUsage {
  granularity: 'hour' | 'day';
  buckets: UsageBucket[];
}
export interface FleetUsage extends ClientUsage {
  top: { client: { id: string; name: string }; requests: number; refusals: number }[];
}
export interface RefusalList {
  items: { at: string; reason: RefusalReason; address: string }[];
}
