import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import type { Dialect } from '../db/database.js';
import { loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { FAILURE_REASONS } from '../modules/oauth/auth-failures.js';
import { startServer } from '../server.js';
import { createTestDatabase, testDialects, type TestDatabase } from '../../../test/support/databases.js';
import { accessToken, basicHeader, builtInRoleIds, newClient } from '../../../test/support/oauth.js';
import { scrape } from '../../../test/support/prometheus.js';
import { LogCapture, startTestServer, type TestServer } from '../../../test/support/server.js';

/**
 * What the metrics must not give away: nothing is served unless the operator asks for it, never on
 * the API port, and no series names a caller (a client id, an address, a URL it made up), which
 * would also let any caller grow the scraper's memory without bound.
 */

/** Listening sockets of this process: a server that is not configured must not open one. */
const listeningSockets = () => process.getActiveResourcesInfo().filter((resource) => resource === 'TCPServerWrap').length;
/** The count once the servers of earlier tests have finished closing (a closed handle goes away a tick later). */
async function settledListeningSockets(): Promise<number> {
  let count = listeningSockets();
  for (let tries = 0; tries < 40; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    const next = listeningSockets();
    if (next === count) return count;
    count = next;
  }
  return count;
}

/** A request with a method fetch() refuses to send. */
function rawRequest(url: string, method: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('error', reject);
    request.end();
  });
}

/** A database nothing has touched yet, and whether anything has since (a file created, a table made). */
async function untouchedDatabase(dialect: Dialect): Promise<{ env: Record<string, string>; touched(): Promise<boolean>; drop(): Promise<void> }> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'koios-untouched-'));
    const path = join(dir, 'koios.db');
    return {
      env: { KOIOS_DATABASE_URL: `file:${path}` },
      touched: async () => existsSync(path),
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const base = inject('pgUrl')!;
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const query = async (sql: string, values: unknown[] = []) => {
    const client = new pg.Client({ connectionString: base });
    await client.connect();
    try {
      return await client.query<{ count: string }>(sql, values);
    } finally {
      await client.end();
    }
  };
  await query(`create schema ${schema}`);
  const url = new URL(base);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    env: { KOIOS_DATABASE_URL: url.href },
    touched: async () => Number((await query('select count(*) as count from information_schema.tables where table_schema = $1', [schema])).rows[0]!.count) > 0,
    drop: async () => void (await query(`drop schema if exists ${schema} cascade`)),
  };
}

