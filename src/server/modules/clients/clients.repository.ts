import { PostgresAdapter, sql, type CompiledQuery, type Expression, type ExpressionBuilder, type RawBuilder, type SqlBool } from 'kysely';
import type { Executor } from '../../db/database.js';
import { keepPrepared, readAsArrays } from '../../db/named-statements.js';
import type { ApiClientUpdate, Database, NewApiClientRow } from '../../db/schema.js';
import { chunks, containsPattern, type CursorPosition } from '../../db/pagination.js';
import { rareTrigramQuery } from '../../db/search-indexes.js';
import { touchLatest } from '../../db/touch-latest.js';

export type ClientSortField = 'name' | 'createdAt' | 'lastUsedAt' | 'requests7d';
export type ClientStatusFilter = 'enabled' | 'disabled';

export interface ClientListQuery {
  readonly limit: number;
  readonly after: CursorPosition | null;
  readonly search: string | null;
  readonly status: ClientStatusFilter | null;
  /** Only the clients holding this role. */
  readonly roleId?: string | null;
  /** Only the clients never used, or last used before this time (ISO 8601). */
  readonly unusedSince?: string | null;
  /** Only the clients never used. */
  readonly neverUsed?: boolean;
  /** Only the clients whose secret expires after `from` and by `to` (ISO 8601). */
  readonly secretExpiring?: { readonly from: string; readonly to: string } | null;
  /** Only the clients whose secret had expired by this time (ISO 8601). */
  readonly secretExpiredBy?: string | null;
  readonly sort: ClientSortField;
  readonly descending: boolean;
  /** The sort `requests7d`: REST and GraphQL requests counted from this hour (ISO 8601) on. */
  readonly requestsSince?: string;
}

const clientColumns = [
  'api_clients.id',
  'api_clients.name',
  'api_clients.name_key',
  'api_clients.description',
  'api_clients.enabled',
  'api_clients.role_id',
  'api_clients.secret_hint',
  'api_clients.secret_generation',
  'api_clients.secret_expires_at',
  'api_clients.allowed_cidrs',
  'api_clients.rate_limit_requests_per_minute',
  'api_clients.rate_limit_tokens_per_minute',
  'api_clients.auth_method',
  'api_clients.require_dpop',
  'api_clients.previous_secret_hint',
  'api_clients.previous_secret_expires_at',
  'api_clients.previous_secret_last_used_at',
  'api_clients.last_used_at',
  'api_clients.created_at',
  'api_clients.updated_at',
] as const;

type ClientsEb = ExpressionBuilder<Database, 'api_clients'>;

/**
 * The sort key expressions, with the id as tie-breaker. Each column key has an index (first
 * migration); `requests7d` is summed from the usage counters per client (their primary key starts
 * with the client id), so a page sorted by it computes it for every client the filters match.
 */
function sortKey(field: ClientSortField, requestsSince: string): RawBuilder<string | number> {
  switch (field) {
    case 'name':
      return sql.ref<string>('api_clients.name_key');
    case 'createdAt':
      return sql.ref<string>('api_clients.created_at');
    case 'lastUsedAt':
      return sql<string>`coalesce(api_clients.last_used_at, '')`;
    case 'requests7d':
      return sql<number>`(select coalesce(sum(client_usage.count), 0) from client_usage where client_usage.client_id = api_clients.id and client_usage.hour >= ${requestsSince} and client_usage.kind in ('rest', 'graphql'))`;
  }
}

export function sortValueOf(
  field: ClientSortField,
  row: { name_key: string; created_at: string; last_used_at: string | null; requests_7d?: number | string | null },
): string | number {
  if (field === 'requests7d') return Number(row.requests_7d ?? 0);
  return field === 'name' ? row.name_key : field === 'createdAt' ? row.created_at : (row.last_used_at ?? '');
}

type ClientFilters = Pick<ClientListQuery, 'search' | 'status' | 'roleId' | 'unusedSince' | 'neverUsed' | 'secretExpiring' | 'secretExpiredBy'>;

/** Whether the query filters on more than the status, which the kept counts answer alone. */
function filtersBeyondStatus(query: ClientFilters): boolean {
  return (
    (query.search !== null && query.search.length > 0) ||
    (query.roleId !== undefined && query.roleId !== null) ||
    (query.unusedSince !== undefined && query.unusedSince !== null) ||
    query.neverUsed === true ||
    (query.secretExpiring !== undefined && query.secretExpiring !== null) ||
    (query.secretExpiredBy !== undefined && query.secretExpiredBy !== null)
  );
}

