import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { announceReady, fail, freePort, onShutdown } from './common.js';
import { benchDatabase } from './koios-database.js';
import { startMemoryReport } from './memory-report.js';

const HERE = dirname(fileURLToPath(import.meta.url));

/**
 * The server's modules as `npm start` runs them, compiled in dist/server (the bench compiles it
 * first): under tsx every function made per request is wrapped to keep its name, which the built
 * code does not pay. BENCH_KOIOS_FROM=src runs the TypeScript sources instead.
 */
const SERVER = process.env['BENCH_KOIOS_FROM'] === 'src' ? '../../src/server' : '../../dist/server';
const { SYSTEM_ACTOR } = (await import(`${SERVER}/actor.js`)) as typeof import('../../src/server/actor.js');
const { loadConfig } = (await import(`${SERVER}/config.js`)) as typeof import('../../src/server/config.js');
const { createLogger } = (await import(`${SERVER}/logger.js`)) as typeof import('../../src/server/logger.js');
const { startServer } = (await import(`${SERVER}/server.js`)) as typeof import('../../src/server/server.js');

/**
 * The real Koios Access server, as `npm start` runs it (startServer: migrations, services, the
 * Fastify app on loopback), over the database the parent made for it (koios-database.ts).
 * koios-seed.ts first inserts BENCH_KOIOS_CLIENTS clients (default 100,000) in a process of its
 * own; then one Administrator-role client is created through the service, and its credentials
 * are announced on the readiness line. With BENCH_KOIOS_CLIENT_KEYS (a JSON array of public JWKs,
 * whose private halves stay with the load generator), a second Administrator-role client that
 * authenticates with those keys (private_key_jwt) is created too.
 */
async function main(): Promise<void> {
  const { dialect, databaseUrl } = benchDatabase();
  const count = Number(process.env['BENCH_KOIOS_CLIENTS'] ?? '100000');
  const seeded = spawnSync(process.execPath, ['--import', 'tsx', join(HERE, 'koios-seed.ts')], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (seeded.status !== 0) throw new Error(`seeding ${count} clients failed (${seeded.signal ?? `exit ${seeded.status}`})`);

  const port = await freePort();
  const config = loadConfig({
    KOIOS_DATABASE_URL: databaseUrl,
    HOST: '127.0.0.1',
    PORT: String(port),
    KOIOS_LOG_LEVEL: process.env['KOIOS_LOG_LEVEL'] ?? 'warn',
    // The parent made this database for this run alone: a random master key, no key file left behind.
    KOIOS_MASTER_KEY: randomBytes(32).toString('base64'),
  });
  const server = await startServer(config, createLogger(config.logLevel));
  // BENCH_KOIOS_MEMORY_FILE (a path; the dialect is added to it): where the server's memory is, until it stops.
  const memory = startMemoryReport(process.env['BENCH_KOIOS_MEMORY_FILE']?.concat(`.${dialect}.json`));
  onShutdown(async () => {
    memory.atShutdown();
    await server.close();
  });

  const administrator = await server.services.roles.resolve(SYSTEM_ACTOR, 'Administrator');
  const created = await server.services.clients.create(SYSTEM_ACTOR, { name: 'Bench administrator', roleId: administrator.id });
  const publicKeys = JSON.parse(process.env['BENCH_KOIOS_CLIENT_KEYS'] ?? '[]') as Record<string, unknown>[];
  const keyClient =
    publicKeys.length === 0
      ? null
      : await server.services.clients.createWithKeys(SYSTEM_ACTOR, { name: 'Bench administrator with keys', roleId: administrator.id, publicKeys });
  announceReady({
    url: server.url,
    dialect,
    clients: count + (keyClient === null ? 1 : 2),
    clientId: created.client.id,
    clientSecret: created.clientSecret,
    keyClientId: keyClient?.id ?? null,
    // What DPoP proofs name in htu and client assertions in aud.
    issuer: config.issuer,
    logLevel: config.logLevel,
  });
}

main().catch(fail);
