import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../actor.js';
import { openDatabase, type DatabaseHandle } from '../db/database.js';
import { createServices, type Services } from '../services.js';
import { TEST_TOKEN_SETTINGS, testDialects, type TestDatabase } from '../../../test/support/databases.js';
import { accessToken, builtInRoleIds, newClient } from '../../../test/support/oauth.js';
import { scrape } from '../../../test/support/prometheus.js';
import { startTestServer, type TestServer } from '../../../test/support/server.js';
import { withinOneSecond } from '../../../test/support/eventually.js';

/**
 * The Prometheus metrics through the real server: counters that follow known traffic, the change
 * feed's delay, database errors and the PostgreSQL pool, and the Grafana dashboard naming only
 * metrics that exist. What they must not give away: metrics.security.test.ts.
 */

const NO_THROTTLE = { perClient: 10_000, perAddress: 100_000, windowSeconds: 60 };
const DASHBOARD = new URL('../../../docs/grafana/koios-access.json', import.meta.url);

/** Another process on the same database (a second instance, or the CLI on SQLite). */
async function secondInstance(database: TestDatabase): Promise<{ handle: DatabaseHandle; services: Services }> {
  const handle = openDatabase(database.config, database.dialect === 'postgres' ? { schema: database.location } : {});
  const services = await createServices({ database: handle, tokenSettings: TEST_TOKEN_SETTINGS, masterKey: database.masterKey, lastUsedFlushMs: 60_000 });
  return { handle, services };
}

interface DashboardPanel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly datasource?: { readonly uid: string };
  readonly targets?: readonly { readonly refId: string; readonly expr: string }[];
}

/** The dashboard as Grafana imports it: panels with ids of their own, each query on the chosen data source. */
function readDashboard(): { panels: DashboardPanel[]; expressions: string[] } {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { uid: string; title: string; panels: DashboardPanel[] };
  expect(dashboard.uid).toBe('koios-access');
  // Panel queries (expr) and the job and instance variables' queries.
  const expressions: string[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (typeof value === 'object' && value !== null) {
      for (const [key, inner] of Object.entries(value)) {
        if ((key === 'expr' || key === 'query') && typeof inner === 'string') expressions.push(inner);
        else walk(inner);
      }
    }
  };
  walk(dashboard);
  return { panels: dashboard.panels, expressions };
}

const metricNamesIn = (expressions: readonly string[]) => [
  ...new Set(expressions.flatMap((expression) => [...expression.matchAll(/\b(?:koios|nodejs|process)_[a-z0-9_]+\b/g)].map((match) => match[0]))),
];

/** The family a sample name belongs to: a histogram's `_bucket`, `_sum` and `_count` are its own. */
function familyOf(name: string, types: ReadonlyMap<string, string>): string | undefined {
  if (types.has(name)) return name;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return types.get(base) === 'histogram' || types.get(base) === 'summary' ? base : undefined;
}