/**
 * `filters`' FTS5 query (SQLite, a search of three characters or more): the search's rarest
 * trigrams (`rareTrigramQuery`); null elsewhere.
 */
async function searchPhrase(db: Executor, query: ClientFilters, sqlite: boolean): Promise<string | null> {
  return sqlite && query.search !== null && query.search.length > 0 ? rareTrigramQuery(db, query.search) : null;
}

function filters(eb: ClientsEb, query: ClientFilters, phrase: string | null): Expression<SqlBool> {
  const conditions: Expression<SqlBool>[] = [];
  if (query.roleId !== undefined && query.roleId !== null) conditions.push(eb('api_clients.role_id', '=', query.roleId));
  // The same expression as the lastUsedAt sort's index, where "never used" is '' and sorts first.
  const lastUsed = sql<string>`coalesce(api_clients.last_used_at, '')`;
  if (query.neverUsed === true) conditions.push(sql<SqlBool>`${lastUsed} = ''`);
  if (query.unusedSince !== undefined && query.unusedSince !== null) conditions.push(sql<SqlBool>`${lastUsed} < ${query.unusedSince}`);
  // Ranges over secret_expires_at, which has an index of its own (migration 2026-12-03T0004).
  if (query.secretExpiring !== undefined && query.secretExpiring !== null) {
    conditions.push(eb('api_clients.secret_expires_at', '>', query.secretExpiring.from), eb('api_clients.secret_expires_at', '<=', query.secretExpiring.to));
  }
  if (query.secretExpiredBy !== undefined && query.secretExpiredBy !== null) conditions.push(eb('api_clients.secret_expires_at', '<=', query.secretExpiredBy));
  if (query.status !== null) conditions.push(eb('api_clients.enabled', '=', query.status === 'enabled' ? 1 : 0));
  if (query.search !== null && query.search.length > 0) {
    const pattern = containsPattern(query.search);
    conditions.push(
      eb.or([
        sql<SqlBool>`api_clients.name_key like ${pattern} escape '\\'`,
        sql<SqlBool>`coalesce(api_clients.description_key, '') like ${pattern} escape '\\'`,
        sql<SqlBool>`api_clients.id like ${pattern} escape '\\'`,
      ]),
    );
    // PostgreSQL answers these LIKEs from pg_trgm indexes; SQLite finds the candidates in its FTS5
    // trigram table (migration 2026-12-04T0005) instead of testing every row.
    if (phrase !== null) conditions.push(sql<SqlBool>`api_clients.rowid in (select rowid from api_clients_search where api_clients_search match ${phrase})`);
  }
  return eb.and(conditions);
}

/** The kept count (migration 0004) of the clients of a status, as SQL over client_counts' columns. */
function keptCount(status: ClientStatusFilter | null): RawBuilder<number | string> {
  return status === null ? sql`client_counts.total` : status === 'enabled' ? sql`client_counts.enabled` : sql`client_counts.total - client_counts.enabled`;
}

/**
 * Whether a page's statement also counts every match (`list`'s `matched`), instead of `count`
 * running the filters a second time: SQLite, a first page, a search its FTS5 table answers. That
 * plan finds every candidate and sorts the matches whatever the limit, so counting them there
 * costs nothing more, while a second statement found them all again (half of a name search's
 * time at a million clients). Elsewhere a page can stop early along an index, and PostgreSQL runs
 * `count` beside it on another connection.
 */
function countsInPage(query: ClientFilters & Pick<ClientListQuery, 'after'>, sqlite: boolean): boolean {
  return sqlite && query.after === null && query.search !== null && [...query.search.toLowerCase()].length >= 3;
}

/**
 * First pages compiled, by executor: without a cursor or a filter beyond the status, a page's query
 * depends only on its sort, size, status and the hour the request counts start, so it is built and compiled once
 * and then only run. Building and compiling it cost about 10% of a first page's CPU in
 * `npm run bench` (Kysely's builder and compiler), for the same SQL text and parameters every time.
 * On PostgreSQL they run as named statements, parsed and planned once per connection.
 */
const compiledFirstPages = new WeakMap<Executor, Map<string, CompiledQuery<unknown>>>();
const COMPILED_FIRST_PAGES_MAX = 64;

/**
 * A page's row from the array its statement answers (`readAsArrays`), in the order of its select
 * list: `clientColumns`, the role's name, then `list`'s three.
 */
