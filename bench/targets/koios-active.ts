import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import http from 'node:http';
import { PerformanceObserver } from 'node:perf_hooks';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { SYSTEM_ACTOR } from '../../src/server/actor.js';
import { loadConfig } from '../../src/server/config.js';
import { BULK_POOL, migrateToLatest, openDatabase } from '../../src/server/db/database.js';
import { createLogger } from '../../src/server/logger.js';
import { startServer } from '../../src/server/server.js';
import { ROLE_BEFORE } from './active-clients.js';
import { announceReady, fail, freePort, onShutdown } from './common.js';
import { benchDatabase } from './koios-database.js';

const HERE = dirname(fileURLToPath(import.meta.url));

/**
 * A loopback listener of the bench's own, beside the server: `POST /gc` runs a full garbage
 * collection and answers the heap then in use (the live heap, which sets how far V8 lets old space
 * grow next), and with BENCH_HEAP_SNAPSHOT_DIR set `POST /snapshot` writes a heap snapshot there
 * first (for bench/heap-summary.ts). Nothing of it is in the server.
 */
async function startControl(): Promise<{ url: string; close: () => Promise<void> }> {
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const snapshots = process.env['BENCH_HEAP_SNAPSHOT_DIR'];
  let taken = 0;
  const control = http.createServer((request, response) => {
    let file: string | null = null;
    if (request.method === 'POST' && request.url === '/snapshot' && snapshots !== undefined) {
      file = v8.writeHeapSnapshot(join(snapshots, `koios-active-${process.pid}-${++taken}.heapsnapshot`));
    } else if (request.method !== 'POST' || request.url !== '/gc') {
      response.writeHead(404).end();
      return;
    }
    gc();
    const { used_heap_size: usedHeapBytes, total_heap_size: totalHeapBytes } = v8.getHeapStatistics();
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ usedHeapBytes, totalHeapBytes, file }));
  });
  const port = await freePort();
  await new Promise<void>((resolve) => control.listen(port, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => control.close(() => resolve())) };
}

/**
 * The real server for `npm run bench -- active` (bench/active.ts), as `npm start` runs it, with
 * the metrics listener on (the cache's size and the event-loop delay are read there). Once it
 * listens: an Administrator-role client (to change the role through the API), the role the bench
 * changes, then BENCH_ACTIVE_CLIENTS clients seeded by koios-active-seed.ts in a process of its own.
 */
/**
 * BENCH_LAG_LOG=<file>: every event-loop pause over 40 ms and every GC over 10 ms, as
 * `lag|gc <end, µs of the monotonic clock> <ms> [kind]`, to line up with a CPU profile's samples
 * (bench/long-tasks.ts).
 */
function logPauses(file: string): void {
  const lines: string[] = [];
  const nowMicros = () => Number(process.hrtime.bigint() / 1000n);
  let expected = nowMicros() + 5000;
  setInterval(() => {
    const now = nowMicros();
    if (now - expected > 40_000) lines.push(`lag ${now} ${((now - expected) / 1000).toFixed(1)}`);
    expected = now + 5000;
  }, 5).unref();
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.duration < 10) continue;
      const end = Math.round(nowMicros() - (performance.now() - entry.startTime - entry.duration) * 1000);
      lines.push(`gc ${end} ${entry.duration.toFixed(1)} ${(entry as unknown as { detail?: { kind?: number } }).detail?.kind ?? ''}`);
    }
  }).observe({ entryTypes: ['gc'] });
  setInterval(() => {
    if (lines.length > 0) appendFileSync(file, `${lines.splice(0).join('\n')}\n`);
  }, 1000).unref();
}

async function main(): Promise<void> {
  const lagLog = process.env['BENCH_LAG_LOG'];
  if (lagLog !== undefined) logPauses(lagLog);
  const { databaseUrl, seedConfig, schema } = benchDatabase();
  // On PostgreSQL the schema the parent named does not exist yet, and the server migrates only
  // into one that does: made here first, as koios-seed.ts does for the other targets.
  if (schema !== undefined) {
    const migrating = openDatabase(seedConfig, { schema, pool: BULK_POOL });
    try {
      await migrateToLatest(migrating, schema);
    } finally {
      await migrating.close();
    }
  }
  const masterKey = randomBytes(32).toString('base64');
  const port = await freePort();
  const config = loadConfig({
    KOIOS_DATABASE_URL: databaseUrl,
    HOST: '127.0.0.1',
    PORT: String(port),
    KOIOS_LOG_LEVEL: process.env['KOIOS_LOG_LEVEL'] ?? 'warn',
    KOIOS_MASTER_KEY: masterKey,
    KOIOS_METRICS_PORT: '0',
    ...(process.env['KOIOS_CLIENT_STATE_CACHE_SIZE'] === undefined ? {} : { KOIOS_CLIENT_STATE_CACHE_SIZE: process.env['KOIOS_CLIENT_STATE_CACHE_SIZE'] }),
  });
  const server = await startServer(config, createLogger(config.logLevel));
  const control = await startControl();
  onShutdown(async () => {
    await control.close();
    await server.close();
  });

  const { services } = server;
  const administrator = await services.roles.resolve(SYSTEM_ACTOR, 'Administrator');
  const viewer = await services.roles.resolve(SYSTEM_ACTOR, 'Viewer');
  const admin = await services.clients.create(SYSTEM_ACTOR, { name: 'Bench administrator', roleId: administrator.id });
  const role = await services.roles.create(SYSTEM_ACTOR, { name: 'Bench active', permissions: [...ROLE_BEFORE] });

  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const seeding = spawn(process.execPath, ['--import', 'tsx', join(HERE, 'koios-active-seed.ts')], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, BENCH_ACTIVE_MASTER_KEY: masterKey, BENCH_ACTIVE_ROLE_ID: role.id, BENCH_ACTIVE_OTHER_ROLE_ID: viewer.id },
    });
    seeding.once('error', reject);
    seeding.once('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`seeding failed (${signal ?? `exit ${code}`})`))));
  });

  announceReady({
    url: server.url,
    metricsUrl: server.metricsUrl,
    controlUrl: control.url,
    roleId: role.id,
    clientId: admin.client.id,
    clientSecret: admin.clientSecret,
    seedSeconds: (performance.now() - started) / 1000,
  });
}

main().catch(fail);
