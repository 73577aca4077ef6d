import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../src/server/actor.js';
import type { Dialect } from '../../src/server/db/database.js';
import { createTestDatabase, createTestServices, testDialects, type TestDatabase } from '../support/databases.js';
import { startServerProcess, type ServerProcess } from '../support/processes.js';
import type { Services } from '../../src/server/services.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The exit code, or a failure when the process is still up `withinMs` after the signal. */
async function stopWithin(server: ServerProcess, withinMs: number): Promise<{ code: number | null; ms: number }> {
  const started = Date.now();
  const stopped = server.stop('SIGTERM');
  const late = sleep(withinMs).then(() => 'late' as const);
  const outcome = await Promise.race([stopped, late]);
  if (outcome === 'late') {
    await server.stop('SIGKILL');
    throw new Error(`still running ${withinMs} ms after SIGTERM:\n${server.output()}`);
  }
  return { code: outcome, ms: Date.now() - started };
}

/** A raw HTTP/1.1 connection, to leave requests half-sent and connections open as real clients do. */
function openSocket(port: number): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.on('data', (chunk: Buffer) => (data += chunk.toString('utf8')));
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve({ socket, received: () => data, closed }));
    socket.once('error', reject);
  });
}

/**
 * The database made unavailable to the server process and given back: on SQLite another process
 * holds the write lock; on PostgreSQL the server's role may not log in and its sessions are ended.
 */
interface Outage {
  readonly env: Record<string, string>;
  cut(): Promise<void>;
  restore(): Promise<void>;
  dispose(): Promise<void>;
}