function pageRowOf<Row>(row: readonly unknown[]): Row {
  return {
    id: row[0],
    name: row[1],
    name_key: row[2],
    description: row[3],
    enabled: row[4],
    role_id: row[5],
    secret_hint: row[6],
    secret_generation: row[7],
    secret_expires_at: row[8],
    allowed_cidrs: row[9],
    rate_limit_requests_per_minute: row[10],
    rate_limit_tokens_per_minute: row[11],
    auth_method: row[12],
    require_dpop: row[13],
    previous_secret_hint: row[14],
    previous_secret_expires_at: row[15],
    previous_secret_last_used_at: row[16],
    last_used_at: row[17],
    created_at: row[18],
    updated_at: row[19],
    role_name: row[20],
    requests_7d: row[21],
    kept_count: row[22],
    matched: row[23],
  } as Row;
}

export function createClientsRepository(db: Executor) {
  const sqlite = !(db.getExecutor().adapter instanceof PostgresAdapter);
  // The role's name by a correlated subquery, not a join: PostgreSQL estimates a keyset condition
  // among many equal keys at the end of the order (the never-used clients of -lastUsedAt) as one
  // row, and then hash-joined and sorted every remaining row instead of reading 201 from the index.
  const selectClients = () =>
    db
      .selectFrom('api_clients')
      .select((eb) => [...clientColumns, eb.selectFrom('roles').select('roles.name').whereRef('roles.id', '=', 'api_clients.role_id').as('role_name')]);

  return {
    async findById(id: string) {
      return selectClients().where('api_clients.id', '=', id).executeTakeFirst();
    },

    async findByIds(ids: readonly string[]) {
      if (ids.length === 0) return [];
      return selectClients().where('api_clients.id', 'in', ids).execute();
    },

    /** The columns the token endpoint needs, the secret hash among them. */
    async findCredentials(id: string) {
      return db
        .selectFrom('api_clients')
        .select(['id', 'name', 'enabled', 'role_id', 'secret_hash', 'secret_generation'])
        .where('id', '=', id)
        .executeTakeFirst();
    },

    /**
     * A page of the clients the query matches, in its order, with each one's stored requests since
     * `requestsSince`. Without a filter beyond the status, the same statement reads the kept count
     * too (`keptCount`, null otherwise): one round trip a page instead of three. Where
     * `countsInPage`, it counts every match too (`matched`, null otherwise).
     */
    async list(query: ClientListQuery) {
      const countsKept = !filtersBeyondStatus(query);
      const direction = query.descending ? 'desc' : 'asc';
      const counted = countsInPage(query, sqlite);
      const phrase = await searchPhrase(db, query, sqlite);
      const build = () => {
        const key = sortKey(query.sort, query.requestsSince ?? '');
        let select = selectClients()
          // Each row's requests of the last 7 days in the same statement (its own sort key when
          // sorting by it): no second query for the page's counts.
          .select(
            query.requestsSince === undefined
              ? sql<null>`null`.as('requests_7d')
              : (query.sort === 'requests7d' ? key : sortKey('requests7d', query.requestsSince)).as('requests_7d'),
          )
          .select(
            countsKept
              ? sql<number | string>`(select ${keptCount(query.status)} from client_counts where client_counts.id = 1)`.as('kept_count')
              : sql<null>`null`.as('kept_count'),
          )
          // Over every row the filters keep, before the limit.
          .select(counted ? sql<number | string>`count(*) over ()`.as('matched') : sql<null>`null`.as('matched'))
          .where((eb) => filters(eb, query, phrase));
        if (query.after !== null) {
          const { value, id } = query.after;
          select = select.where(
            query.descending ? sql<SqlBool>`(${key}, api_clients.id) < (${value}, ${id})` : sql<SqlBool>`(${key}, api_clients.id) > (${value}, ${id})`,
          );
          // SQLite cannot seek an expression index (lastUsedAt's) with a row-value comparison and
          // scanned it from the first row on every page; this redundant bound on the key lets it seek.
          if (query.sort === 'lastUsedAt') select = select.where(query.descending ? sql<SqlBool>`${key} <= ${value}` : sql<SqlBool>`${key} >= ${value}`);
        }
        return select
          .orderBy(key, direction)
          .orderBy('api_clients.id', direction)
          .limit(query.limit + 1);
      };
      type Row = Awaited<ReturnType<ReturnType<typeof build>['execute']>>[number];
      let compiled: CompiledQuery<Row>;
      // Pages filtered by status alone, with or without a cursor: a few dozen statement texts.
      const arrays = countsKept;
      if (query.after === null && countsKept) {
        let cache = compiledFirstPages.get(db);
        if (cache === undefined) compiledFirstPages.set(db, (cache = new Map()));
        const cacheKey = `${query.sort} ${direction} ${query.limit} ${query.status ?? ''} ${query.requestsSince ?? ''}`;
        const cached = cache.get(cacheKey) as CompiledQuery<Row> | undefined;
        if (cached === undefined) {
          compiled = keepPrepared(readAsArrays(build().compile()));
          if (cache.size >= COMPILED_FIRST_PAGES_MAX) cache.clear();
          cache.set(cacheKey, compiled);
        } else compiled = cached;
      } else compiled = arrays ? readAsArrays(build().compile()) : build().compile();
      const result = await db.executeQuery(compiled);
      const rows =
        arrays && Array.isArray(result.rows[0]) ? (result.rows as unknown as readonly (readonly unknown[])[]).map((row) => pageRowOf<Row>(row)) : result.rows;
      const first = rows[0];
      return {
        rows: rows.slice(0, query.limit),
        hasMore: rows.length > query.limit,
        keptCount: first === undefined || first.kept_count === null ? null : Number(first.kept_count),
        matched: counted ? Number(first?.matched ?? 0) : null,
      };
    },

    /** `count`, or null where `list` reads the kept count or counts the matches itself. */
    async countUnlessInPage(query: ClientFilters & Pick<ClientListQuery, 'after'>): Promise<number | null> {
      return filtersBeyondStatus(query) && !countsInPage(query, sqlite) ? this.count(query) : null;
    },

    /** How many clients the query matches; without a search, from the counts the triggers keep (migration 0004). */
    async count(query: ClientFilters): Promise<number> {
      if (!filtersBeyondStatus(query)) {
        const counts = await db.selectFrom('client_counts').select(['total', 'enabled']).where('id', '=', 1).executeTakeFirstOrThrow();
        const total = Number(counts.total);
        const enabled = Number(counts.enabled);
        return query.status === null ? total : query.status === 'enabled' ? enabled : total - enabled;
      }
      const phrase = await searchPhrase(db, query, sqlite);
      const row = await db
        .selectFrom('api_clients')
        .select((eb) => eb.fn.countAll<number | string>().as('total'))
        .where((eb) => filters(eb as ClientsEb, query, phrase))
        .executeTakeFirstOrThrow();
      return Number(row.total);
    },

    async insert(row: NewApiClientRow): Promise<void> {
      await db.insertInto('api_clients').values(row).execute();
    },

    /** Returns whether a row was changed. */
    async update(id: string, patch: ApiClientUpdate): Promise<boolean> {
      const result = await db.updateTable('api_clients').set(patch).where('id', '=', id).executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    async delete(id: string): Promise<boolean> {
      const result = await db.deleteFrom('api_clients').where('id', '=', id).executeTakeFirst();
      return result.numDeletedRows > 0n;
    },

    /** Name and role of each client that exists, for bulk changes (audit entries, the role check). */
    async namesAndRolesOf(ids: readonly string[]): Promise<Map<string, { name: string; roleId: string | null; enabled: boolean }>> {
      const found = new Map<string, { name: string; roleId: string | null; enabled: boolean }>();
      for (const chunk of chunks(ids, 500)) {
        const rows = await db.selectFrom('api_clients').select(['id', 'name', 'role_id', 'enabled']).where('id', 'in', chunk).execute();
        for (const row of rows) found.set(row.id, { name: row.name, roleId: row.role_id, enabled: Number(row.enabled) === 1 });
      }
      return found;
    },

    async setEnabledMany(ids: readonly string[], enabled: boolean, at: string): Promise<void> {
      for (const chunk of chunks(ids, 500)) {
        await db
          .updateTable('api_clients')
          .set({ enabled: enabled ? 1 : 0, updated_at: at })
          .where('id', 'in', chunk)
          .execute();
      }
    },

    async deleteMany(ids: readonly string[]): Promise<void> {
      for (const chunk of chunks(ids, 500)) {
        await db.deleteFrom('api_clients').where('id', 'in', chunk).execute();
      }
    },

    /** Writes coalesced last-used times; never moves a time backwards. */
    async touchLastUsed(entries: ReadonlyMap<string, string>): Promise<void> {
      await touchLatest(db, 'api_clients', 'last_used_at', entries);
    },

    /** Writes coalesced last uses of previous secrets, of clients that still have one; never moves a time backwards. */
    async touchPreviousSecretUsed(entries: ReadonlyMap<string, string>): Promise<void> {
      await touchLatest(db, 'api_clients', 'previous_secret_last_used_at', entries, sql<SqlBool>`api_clients.previous_secret_hash is not null`);
    },
  };
}

export type ClientsRepository = ReturnType<typeof createClientsRepository>;
export type ClientRecord = NonNullable<Awaited<ReturnType<ClientsRepository['findById']>>>;
