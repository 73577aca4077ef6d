/**
 * The bare twin of Koios's first page of clients: the statement that reads the 51 rows
 * `GET /api/v1/clients?limit=50` reads (newest first, each with its role's name, and the kept
 * count) and the answer it makes of them, as the API shows them. Shared by the twin's target
 * (fastify-page.ts) and bench/page-parts.ts, so both measure the same work.
 */
export const TWIN_PAGE_SQL = `
  select id, name, description, enabled, role_id, (select roles.name from roles where roles.id = api_clients.role_id) as role_name,
    secret_hint, secret_expires_at, previous_secret_hint, previous_secret_expires_at, previous_secret_last_used_at, allowed_cidrs,
    rate_limit_requests_per_minute, rate_limit_tokens_per_minute, auth_method, require_dpop, last_used_at, created_at, updated_at,
    (select total from client_counts where id = 1) as total
  from api_clients order by created_at desc, id desc limit 51`;

export interface TwinRow {
  readonly id: string;
  readonly name: string;
  readonly description: string | null;
  readonly enabled: number;
  readonly role_id: string | null;
  readonly role_name: string | null;
  readonly secret_hint: string;
  readonly secret_expires_at: string | null;
  readonly previous_secret_hint: string | null;
  readonly previous_secret_expires_at: string | null;
  readonly previous_secret_last_used_at: string | null;
  readonly allowed_cidrs: string;
  readonly rate_limit_requests_per_minute: number | null;
  readonly rate_limit_tokens_per_minute: number | null;
  readonly auth_method: string;
  readonly require_dpop: number;
  readonly last_used_at: string | null;
  readonly created_at: string;
  readonly updated_at: string;
  readonly total: number | string;
}

export function twinPage(rows: readonly TwinRow[]) {
  const items = rows.slice(0, 50).map((row) => ({
    id: row.id,
    name: row.name,
    description: row.description,
    enabled: Number(row.enabled) === 1,
    role: row.role_id !== null && row.role_name !== null ? { id: row.role_id, name: row.role_name } : null,
    secretHint: row.secret_hint,
    lastUsedAt: row.last_used_at,
    secretExpiresAt: row.secret_expires_at,
    previousSecret:
      row.previous_secret_hint === null || row.previous_secret_expires_at === null
        ? null
        : { hint: row.previous_secret_hint, expiresAt: row.previous_secret_expires_at, lastUsedAt: row.previous_secret_last_used_at },
    allowedCidrs: JSON.parse(row.allowed_cidrs) as string[],
    rateLimit: { requestsPerMinute: row.rate_limit_requests_per_minute, tokensPerMinute: row.rate_limit_tokens_per_minute },
    authMethod: row.auth_method,
    publicKeys: [],
    requireDpop: Number(row.require_dpop) === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    requests7d: 0,
  }));
  const last = rows.length > 50 ? rows[49] : undefined;
  return {
    items,
    nextCursor: last === undefined ? null : Buffer.from(JSON.stringify(['-createdAt', last.created_at, last.id])).toString('base64url'),
    total: Number(rows[0]?.total ?? 0),
  };
}
