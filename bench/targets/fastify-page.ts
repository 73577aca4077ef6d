import Database from 'better-sqlite3';
import Fastify from 'fastify';
import pg from 'pg';
import { announceReady, fail, onShutdown } from './common.js';
import { benchDatabase } from './koios-database.js';

/**
 * The reference for a first page of clients: a bare Fastify route, no logger, no hooks, no
 * authentication, that reads the rows Koios's `GET /api/v1/clients?limit=50` reads (51, newest
 * first, each with its role's name, and the kept count) from the same database as the Koios target
 * of its dialect, with one prepared statement, and answers them as the API shows them. What Koios
 * does beyond this (the bearer check, the permission, rate limits, usage, the request counts of the
 * last 7 days) is what the ratio measures.
 */
const PAGE = `
  select id, name, description, enabled, role_id, (select roles.name from roles where roles.id = api_clients.role_id) as role_name,
    secret_hint, secret_expires_at, previous_secret_hint, previous_secret_expires_at, previous_secret_last_used_at, allowed_cidrs,
    rate_limit_requests_per_minute, rate_limit_tokens_per_minute, auth_method, require_dpop, last_used_at, created_at, updated_at,
    (select total from client_counts where id = 1) as total
  from api_clients order by created_at desc, id desc limit 51`;

interface Row {
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

function page(rows: readonly Row[]) {
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

async function main(): Promise<void> {
  const { dialect, seedConfig, schema } = benchDatabase();
  let read: () => Promise<Row[]>;
  let close: () => Promise<void>;
  if (dialect === 'sqlite') {
    const database = new Database(seedConfig.dialect === 'sqlite' ? seedConfig.path : '', { readonly: true, fileMustExist: true });
    const statement = database.prepare<[], Row>(PAGE);
    read = async () => statement.all();
    close = async () => {
      database.close();
    };
  } else {
    // As many connections as Koios's pool; a named statement is parsed and planned once per connection.
    const pool = new pg.Pool({ connectionString: seedConfig.url, max: 10, options: `-c search_path=${schema}` });
    read = async () => (await pool.query<Row>({ name: 'first-page', text: PAGE })).rows;
    close = () => pool.end();
  }
  const app = Fastify({ logger: false });
  app.get('/clients', async () => page(await read()));
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  onShutdown(async () => {
    await app.close();
    await close();
  });
  announceReady({ url: address, dialect });
}

main().catch(fail);
