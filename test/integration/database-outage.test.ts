import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createApp } from '../../src/server/app.js';
import { loadConfig } from '../../src/server/config.js';
import { openDatabase, type DatabaseHandle } from '../../src/server/db/database.js';
import { createLogger } from '../../src/server/logger.js';
import { SYSTEM_ACTOR } from '../../src/server/actor.js';
import { createServices, type Services } from '../../src/server/services.js';
import { createTestDatabase, testDialects, type TestDatabase } from '../support/databases.js';
import { freePort, LogCapture } from '../support/server.js';
import type { FastifyInstance } from 'fastify';

const TTL_MS = 300;
const postgresOnly = testDialects().filter((dialect) => dialect === 'postgres');

/**
 * The database goes away under a running server (its login is refused and
 * its connections are killed). The process survives; once the cached client state is older than
 * its TTL, requests are refused with 503 instead of trusted; when the database returns, the
 * server recovers without a restart.
 */
describe.each(postgresOnly)('a %s outage under a running server', (dialect) => {
  const role = `koios_outage_${randomBytes(4).toString('hex')}`;
  let admin: pg.Client;
  let database: TestDatabase;
  let handle: DatabaseHandle;
  let services: Services;
  let app: FastifyInstance;
  let url: string;

  const cut = async () => {
    await admin.query(`alter role ${role} nologin`);
    await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where usename = $1', [role]);
  };
  const restore = () => admin.query(`alter role ${role} login`);

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    admin = new pg.Client({ connectionString: inject('pgUrl')! });
    await admin.connect();
    await admin.query(`create role ${role} login superuser`);
    const roleUrl = new URL(inject('pgUrl')!);
    roleUrl.username = role;
    handle = openDatabase({ dialect: 'postgres', url: roleUrl.href }, { schema: database.location });
    const port = await freePort();
    const config = loadConfig({ KOIOS_DATABASE_URL: roleUrl.href, HOST: '127.0.0.1', PORT: String(port), KOIOS_LOG_LEVEL: 'warn' });
    const logger = createLogger('warn', new LogCapture());
    services = await createServices({ database: handle, logger, tokenSettings: config, masterKey: database.masterKey, clientStateTtlMs: TTL_MS });
    app = await createApp({ config, database: handle, services, logger });
    await app.listen({ host: '127.0.0.1', port });
    url = config.issuer;
  });

  afterAll(async () => {
    await restore().catch(() => undefined);
    await app?.close();
    await services?.stop();
    await handle?.close().catch(() => undefined);
    await database.drop();
    await admin.query(`drop role if exists ${role}`).catch(() => undefined);
    await admin.end();
  });

  it('answers 503 rather than trusting stale client state, and recovers when the database is back', async () => {
    const { client, clientSecret } = await services.clients.create(SYSTEM_ACTOR, { name: 'through the outage' });
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: client.id, client_secret: clientSecret });
    const tokenResponse = await fetch(`${url}/oauth/token`, { method: 'POST', body: form });
    const { access_token: accessToken } = (await tokenResponse.json()) as { access_token: string };
    const me = () => fetch(`${url}/api/v1/me`, { headers: { authorization: `Bearer ${accessToken}` } });
    expect((await me()).status).toBe(200);

    await cut();
    await new Promise((resolve) => setTimeout(resolve, TTL_MS * 2));
    const refused = await me();
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { code: string }).code).toBe('unavailable');
    const tokenDuringOutage = await fetch(`${url}/oauth/token`, { method: 'POST', body: form });
    expect(tokenDuringOutage.status).toBe(503);
    expect(((await tokenDuringOutage.json()) as { error: string }).error).toBe('temporarily_unavailable');
    expect((await fetch(`${url}/readyz`)).status).toBe(503);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    await restore();
    let status = 0;
    for (let attempt = 0; attempt < 100 && status !== 200; attempt += 1) {
      status = (await me()).status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
  });
});

if (postgresOnly.length === 0) {
  // Reason: the outage is simulated on PostgreSQL; global setup has already warned loudly, and
  // under CI=true the run fails before reaching this.
  describe('a PostgreSQL outage under a running server', () => {
    it.skip('needs PostgreSQL (see the warning at the start of the run)', () => undefined);
  });
}