describe.each(testDialects())('Prometheus metrics on %s', (dialect) => {
  describe('the figures', () => {
    let server: TestServer;
    let viewerRoleId: string;
    beforeAll(async () => {
      server = await startTestServer(dialect, { env: { KOIOS_METRICS_PORT: '0' }, services: { throttleLimits: NO_THROTTLE } });
      viewerRoleId = (await builtInRoleIds(server)).viewer;
    });
    afterAll(() => server.close());

    const token = (body: Record<string, string>) => fetch(`${server.url}/oauth/token`, { method: 'POST', body: new URLSearchParams(body) });

    it('counts tokens, refusals by reason, client-state hits and loads, and times each request by route and status', async () => {
      const client = await newClient(server, 'Metrics counted', viewerRoleId);
      const before = await scrape(server.metricsUrl!);

      let bearer = '';
      for (let i = 0; i < 3; i++) bearer = await accessToken(server, client);
      for (let i = 0; i < 2; i++) expect((await token({ grant_type: 'client_credentials', client_id: client.id, client_secret: 'wrong' })).status).toBe(401);
      expect((await token({ grant_type: 'client_credentials', client_id: randomUUID(), client_secret: 'wrong' })).status).toBe(401);
      for (let i = 0; i < 2; i++) expect((await fetch(`${server.url}/api/v1/me`, { headers: { authorization: `Bearer ${bearer}` } })).status).toBe(200);
      expect((await fetch(`${server.url}/api/v1/me`, { headers: { authorization: 'Bearer not-a-token' } })).status).toBe(401);

      const after = await scrape(server.metricsUrl!);
      const delta = (name: string, labels?: Record<string, string>) => after.value(name, labels) - before.value(name, labels);
      expect(delta('koios_tokens_issued_total')).toBe(3);
      expect(delta('koios_auth_refusals_total', { reason: 'bad_secret' })).toBe(2);
      expect(delta('koios_auth_refusals_total', { reason: 'unknown_client' })).toBe(1);
      expect(delta('koios_auth_refusals_total', { reason: 'invalid_token' })).toBe(1);
      expect(delta('koios_http_request_duration_seconds_count', { method: 'POST', route: '/oauth/token', status_code: '200' })).toBe(3);
      expect(delta('koios_http_request_duration_seconds_count', { method: 'POST', route: '/oauth/token', status_code: '401' })).toBe(3);
      expect(delta('koios_http_request_duration_seconds_count', { method: 'GET', route: '/api/v1/me', status_code: '200' })).toBe(2);
      expect(delta('koios_http_request_duration_seconds_count', { method: 'GET', route: '/api/v1/me', status_code: '401' })).toBe(1);
      // Each /oauth/token answer took some time, all of it under ten seconds.
      expect(delta('koios_http_request_duration_seconds_sum', { route: '/oauth/token' })).toBeGreaterThan(0);
      expect(delta('koios_http_request_duration_seconds_bucket', { route: '/oauth/token', status_code: '200', le: '10' })).toBe(0);
      expect(delta('koios_http_request_duration_seconds_bucket', { route: '/oauth/token', status_code: '200', le: '+Inf' })).toBe(3);

      // Eight lookups (five tokens asked for by a known or unknown id, two good bearers): the new
      // client's and the unknown id's first are misses, each one read; then hits, while the feed
      // vouches for the cache (PostgreSQL: a heartbeat back within the second).
      const hits = delta('koios_client_state_lookups_total', { result: 'hit' });
      const misses = delta('koios_client_state_lookups_total', { result: 'miss' });
      expect(hits + misses).toBe(8);
      expect(delta('koios_client_state_loads_total')).toBe(misses);
      if (dialect === 'sqlite') expect([hits, misses]).toEqual([6, 2]);
    });

    it('measures the change feed from a write to this instance applying it, here and from another process', async () => {
      const client = await newClient(server, 'Metrics changed', viewerRoleId);
      const before = await scrape(server.metricsUrl!);
      await server.services.clients.update(SYSTEM_ACTOR, client.id, { description: 'changed here' });
      const local = await scrape(server.metricsUrl!);
      expect(
        local.value('koios_change_feed_delay_seconds_count', { source: 'local' }) - before.value('koios_change_feed_delay_seconds_count', { source: 'local' }),
      ).toBe(1);

      const other = await secondInstance(server.database);
      try {
        await other.services.clients.update(SYSTEM_ACTOR, client.id, { enabled: false });
        // PostgreSQL delivers it by NOTIFY; SQLite on the next request that checks a client.
        const heard = async () => {
          await token({ grant_type: 'client_credentials', client_id: client.id, client_secret: client.secret });
          const now = await scrape(server.metricsUrl!);
          return (
            now.value('koios_change_feed_delay_seconds_count', { source: 'remote' }) >
            before.value('koios_change_feed_delay_seconds_count', { source: 'remote' })
          );
        };
        expect(await withinOneSecond(heard, true)).toBe(true);
        const after = await scrape(server.metricsUrl!);
        // Within the second the contract allows, on this machine with room to spare.
        expect(after.value('koios_change_feed_delay_seconds_bucket', { source: 'remote', le: '2.5' })).toBe(
          after.value('koios_change_feed_delay_seconds_count', { source: 'remote' }),
        );
        expect(after.value('koios_change_feed_live')).toBe(1);
      } finally {
        await other.services.stop();
        await other.handle.close();
      }
    });

    it('counts failed statements by kind, and the PostgreSQL pool at each scrape', async () => {
      const before = await scrape(server.metricsUrl!);
      await expect(sql`select * from no_such_table`.execute(server.database.handle.db)).rejects.toThrow();
      const after = await scrape(server.metricsUrl!);
      expect(after.value('koios_database_errors_total', { kind: 'statement' }) - before.value('koios_database_errors_total', { kind: 'statement' })).toBe(1);
      if (dialect === 'postgres') {
        expect(after.value('koios_database_pool_max_connections')).toBe(10);
        expect(after.value('koios_database_pool_connections')).toBeGreaterThanOrEqual(1);
        expect(after.value('koios_database_pool_idle_connections')).toBeLessThanOrEqual(after.value('koios_database_pool_connections'));
        expect(after.types.get('koios_database_pool_waiting_requests')).toBe('gauge');
      } else {
        expect([...after.types.keys()].filter((name) => name.startsWith('koios_database_pool_'))).toEqual([]);
      }
    });

    it.runIf(dialect === 'postgres')('counts a connection that cannot be had as connect, not as a statement', async () => {
      const unreachable = openDatabase({ dialect: 'postgres', url: 'postgres://postgres@127.0.0.1:1/none' }, { pool: { connectTimeoutMs: 500 } });
      const kinds: string[] = [];
      unreachable.onError((kind) => kinds.push(kind));
      try {
        await expect(unreachable.ping()).rejects.toThrow();
        expect(kinds).toEqual(['connect']);
      } finally {
        await unreachable.close();
      }
    });

    it('exports every metric the Grafana dashboard draws', async () => {
      const { panels, expressions } = readDashboard();
      const drawn = panels.filter((panel) => panel.type !== 'row');
      expect(new Set(panels.map((panel) => panel.id)).size).toBe(panels.length);
      expect(drawn.length).toBeGreaterThanOrEqual(12);
      for (const panel of drawn) {
        expect(panel.datasource?.uid, panel.title).toBe('${datasource}');
        expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
        for (const target of panel.targets!) expect(target.expr, panel.title).toMatch(/\b(koios|nodejs|process)_/);
      }
      const { types } = await scrape(server.metricsUrl!);
      const missing = metricNamesIn(expressions).filter((name) => familyOf(name, types) === undefined);
      // The pool is PostgreSQL's; on SQLite those panels stay empty.
      expect(missing.filter((name) => dialect === 'postgres' || !name.startsWith('koios_database_pool_'))).toEqual([]);
    });
  });
});