async function outageFor(dialect: Dialect, database: TestDatabase): Promise<Outage> {
  if (dialect === 'sqlite') {
    const holder = new SqliteDatabase(database.location);
    const release = () => {
      if (holder.inTransaction) holder.prepare('rollback').run();
    };
    return {
      env: database.env,
      async cut() {
        holder.prepare('begin immediate').run();
      },
      async restore() {
        release();
      },
      async dispose() {
        release();
        holder.close();
      },
    };
  }
  const role = `koios_shutdown_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: inject('pgUrl')! });
  await admin.connect();
  await admin.query(`create role ${role} login superuser`);
  const url = new URL(database.env['KOIOS_DATABASE_URL']!);
  url.username = role;
  return {
    env: { ...database.env, KOIOS_DATABASE_URL: url.href },
    async cut() {
      await admin.query(`alter role ${role} nologin`);
      await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where usename = $1', [role]);
    },
    async restore() {
      await admin.query(`alter role ${role} login`);
    },
    async dispose() {
      await admin.query(`alter role ${role} login`);
      await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where usename = $1', [role]);
      await admin.query(`drop role if exists ${role}`).catch(() => undefined);
      await admin.end();
    },
  };
}

/** Another session that keeps the server's writes to api_clients waiting until released. */
async function blockWrites(dialect: Dialect, database: TestDatabase): Promise<{ release(): Promise<void> }> {
  if (dialect === 'sqlite') {
    const holder = new SqliteDatabase(database.location);
    holder.prepare('begin immediate').run();
    return {
      async release() {
        holder.prepare('commit').run();
        holder.close();
      },
    };
  }
  const session = new pg.Client({ connectionString: database.env['KOIOS_DATABASE_URL']! });
  await session.connect();
  await session.query('begin');
  await session.query('lock table api_clients in exclusive mode');
  return {
    async release() {
      await session.query('commit');
      await session.end();
    },
  };
}

/** SIGTERM stops accepting, finishes what is in flight, flushes last-used times, and exits within its deadline. */
describe.each(testDialects())('graceful shutdown on %s', (dialect) => {
  let database: TestDatabase;
  let services: Services;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    services = await createTestServices(database);
  });
  afterAll(async () => {
    await services.stop();
    await database.drop();
  });

  /** A new client, a token for it from `server` (so its last-used time is pending there). */
  async function useClient(server: ServerProcess, name: string): Promise<string> {
    const { client, clientSecret } = await services.clients.create(SYSTEM_ACTOR, { name });
    const response = await fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.id, client_secret: clientSecret }),
    });
    expect(response.status).toBe(200);
    return client.id;
  }
  const lastUsedOf = async (id: string) =>
    (await database.handle.db.selectFrom('api_clients').select('last_used_at').where('id', '=', id).executeTakeFirstOrThrow()).last_used_at;

  it('writes the pending last-used time of a client before exiting 0 on SIGTERM', async () => {
    const server = await startServerProcess({ env: database.env });
    const id = await useClient(server, 'used just before shutdown');
    expect((await stopWithin(server, 15_000)).code).toBe(0);
    // Written by the server at shutdown, long before its 5-second flush interval.
    expect(await lastUsedOf(id), server.output()).not.toBeNull();
  });

  it('closes idle keep-alive connections at once and cuts a half-sent request at the deadline, exiting within it', async () => {
    const deadlineMs = 3000;
    const server = await startServerProcess({ env: { ...database.env, KOIOS_SHUTDOWN_TIMEOUT_MS: String(deadlineMs) } });
    // A keep-alive connection that made one request and now idles.
    const idle = await openSocket(server.port);
    idle.socket.write('GET /healthz HTTP/1.1\r\nHost: koios\r\nConnection: keep-alive\r\n\r\n');
    for (let waited = 0; !idle.received().includes('"status":"ok"') && waited < 5000; waited += 20) await sleep(20);
    expect(idle.received()).toMatch(/^HTTP\/1\.1 200/);
    // A keep-alive connection whose request was half-sent when the signal came.
    const half = await openSocket(server.port);
    half.socket.write(
      'POST /oauth/token HTTP/1.1\r\nHost: koios\r\nConnection: keep-alive\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant_type=',
    );
    await sleep(100);

    const signalled = Date.now();
    const stopping = stopWithin(server, deadlineMs + 5000);
    await idle.closed;
    // Loose: the idle connection is not kept until the deadline or the keep-alive timeout.
    expect(Date.now() - signalled).toBeLessThan(deadlineMs);
    const { code, ms } = await stopping;
    await half.closed;
    expect(ms).toBeLessThan(deadlineMs + 2000);
    // A request was cut: not a clean exit, and the log says so.
    expect(code).toBe(1);
    expect(server.output()).toMatch(/"cutConnections":1/);
  });

  it('finishes a request in flight when the signal comes', async () => {
    const server = await startServerProcess({ env: database.env });
    const administrator = await services.roles.resolve(SYSTEM_ACTOR, 'Administrator');
    const { client, clientSecret } = await services.clients.create(SYSTEM_ACTOR, { name: 'operator', roleId: administrator.id });
    const tokenAnswer = await fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.id, client_secret: clientSecret }),
    });
    const token = ((await tokenAnswer.json()) as { access_token: string }).access_token;
    // Another session holds the table, so the write below is surely in flight when the signal comes.
    const blocker = await blockWrites(dialect, database);
    const write = fetch(`${server.url}/api/v1/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'written during shutdown' }),
    });
    await sleep(200);
    const stopping = stopWithin(server, 15_000);
    await sleep(300);
    await blocker.release();
    expect((await write).status).toBe(201);
    expect((await stopping).code).toBe(0);
  });

  describe('with the database unavailable at SIGTERM', () => {
    let outage: Outage;
    beforeAll(async () => {
      outage = await outageFor(dialect, database);
    });
    afterAll(async () => outage?.dispose());

    it('retries the last-used flush until the database is back, then exits 0 with the time written', async () => {
      const server = await startServerProcess({ env: { ...outage.env, KOIOS_SHUTDOWN_TIMEOUT_MS: '10000' } });
      const id = await useClient(server, 'used before an outage');
      await outage.cut();
      const stopping = stopWithin(server, 15_000);
      await sleep(1000);
      await outage.restore();
      const { code } = await stopping;
      expect(code, server.output()).toBe(0);
      expect(await lastUsedOf(id)).not.toBeNull();
    });

    it('gives up at the deadline, logs how many last-used times were dropped, and exits 1', async () => {
      const deadlineMs = 2000;
      const server = await startServerProcess({ env: { ...outage.env, KOIOS_SHUTDOWN_TIMEOUT_MS: String(deadlineMs) } });
      const id = await useClient(server, 'used before a long outage');
      await outage.cut();
      try {
        const { code, ms } = await stopWithin(server, deadlineMs + 5000);
        expect(code).toBe(1);
        expect(ms).toBeLessThan(deadlineMs + 2000);
        expect(server.output()).toMatch(/"droppedLastUsed":1/);
        // Counts only: no client id, secret or token in what was logged.
        expect(server.output()).not.toContain(id);
      } finally {
        await outage.restore();
      }
    });
  });
});