describe.each(testDialects())('what the metrics give away on %s', (dialect) => {
  describe('the listener, as `npm start` runs it', () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await createTestDatabase(dialect);
    });
    afterAll(() => database.drop());

    const start = (env: Record<string, string>) => {
      // An Administrator from the environment: no setup link printed on the test's output.
      const admin = { KOIOS_ADMIN_EMAIL: 'ops@example.com', KOIOS_ADMIN_PASSWORD: 'a long passphrase' };
      const config = loadConfig({ ...database.env, ...admin, HOST: '127.0.0.1', PORT: '0', KOIOS_LOG_LEVEL: 'warn', ...env });
      return startServer(config, createLogger(config.logLevel, new LogCapture()));
    };

    it('opens no listener without KOIOS_METRICS_PORT, and the API port answers /metrics with 404', async () => {
      const before = await settledListeningSockets();
      const server = await start({});
      try {
        expect(server.metricsUrl).toBeNull();
        expect(listeningSockets()).toBe(before + 1);
        expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
      } finally {
        await server.close();
      }
    });

    it('serves the Prometheus text format on KOIOS_METRICS_PORT, bound to loopback, and never on the API port', async () => {
      const before = await settledListeningSockets();
      const server = await start({ KOIOS_METRICS_PORT: '0' });
      try {
        expect(listeningSockets()).toBe(before + 2);
        expect(new URL(server.metricsUrl!).hostname).toBe('127.0.0.1');
        expect(server.metricsUrl).not.toBe(server.url);
        const response = await fetch(`${server.metricsUrl}/metrics`);
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
        const text = await response.text();
        expect(text).toContain('# TYPE koios_http_request_duration_seconds histogram');
        expect(text).toContain('# TYPE process_cpu_user_seconds_total counter');
        expect(text).toContain('# TYPE nodejs_eventloop_lag_p99_seconds gauge');
        // The API port: no /metrics, whatever the method; the metrics port: nothing else.
        expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
        expect((await fetch(`${server.url}/metrics`, { method: 'POST' })).status).toBe(404);
        expect((await fetch(`${server.metricsUrl}/api/v1/me`)).status).toBe(404);
        expect((await fetch(`${server.metricsUrl}/.well-known/jwks.json`)).status).toBe(404);
      } finally {
        await server.close();
      }
      expect(await settledListeningSockets()).toBe(before);
    });

    it('refuses a busy KOIOS_METRICS_PORT before it opens the database, so no migration has run', async () => {
      const busy = createServer();
      await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
      onTestFinished(() => new Promise<void>((resolve) => busy.close(() => resolve())));
      const untouched = await untouchedDatabase(dialect);
      onTestFinished(() => untouched.drop());
      const before = await settledListeningSockets();
      await expect(start({ ...untouched.env, KOIOS_METRICS_PORT: String((busy.address() as AddressInfo).port) })).rejects.toThrow(/KOIOS_METRICS_PORT/);
      expect(await untouched.touched()).toBe(false);
      expect(await settledListeningSockets()).toBe(before);
    });
  });

  describe('the labels', () => {
    let server: TestServer;
    let viewerRoleId: string;
    beforeAll(async () => {
      server = await startTestServer(dialect, { env: { KOIOS_METRICS_PORT: '0' } });
      viewerRoleId = (await builtInRoleIds(server)).viewer;
    });
    afterAll(() => server.close());

    it('keeps every label within a closed set, whoever calls and whatever URL they ask for', async () => {
      const clients = await Promise.all(Array.from({ length: 6 }, (_, i) => newClient(server, `Metrics caller ${i}`, viewerRoleId)));
      const invented = `zz${randomBytes(6).toString('hex')}`;
      for (const client of clients) {
        const bearer = await accessToken(server, client);
        const auth = { authorization: `Bearer ${bearer}` };
        await fetch(`${server.url}/api/v1/me?${invented}=${client.id}`, { headers: auth });
        await fetch(`${server.url}/api/v1/clients/${client.id}`, { headers: auth });
        await fetch(`${server.url}/api/v1/clients/${randomUUID()}/permissions`, { headers: auth });
        await fetch(`${server.url}/oauth/token`, {
          method: 'POST',
          headers: { authorization: basicHeader({ id: client.id, secret: invented }), 'content-type': 'application/x-www-form-urlencoded' },
          body: 'grant_type=client_credentials',
        });
        await fetch(`${server.url}/${invented}/${client.id}`);
        await fetch(`${server.url}/system/connections/${client.id}`, { headers: { accept: 'text/html' } });
      }
      await fetch(`${server.url}/api/v1/${invented}`, { method: 'DELETE' });
      await fetch(`${server.url}/%zz${invented}`);
      await fetch(`${server.url}/graphql?query=${encodeURIComponent(`{ ${invented} }`)}`);
      expect(await rawRequest(`${server.url}/${invented}`, 'PROPFIND')).toBe(404);

      const { samples } = await scrape(server.metricsUrl!);
      const allowed: Record<string, (value: string) => boolean> = {
        method: (value) => ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'other'].includes(value),
        // A route label names a registered route (its template), or none matched.
        route: (value) => value === 'unmatched' || ['GET', 'POST', 'PATCH', 'DELETE', 'PUT'].some((method) => server.app.hasRoute({ method, url: value })),
        status_code: (value) => /^[1-5]\d\d$/.test(value),
        reason: (value) => (FAILURE_REASONS as readonly string[]).includes(value),
        result: (value) => ['hit', 'miss'].includes(value),
        source: (value) => ['local', 'remote'].includes(value),
        kind: (value) => ['statement', 'connect', 'connection_lost', 'busy', 'disk_full'].includes(value),
        le: (value) => value === '+Inf' || Number.isFinite(Number(value)),
      };
      const koios = samples.filter((sample) => sample.name.startsWith('koios_'));
      expect(koios.some((sample) => sample.labels['route'] === 'unmatched' && sample.labels['status_code'] === '404')).toBe(true);
      // The router's own refusal of a bad percent-escape is counted too.
      expect(koios.some((sample) => sample.labels['route'] === 'unmatched' && sample.labels['status_code'] === '400')).toBe(true);
      expect(koios.some((sample) => sample.labels['method'] === 'other')).toBe(true);
      expect(koios.some((sample) => sample.labels['route'] === '/api/v1/clients/:id')).toBe(true);
      for (const sample of koios) {
        for (const [name, value] of Object.entries(sample.labels)) {
          expect(allowed[name], `${sample.name} has a label ${name} of no closed set`).toBeDefined();
          expect(allowed[name]!(value), `${sample.name}{${name}="${value}"}`).toBe(true);
        }
      }
      // Nothing a caller chose or is, in any series (the process's own included).
      const everyValue = samples.flatMap((sample) => Object.values(sample.labels)).join('\n');
      for (const secretive of [invented, '127.0.0.1', ...clients.map((client) => client.id)]) expect(everyValue).not.toContain(secretive);
    });
  });
});
