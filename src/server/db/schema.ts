import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

/**
 * Table types. Storage conventions (the first migration explains why):
 * times are ISO 8601 UTC text with milliseconds, booleans are integers 0/1,
 * JSON is text; the same on SQLite and PostgreSQL.
 */
export interface Database {
  settings: SettingsTable;
  roles: RolesTable;
  api_clients: ApiClientsTable;
  users: UsersTable;
  user_roles: UserRolesTable;
  audit_events: AuditEventsTable;
  change_events: ChangeEventsTable;
  signing_keys: SigningKeysTable;
  revoked_tokens: RevokedTokensTable;
  auth_throttle: AuthThrottleTable;
  audit_aggregates: AuditAggregatesTable;
  client_auth_failures: ClientAuthFailuresTable;
  sessions: SessionsTable;
  client_counts: ClientCountsTable;
  client_usage: ClientUsageTable;
  client_refusals: ClientRefusalsTable;
  federated_credentials: FederatedCredentialsTable;
  rate_limit_counts: RateLimitCountsTable;
  client_public_keys: ClientPublicKeysTable;
  client_assertion_jtis: ClientAssertionJtisTable;
}

type Bool = 0 | 1;

/** What the instances together admitted of one client's kind of request in one minute (migration 2026-12-04T0006). */
export interface RateLimitCountsTable {
  /** Minutes since the epoch: the window's start. */
  window_minute: number;
  client_id: string;
  kind: 'requests' | 'tokens';
  /** PostgreSQL may answer integers as text. */
  count: number;
}

/** One row (id 1), kept by triggers (migration 0004); PostgreSQL returns bigint as text. */
export interface ClientCountsTable {
  id: number;
  total: number | string;
  enabled: number | string;
}

export interface SettingsTable {
  key: string;
  value: string;
}

export interface RolesTable {
  id: string;
  name: string;
  /** lower-cased name: unique, and the sort key. */
  name_key: string;
  description: string;
  /** 'Administrator' | 'Viewer' for the built-ins, whose permissions come from the catalog. */
  built_in: string | null;
  /** JSON array of permission keys. */
  permissions: string;
  created_at: string;
  updated_at: string;
}

