import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DatabaseErrorKind, DatabaseHandle } from '../db/database.js';
import { FAILURE_REASONS } from '../modules/oauth/auth-failures.js';

/**
 * The Prometheus instruments of one server: one Registry per services instance, never the
 * process-wide default, so that several servers in one process (the tests) count apart.
 *
 * Every label takes its value from a closed set (a route template, a status code, a refusal
 * reason, a kind): never a client id, a user id, an address or a raw URL, which would make a
 * series per caller and fill the scraper.
 */

/** Seconds. The token and /me paths answer in well under a millisecond; a page of clients in a few. */
const REQUEST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** Seconds. A change reaches another instance in milliseconds through NOTIFY; a second is the promise it must keep. */
const CHANGE_DELAY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const DATABASE_ERROR_KINDS: readonly DatabaseErrorKind[] = ['statement', 'connect', 'connection_lost', 'busy', 'disk_full'];

/** Methods a route can have; anything else an HTTP client invents is counted as `other`. */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
/** The route label of a request no route matched (a 404, whatever URL was asked for). */
export const UNMATCHED_ROUTE = 'unmatched';

export function createMetrics(database: Pick<DatabaseHandle, 'pool' | 'onError'>) {
  const registry = new Registry();
  const registers = [registry];

  const requestDuration = new Histogram({
    name: 'koios_http_request_duration_seconds',
    help: 'Time from a request arriving to its answer being sent, by method, route template and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: REQUEST_BUCKETS,
    registers,
  });
  const tokensIssued = new Counter({ name: 'koios_tokens_issued_total', help: 'Access tokens issued.', registers });
  const authRefusals = new Counter({
    name: 'koios_auth_refusals_total',
    help: 'Refused authentications (token endpoint and bearer requests), by reason.',
    labelNames: ['reason'] as const,
    registers,
  });
  const clientStateLookups = new Counter({
    name: 'koios_client_state_lookups_total',
    help: 'Client-state lookups behind every token and bearer request: hit (answered from the cache) or miss (waited for a database read).',
    labelNames: ['result'] as const,
    registers,
  });
  const clientStateLoads = new Counter({
    name: 'koios_client_state_loads_total',
    help: 'Client-state reads sent to the database (misses that share a read under way are not counted again).',
    registers,
  });
  const changeFeedDelay = new Histogram({
    name: 'koios_change_feed_delay_seconds',
    help: "Time from a change being written to this instance's caches applying it: local (this instance wrote it) or remote (another instance or process).",
    labelNames: ['source'] as const,
    buckets: CHANGE_DELAY_BUCKETS,
    registers,
  });
  const databaseErrors = new Counter({
    name: 'koios_database_errors_total',
    help: 'Failed database calls, by kind: statement, connect, connection_lost (PostgreSQL), busy, disk_full (SQLite).',
    labelNames: ['kind'] as const,
    registers,
  });

  // Zero from the start, so that rate() and ratios have a series before the first event.
  for (const reason of FAILURE_REASONS) authRefusals.inc({ reason }, 0);
  for (const result of ['hit', 'miss'] as const) clientStateLookups.inc({ result }, 0);
  for (const source of ['local', 'remote'] as const) changeFeedDelay.zero({ source });
  for (const kind of DATABASE_ERROR_KINDS) databaseErrors.inc({ kind }, 0);
  const stopCountingErrors = database.onError((kind) => databaseErrors.inc({ kind }));

  const { pool } = database;
  if (pool !== null) {
    // Read at scrape time: nothing runs per query.
    const poolGauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    poolGauge('koios_database_pool_connections', 'PostgreSQL connections open in the pool (idle and in use).', () => pool.totalCount);
    poolGauge('koios_database_pool_idle_connections', 'PostgreSQL connections open in the pool and free.', () => pool.idleCount);
    poolGauge('koios_database_pool_waiting_requests', 'Queries waiting for a free pooled connection.', () => pool.waitingCount);
    poolGauge('koios_database_pool_max_connections', 'The pool size (KOIOS_DATABASE_POOL_SIZE).', () => pool.options.max);
  }

  let processMetrics = false;
  let changeFeedWatched = false;
  let clientStatesWatched = false;

  return {
    registry,
    requestDuration,
    tokensIssued,
    authRefusals,
    clientStateLookups,
    clientStateLoads,
    changeFeedDelay,
    databaseErrors,

    /** One answered request; the route is its template (`/api/v1/clients/:id`), never the URL asked for. */
    recordRequest(method: string, route: string | undefined, statusCode: number, seconds: number): void {
      requestDuration.observe({ method: KNOWN_METHODS.has(method) ? method : 'other', route: route ?? UNMATCHED_ROUTE, status_code: statusCode }, seconds);
    },

    /** Whether this instance hears other instances' changes now (1) or checks every cached state against the database (0). */
    watchChangeFeed(isLive: () => boolean): void {
      if (changeFeedWatched) return;
      changeFeedWatched = true;
      new Gauge({
        name: 'koios_change_feed_live',
        help: "1 while other instances' changes are heard (SQLite: always); 0 while every cached client state is checked against the database.",
        registers,
        collect() {
          this.set(isLive() ? 1 : 0);
        },
      });
    },

    /** How many client states the cache holds, read at scrape time (bounded by KOIOS_CLIENT_STATE_CACHE_SIZE). */
    watchClientStateCache(size: () => number): void {
      if (clientStatesWatched) return;
      clientStatesWatched = true;
      new Gauge({
        name: 'koios_client_state_entries',
        help: 'Client states cached by this instance, fresh or due to be read again (at most KOIOS_CLIENT_STATE_CACHE_SIZE).',
        registers,
        collect() {
          this.set(size());
        },
      });
    },

    /**
     * The process figures (CPU, memory, heap, GC, handles, event-loop delay as `nodejs_eventloop_lag_*`),
     * once, when the listener starts: the event-loop monitor and the GC observer run from then on.
     */
    collectProcessMetrics(): void {
      if (processMetrics) return;
      processMetrics = true;
      collectDefaultMetrics({ register: registry });
    },

    stop(): void {
      stopCountingErrors();
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
