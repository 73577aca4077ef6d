import { CompiledQuery, sql } from 'kysely';
import type { Executor } from '../../db/database.js';
import { keepPrepared } from '../../db/named-statements.js';
import type { ClientUsageTable } from '../../db/schema.js';

/** Rows per statement: 4 parameters each stays far below SQLite's and PostgreSQL's limits. */
const CHUNK = 500;

/** The kinds that are requests to the APIs (the rest are tokens and refusal reasons). */
export const REQUEST_KINDS = ['rest', 'graphql'] as const;
const NOT_REFUSALS = ['tokens', ...REQUEST_KINDS];

/**
 * The query of `requestsSince` compiled once per executor and number of clients (a page's 50, most
 * often), then run with each page's parameters: building and compiling its 50-item IN list was a
 * few percent of a first page of clients in `npm run bench`, for the same SQL text every time.
 * On PostgreSQL it runs as a named statement (named-statements.ts).
 */
const requestsSinceQueries = new WeakMap<Executor, Map<number, string>>();
const REQUESTS_SINCE_QUERIES_MAX = 32;

/** Usage counters by client and hour, and each client's latest refusals. */
export function createUsageRepository(db: Executor) {
  return {
    /**
     * Adds counts to their rows: `count = count + excluded.count`, so instances writing the same
     * client and hour add up instead of overwriting each other. A batch holds each key once.
     */
    async addCounts(rows: readonly ClientUsageTable[]): Promise<void> {
      for (let start = 0; start < rows.length; start += CHUNK) {
        await db
          .insertInto('client_usage')
          .values(rows.slice(start, start + CHUNK))
          .onConflict((oc) => oc.columns(['client_id', 'hour', 'kind']).doUpdateSet({ count: sql`client_usage.count + excluded.count` }))
          .execute();
      }
    },

    async insertRefusals(rows: readonly { client_id: string; at: string; reason: string; address: string }[]): Promise<void> {
      for (let start = 0; start < rows.length; start += CHUNK)
        await db
          .insertInto('client_refusals')
          .values(rows.slice(start, start + CHUNK))
          .execute();
    },

    /** Keeps the newest `keep` refusals of each of `clientIds`: one statement for many clients, not one each. */
    async pruneRefusals(clientIds: readonly string[], keep: number): Promise<void> {
      for (let start = 0; start < clientIds.length; start += CHUNK) {
        const chunk = clientIds.slice(start, start + CHUNK);
        await db
          .deleteFrom('client_refusals')
          .where('id', 'in', (qb) =>
            qb
              .selectFrom((inner) =>
                inner
                  .selectFrom('client_refusals')
                  .select(['id', sql<number>`row_number() over (partition by client_id order by at desc, id desc)`.as('newness')])
                  .where('client_id', 'in', chunk)
                  .as('ranked'),
              )
              .select('ranked.id')
              .where('ranked.newness', '>', keep),
          )
          .execute();
      }
    },

    async recentRefusals(clientId: string, limit: number) {
      return db
        .selectFrom('client_refusals')
        .select(['at', 'reason', 'address'])
        .where('client_id', '=', clientId)
        .orderBy('at', 'desc')
        .orderBy('id', 'desc')
        .limit(limit)
        .execute();
    },

    /** Counts by hour and kind in [fromHour, toHour), of one client or (null) of every client together. */
    async countsBetween(clientId: string | null, fromHour: string, toHour: string): Promise<{ hour: string; kind: string; count: number }[]> {
      let query = db
        .selectFrom('client_usage')
        .select(['hour', 'kind', (eb) => eb.fn.sum<number | string>('count').as('count')])
        .where('hour', '>=', fromHour)
        .where('hour', '<', toHour);
      if (clientId !== null) query = query.where('client_id', '=', clientId);
      const rows = await query.groupBy(['hour', 'kind']).execute();
      return rows.map((row) => ({ hour: row.hour, kind: row.kind, count: Number(row.count) }));
    },

    /** The existing clients with the most requests in [fromHour, toHour), then the most refusals. */
    async topClients(fromHour: string, toHour: string, limit: number) {
      const requests = sql<number | string>`sum(case when client_usage.kind in ('rest', 'graphql') then client_usage.count else 0 end)`;
      const refusals = sql<number | string>`sum(case when client_usage.kind in ('tokens', 'rest', 'graphql') then 0 else client_usage.count end)`;
      const rows = await db
        .selectFrom('client_usage')
        .innerJoin('api_clients', 'api_clients.id', 'client_usage.client_id')
        .select(['api_clients.id', 'api_clients.name', requests.as('requests'), refusals.as('refusals')])
        .where('client_usage.hour', '>=', fromHour)
        .where('client_usage.hour', '<', toHour)
        .groupBy(['api_clients.id', 'api_clients.name'])
        .orderBy(requests, 'desc')
        .orderBy(refusals, 'desc')
        .orderBy('api_clients.id')
        .limit(limit)
        .execute();
      return rows.map((row) => ({ client: { id: row.id, name: row.name }, requests: Number(row.requests), refusals: Number(row.refusals) }));
    },

    /**
     * The existing clients refused more often in [fromHour, toHour) than in [previousFromHour,
     * fromHour), the largest rise first. Every client is weighed, not only the busiest: a client
     * whose every call is now refused may make no request at all.
     */
    async risingRefusals(previousFromHour: string, fromHour: string, toHour: string, limit: number) {
      const refusals = sql<number | string>`sum(case when client_usage.hour >= ${fromHour} then client_usage.count else 0 end)`;
      const previous = sql<number | string>`sum(case when client_usage.hour < ${fromHour} then client_usage.count else 0 end)`;
      const rows = await db
        .selectFrom('client_usage')
        .innerJoin('api_clients', 'api_clients.id', 'client_usage.client_id')
        .select(['api_clients.id', 'api_clients.name', refusals.as('refusals'), previous.as('previous')])
        .where('client_usage.hour', '>=', previousFromHour)
        .where('client_usage.hour', '<', toHour)
        .where('client_usage.kind', 'not in', NOT_REFUSALS)
        .groupBy(['api_clients.id', 'api_clients.name'])
        .having(refusals, '>', previous)
        .orderBy(sql`${refusals} - ${previous}`, 'desc')
        .orderBy(refusals, 'desc')
        .orderBy('api_clients.id')
        .limit(limit)
        .execute();
      return rows.map((row) => ({ client: { id: row.id, name: row.name }, refusals: Number(row.refusals), previousRefusals: Number(row.previous) }));
    },

    /** REST and GraphQL requests of each of `clientIds` since `fromHour`; absent: none. */
    async requestsSince(clientIds: readonly string[], fromHour: string): Promise<Map<string, number>> {
      const counts = new Map<string, number>();
      if (clientIds.length === 0) return counts;
      type Row = { client_id: string; count: number | string | null };
      const parameters = [...clientIds, fromHour, ...REQUEST_KINDS];
      let texts = requestsSinceQueries.get(db);
      if (texts === undefined) requestsSinceQueries.set(db, (texts = new Map()));
      const text = texts.get(clientIds.length);
      let query: CompiledQuery<Row>;
      if (text !== undefined) query = keepPrepared(CompiledQuery.raw(text, parameters) as CompiledQuery<Row>);
      else {
        query = db
          .selectFrom('client_usage')
          .select(['client_id', (eb) => eb.fn.sum<number | string>('count').as('count')])
          .where('client_id', 'in', clientIds)
          .where('hour', '>=', fromHour)
          .where('kind', 'in', REQUEST_KINDS)
          .groupBy('client_id')
          .compile();
        // Kept only when its parameters are these, in this order, so that another page's can take their place.
        if (query.parameters.length === parameters.length && query.parameters.every((value, index) => value === parameters[index])) {
          if (texts.size >= REQUESTS_SINCE_QUERIES_MAX) texts.clear();
          texts.set(clientIds.length, query.sql);
        }
      }
      const { rows } = await db.executeQuery(query);
      for (const row of rows) counts.set(row.client_id, Number(row.count));
      return counts;
    },

    /** Retention: counters of hours and refusals before `before` go. */
    async deleteBefore(before: string): Promise<void> {
      await db.deleteFrom('client_usage').where('hour', '<', before).execute();
      await db.deleteFrom('client_refusals').where('at', '<', before).execute();
    },
  };
}

export const isRefusalKind = (kind: string): boolean => !NOT_REFUSALS.includes(kind);
