import { connect, type Socket } from 'node:net';
import SqliteDatabase from 'better-sqlite3';
import { openDatabase } from '../../src/server/db/database.js';
import { call, seedClients, sleep, type Answer } from '../../test/support/fault-load.js';
import { accessToken } from '../../test/support/oauth.js';
import { createPrivatePostgres, privatePostgresAvailable } from '../../test/support/private-postgres.js';
import { startServerProcess, type ServerProcess } from '../../test/support/processes.js';
import type { ChaosScenario } from './scenario.js';
import { acceptedDisabled, disableAfterToken, probeDisabled, startOnSqliteFile, tally } from './sqlite-support.js';

/**
 * SIGTERM when things are not quiet: the database unavailable with last-used times pending, and
 * clients holding keep-alive connections, one with a request half-sent.
 */

/** SIGTERM; resolves with the exit code and how long the process took to go. */
async function terminate(server: ServerProcess): Promise<{ code: number | null; ms: number }> {
  const started = performance.now();
  const code = await server.stop('SIGTERM');
  return { code, ms: Math.round(performance.now() - started) };
}

/** Loops of token checks on /me until the server is gone; every answer, `error` once it refuses connections. */
function meLoad(server: ServerProcess, token: string, concurrency: number) {
  const answers: Answer[] = [];
  let running = true;
  const loops = Array.from({ length: concurrency }, async () => {
    while (running) {
      const answer = await call(`${server.url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } }, 5000);
      answers.push(answer);
      if (answer.status === 'error') await sleep(50);
    }
  });
  return {
    answers,
    async stop() {
      running = false;
      await Promise.all(loops);
      return answers;
    },
  };
}

function openSocket(port: number): Promise<{ socket: Socket; closedAt: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    // Read what comes, or the end of the stream (and so 'close') is never seen.
    socket.resume();
    const closedAt = new Promise<number>((done) => socket.once('close', () => done(performance.now())));
    socket.once('connect', () => resolve({ socket, closedAt }));
    socket.once('error', reject);
  });
}

const lastUsedOf = (handle: ReturnType<typeof openDatabase>, id: string) =>
  handle.db.selectFrom('api_clients').select('last_used_at').where('id', '=', id).executeTakeFirstOrThrow();

/** SQLite: another process holds the write lock at SIGTERM, for `holdMs`; the server's deadline is `deadlineMs`. */
function sqliteLockedAtSigterm(name: string, holdMs: number, deadlineMs: number): ChaosScenario {
  return {
    name,
    dialect: 'sqlite',
    async run() {
      const { file, server } = await startOnSqliteFile({ env: { KOIOS_SHUTDOWN_TIMEOUT_MS: String(deadlineMs), KOIOS_LOG_LEVEL: 'info' } });
      const adminToken = await accessToken(server.url, file.administrator);
      const disabledToken = await disableAfterToken(server, file, adminToken);
      // A use of the administrator's client that only the shutdown flush will write.
      await accessToken(server.url, file.administrator);
      const probes = await probeDisabled(server, file, disabledToken);
      const load = meLoad(server, adminToken, 4);
      await sleep(300);
      const holder = new SqliteDatabase(file.path);
      holder.prepare('begin immediate').run();
      const stopping = terminate(server);
      await sleep(holdMs);
      const releasedAt = performance.now();
      holder.prepare('rollback').run();
      holder.close();
      const { code, ms } = await stopping;
      const exitAfterRelease = Math.max(0, Math.round(performance.now() - releasedAt));
      const answers = [...(await load.stop()), ...probes];
      const handle = openDatabase({ dialect: 'sqlite', path: file.path, url: `file:${file.path}` });
      const written = (await lastUsedOf(handle, file.administrator.id)).last_used_at !== null;
      await handle.close();
      const dropped = /"droppedLastUsed":(\d+)/.exec(server.output())?.[1] ?? '0';
      file.remove();
      return {
        scenario: name,
        requests: answers.length,
        byStatus: tally(answers),
        disabledAccepted: acceptedDisabled(probes),
        recoveryMs: holdMs < deadlineMs ? exitAfterRelease : null,
        crashes: 0,
        note: `exit ${code} after ${ms} ms (deadline ${deadlineMs} ms); last-used time written: ${written ? 'yes' : 'no'}; logged as dropped: ${dropped}`,
      };
    },
  };
}

/** PostgreSQL (a private cluster) stopped at SIGTERM and started again `downMs` later. */
const postgresDownAtSigterm: ChaosScenario = {
  name: 'shutdown: SIGTERM, PostgreSQL stopped for 3 s',
  dialect: 'postgres',
  async run() {
    if (!privatePostgresAvailable()) throw new Error('initdb is not available (set KOIOS_TEST_PG_BIN)');
    const cluster = await createPrivatePostgres();
    try {
      const { administrator, plain, env } = await seedClients(cluster.url);
      const server = await startServerProcess({ env: { ...env, KOIOS_LOG_LEVEL: 'info' } });
      const adminToken = await accessToken(server.url, administrator);
      const targetToken = await accessToken(server.url, plain);
      await call(`${server.url}/api/v1/clients/${plain.id}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ enabled: false }),
      });
      const probes = await Promise.all([
        call(`${server.url}/api/v1/me`, { headers: { authorization: `Bearer ${targetToken}` } }),
        call(`${server.url}/oauth/token`, {
          method: 'POST',
          body: new URLSearchParams({ grant_type: 'client_credentials', client_id: plain.id, client_secret: plain.secret }),
        }),
      ]);
      const load = meLoad(server, adminToken, 4);
      await sleep(300);
      await cluster.stop('fast');
      const stopping = terminate(server);
      await sleep(3000);
      const restartedAt = performance.now();
      await cluster.start();
      const { code, ms } = await stopping;
      const exitAfterRestart = Math.max(0, Math.round(performance.now() - restartedAt));
      const answers = [...(await load.stop()), ...probes];
      const rows = await cluster.query<{ last_used_at: string | null }>('select last_used_at from api_clients where id = $1', [administrator.id]);
      return {
        scenario: this.name,
        requests: answers.length,
        byStatus: tally(answers),
        disabledAccepted: acceptedDisabled(probes),
        recoveryMs: exitAfterRestart,
        crashes: 0,
        note: `exit ${code} after ${ms} ms (deadline 10000 ms); last-used time written: ${rows[0]?.last_used_at !== null ? 'yes' : 'no'}; recovery = exit after the database was back`,
      };
    } finally {
      await cluster.destroy();
    }
  },
};

