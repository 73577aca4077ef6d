import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Dialect } from '../../src/server/db/database.js';
import type { Database, NewApiClientRow } from '../../src/server/db/schema.js';

/*
 * api_clients rows written straight into the table, as a bulk import, the CLI or an older version
 * would: for tests and `npm run bench`, where one service call per client would take minutes.
 */

/** What a test or a bench says about a client; everything left out gets a valid default. */
export interface ClientRowFields {
  readonly id?: string;
  readonly name?: string;
  readonly description?: string | null;
  readonly enabled?: boolean;
  readonly roleId?: string | null;
  /** ISO time; `updated_at` is the same. Now, unless given. */
  readonly createdAt?: string;
  readonly lastUsedAt?: string | null;
  /** The stored hash and hint of a real secret (`hasher.generate()`); by default a hash no secret matches. */
  readonly secret?: { readonly hash: string; readonly hint: string };
}

/** A row as the service writes it: search keys derived from the name and description, one secret generation. */
export type ClientRow = NewApiClientRow & { readonly id: string; readonly name_key: string; readonly created_at: string };

/** The n-th client of a batch, its id a UUID built from n unless one is given. */
export function clientRow(n: number, fields: ClientRowFields = {}): ClientRow {
  const name = fields.name ?? `client ${n}`;
  const description = fields.description ?? null;
  const createdAt = fields.createdAt ?? new Date().toISOString();
  return {
    id: fields.id ?? `00000000-0000-4000-8000-${n.toString().padStart(12, '0')}`,
    name,
    name_key: name.toLowerCase(),
    description,
    description_key: description?.toLowerCase() ?? null,
    enabled: fields.enabled === false ? 0 : 1,
    role_id: fields.roleId ?? null,
    // The shape of a real HMAC-SHA-256 (base64url), under no installation's key.
    secret_hash: fields.secret?.hash ?? createHash('sha256').update(`client row ${n}`).digest('base64url'),
    secret_hint: fields.secret?.hint ?? 'none',
    secret_generation: 1,
    last_used_at: fields.lastUsedAt ?? null,
    created_at: createdAt,
    updated_at: createdAt,
  };
}

/** Bound parameters one statement may carry: SQLite's historical default (999), PostgreSQL's protocol limit (65,535). */
const PARAMETER_LIMIT: Record<Dialect, number> = { sqlite: 999, postgres: 65_535 };

/** Inserts `rows` in one transaction, as multi-row inserts sized under the dialect's bound-parameter limit. */
export async function insertClientRows(db: Kysely<Database>, dialect: Dialect, rows: readonly NewApiClientRow[]): Promise<void> {
  if (rows.length === 0) return;
  const rowsPerInsert = Math.min(2000, Math.floor(PARAMETER_LIMIT[dialect] / Object.keys(rows[0]!).length));
  await db.transaction().execute(async (trx) => {
    for (let start = 0; start < rows.length; start += rowsPerInsert) {
      await trx
        .insertInto('api_clients')
        .values(rows.slice(start, start + rowsPerInsert))
        .execute();
    }
  });
}