export interface ApiClientsTable {
  id: string;
  name: string;
  name_key: string;
  description: string | null;
  /** lower-cased description, for search (migration 0005). */
  description_key: string | null;
  enabled: Bool;
  role_id: string | null;
  /** HMAC-SHA-256 of the secret under the installation's secret key, base64url. */
  secret_hash: string;
  secret_hint: string;
  /** Moves on at each regeneration; tokens carry the generation they were minted under. */
  secret_generation: number;
  /** When the current secret stops working; null: never (migration 2026-12-03T0004). */
  secret_expires_at: string | null;
  /** The secret the current one replaced, kept working until `previous_secret_expires_at`; its generation is `secret_generation - 1`. */
  previous_secret_hash: string | null;
  previous_secret_hint: string | null;
  previous_secret_expires_at: string | null;
  previous_secret_last_used_at: string | null;
  /** Where the client may call from: a JSON array of canonical CIDR ranges, `[]` for anywhere (migration 2026-12-03T0005). */
  allowed_cidrs: Generated<string>;
  /** At most this many REST and GraphQL requests a minute; null: no limit (migration 2026-12-04T0006). */
  rate_limit_requests_per_minute: Generated<number | null>;
  /** At most this many token requests a minute; null: no limit (migration 2026-12-04T0006). */
  rate_limit_tokens_per_minute: Generated<number | null>;
  /** 'client_secret' | 'private_key_jwt' (migration 2026-12-04T0007). */
  auth_method: Generated<string>;
  /** 1: tokens only bound to a key by a DPoP proof (RFC 9449) (migration 2026-12-04T0009). */
  require_dpop: Generated<number>;
  last_used_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface UsersTable {
  id: string;
  email: string;
  email_key: string;
  name: string;
  /** lower-cased name, for search (migration 0006). */
  name_key: string | null;
  password_hash: string;
  enabled: Bool;
  last_login_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface UserRolesTable {
  user_id: string;
  role_id: string;
}

export interface AuditEventsTable {
  /** Insertion order: newest first is `id desc`, and events of one millisecond keep their order. */
  id: Generated<number>;
  occurred_at: string;
  actor_type: 'user' | 'client' | 'system';
  actor_id: string | null;
  actor_name: string;
  action: string;
  target_type: string | null;
  target_id: string | null;
  target_name: string | null;
  /** JSON object. */
  details: string;
}

export type RoleRow = Selectable<RolesTable>;
export type ApiClientRow = Selectable<ApiClientsTable>;
export type NewApiClientRow = Insertable<ApiClientsTable>;
export type ApiClientUpdate = Updateable<ApiClientsTable>;
export type UserRow = Selectable<UsersTable>;
export type AuditEventRow = Selectable<AuditEventsTable>;

export interface ChangeEventsTable {
  id: Generated<number>;
  kind: string;
  entity_id: string;
  occurred_at: string;
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  public_jwk: string;
  /** The PKCS #8 private key sealed under the master key (sealed-keys.ts). */
  private_key: string;
  created_at: string;
  retired_at: string | null;
}

export interface RevokedTokensTable {
  jti: string;
  client_id: string;
  expires_at: string;
  revoked_at: string;
}

export interface AuthThrottleTable {
  key: string;
  window_start: string;
  failures: number;
  pending: Generated<number>;
  spares: Generated<number>;
}

export interface AuditAggregatesTable {
  key: string;
  window_start: string;
  event_id: number;
}

export interface ClientAuthFailuresTable {
  client_id: string;
  reason: string;
  count: number;
  last_at: string;
}

/** One counter per client, hour and kind (migration 2026-12-04T0001); the nil UUID counts refusals of unknown ids. */
export interface ClientUsageTable {
  client_id: string;
  /** ISO start of the hour, UTC. */
  hour: string;
  /** `tokens`, `rest`, `graphql`, or a refusal reason. */
  kind: string;
  count: number;
}

/** A client's latest refusals, the newest hundred kept. */
export interface ClientRefusalsTable {
  id: Generated<number>;
  client_id: string;
  at: string;
  reason: string;
  address: string;
}

export type SigningKeyRow = Selectable<SigningKeysTable>;

export interface SessionsTable {
  /** SHA-256 of the session token in the cookie; the token itself is never stored. */
  id_hash: string;
  user_id: string;
  created_at: string;
  expires_at: string;
  address: string | null;
  user_agent: string | null;
}

/** Who may exchange an outside OIDC token for one of a client's tokens (migration 2026-12-04T0004). */
export interface FederatedCredentialsTable {
  id: string;
  client_id: string;
  name: string;
  /** lower-cased name: unique per client. */
  name_key: string;
  /** The token's `iss`, exactly. */
  issuer: string;
  /** A value the token's `aud` must hold. */
  audience: string;
  /** The token's `sub` exactly, or a prefix of it when it ends in `*`. */
  subject: string;
  /** JSON object of claim name to the exact value it must have. */
  conditions: string;
  created_at: string;
  last_used_at: string | null;
}

/** A client's public key for private_key_jwt (RFC 7523 §2.2); never a private one. */
export interface ClientPublicKeysTable {
  /** Ours (UUID); tokens the key authenticated carry it, so removing the key kills them. */
  id: string;
  client_id: string;
  kid: string;
  alg: string;
  /** RFC 7638 SHA-256 thumbprint, base64url. */
  thumbprint: string;
  /** The public members of the JWK only, as JSON. */
  public_jwk: string;
  added_at: string;
  last_used_at: string | null;
}

/** Client assertion ids accepted once, until the assertion expires (RFC 7523 §3). */
export interface ClientAssertionJtisTable {
  client_id: string;
  jti: string;
  expires_at: string;
}