const halfSentKeepAlive: ChaosScenario = {
  name: 'shutdown: SIGTERM with idle and half-sent keep-alive connections',
  dialect: 'sqlite',
  async run() {
    const deadlineMs = 3000;
    const { file, server } = await startOnSqliteFile({ env: { KOIOS_SHUTDOWN_TIMEOUT_MS: String(deadlineMs), KOIOS_LOG_LEVEL: 'info' } });
    const adminToken = await accessToken(server.url, file.administrator);
    const disabledToken = await disableAfterToken(server, file, adminToken);
    const probes = await probeDisabled(server, file, disabledToken);
    const idle = await openSocket(server.port);
    idle.socket.write('GET /healthz HTTP/1.1\r\nHost: koios\r\nConnection: keep-alive\r\n\r\n');
    const half = await openSocket(server.port);
    half.socket.write('POST /oauth/token HTTP/1.1\r\nHost: koios\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant_type=');
    const load = meLoad(server, adminToken, 4);
    await sleep(500);
    const signalledAt = performance.now();
    const { code, ms } = await terminate(server);
    const idleClosedMs = Math.round((await idle.closedAt) - signalledAt);
    const answers = [...(await load.stop()), ...probes];
    const cut = /"cutConnections":(\d+)/.exec(server.output())?.[1] ?? '0';
    file.remove();
    return {
      scenario: this.name,
      requests: answers.length,
      byStatus: tally(answers),
      disabledAccepted: acceptedDisabled(probes),
      recoveryMs: null,
      crashes: 0,
      note: `exit ${code} after ${ms} ms (deadline ${deadlineMs} ms); idle keep-alive closed ${idleClosedMs} ms after SIGTERM; connections cut at the deadline: ${cut}; the load's answers are 200s before, 503s while closing, then refused connections`,
    };
  },
};

export const scenarios: readonly ChaosScenario[] = [
  sqliteLockedAtSigterm('shutdown: SIGTERM, SQLite locked elsewhere for 3 s', 3000, 10_000),
  sqliteLockedAtSigterm('shutdown: SIGTERM, SQLite locked past the 3 s deadline', 6000, 3000),
  postgresDownAtSigterm,
  halfSentKeepAlive,
];
