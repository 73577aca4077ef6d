/**
 * The REST API's shapes as the console reads them: types derived from the server's own response
 * schemas in src/shared/schemas, imported as types only so that no schema reaches the bundle.
 */
import type { EffectivePermissions, PermissionCatalog } from '../../shared/schemas/permissions';

export type { PermissionKey } from '../../shared/permissions';
export type { AuditEvent, AuditPage } from '../../shared/schemas/audit';
export type { ApiClient, ApiClientWithSecret, BulkAction, BulkResult, ClientPage, CreatedApiClient } from '../../shared/schemas/clients';
export type { EffectivePermissions, PermissionCatalog } from '../../shared/schemas/permissions';
export type { Role } from '../../shared/schemas/roles';
export type { Me, Session } from '../../shared/schemas/session';
export type { ClientUsage, FleetUsage, RefusalList, RefusalReason, UsageBucket } from '../../shared/schemas/usage';
export type { User, UserPage } from '../../shared/schemas/users';
export type { FederatedCredential, FederatedCredentialList } from '../../shared/schemas/federated-credentials';

/** A category of the catalog, or of someone's effective permissions (each permission with `granted`). */
export type PermissionCategory = PermissionCatalog['categories'][number] | EffectivePermissions['categories'][number];
