import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import SqliteDatabase from 'better-sqlite3';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../src/server/actor.js';
import { openDatabase } from '../../src/server/db/database.js';
import { createLogger } from '../../src/server/logger.js';
import type { Services } from '../../src/server/services.js';
import { createTestDatabase, createTestServices, type TestDatabase } from '../support/databases.js';
import { startServerProcess, type ServerProcess } from '../support/processes.js';
import { LogCapture, startTestServer, type TestServer } from '../support/server.js';

/*
 * SQLite when another process writes to the same file: the server keeps answering what needs no
 * write lock, waits for the lock for writes (on timers, never blocking its event loop), and answers
 * 503, never 500, when it cannot get it in time. The CLI waits the same way.
 */

const CLI_ENTRY = fileURLToPath(new URL('../../bin/koios.js', import.meta.url));
const BUSY_TIMEOUT_MS = 1500;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The real `koios` command in its own process. */
function koios(env: Record<string, string>, args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_ENTRY, ...args], {
      env: { ...process.env, KOIOS_LOG_LEVEL: 'silent', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** How long `request` takes, with its status. */
async function timed(request: () => Promise<Response>): Promise<{ status: number; ms: number; body: string }> {
  const started = Date.now();
  const response = await request();
  const body = await response.text();
  return { status: response.status, ms: Date.now() - started, body };
}

describe('a SQLite server beside another process that holds the write lock', () => {
  let database: TestDatabase;
  let services: Services;
  let server: ServerProcess;
  let token: string;
  let holder: SqliteDatabase.Database;

  const bearer = () => ({ authorization: `Bearer ${token}` });
  const createClient = (name: string) =>
    fetch(`${server.url}/api/v1/clients`, { method: 'POST', headers: { ...bearer(), 'content-type': 'application/json' }, body: JSON.stringify({ name }) });

  beforeAll(async () => {
    database = await createTestDatabase('sqlite');
    services = await createTestServices(database);
    const administrator = await services.roles.resolve(SYSTEM_ACTOR, 'Administrator');
    const { client, clientSecret } = await services.clients.create(SYSTEM_ACTOR, { name: 'operator', roleId: administrator.id });
    server = await startServerProcess({ env: { ...database.env, KOIOS_SQLITE_BUSY_TIMEOUT_MS: String(BUSY_TIMEOUT_MS) } });
    const response = await fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.id, client_secret: clientSecret }),
    });
    token = ((await response.json()) as { access_token: string }).access_token;
    // Warm the cached client state, as a running server has it.
    expect((await fetch(`${server.url}/api/v1/me`, { headers: bearer() })).status).toBe(200);
    holder = new SqliteDatabase(database.location);
  });

  afterAll(async () => {
    if (holder?.inTransaction) holder.prepare('rollback').run();
    holder?.close();
    await server?.stop();
    await services?.stop();
    await database.drop();
  });

  it('keeps answering health, cached token checks and reads while the lock is held elsewhere', async () => {
    holder.prepare('begin immediate').run();
    try {
      const answers = await Promise.all([
        timed(() => fetch(`${server.url}/healthz`)),
        timed(() => fetch(`${server.url}/readyz`)),
        timed(() => fetch(`${server.url}/api/v1/me`, { headers: bearer() })),
        timed(() => fetch(`${server.url}/api/v1/clients`, { headers: bearer() })),
      ]);
      for (const answer of answers) {
        expect(answer.status, answer.body).toBe(200);
        // Loose: well under the busy timeout, which a blocked event loop would have taken.
        expect(answer.ms).toBeLessThan(BUSY_TIMEOUT_MS);
      }
    } finally {
      holder.prepare('rollback').run();
    }
    expect(server.crashed()).toBe(false);
  });

  it('makes a write wait for the lock and succeed once it is released', async () => {
    holder.prepare('begin immediate').run();
    const write = timed(() => createClient('waited for the lock'));
    await sleep(300);
    const health = await timed(() => fetch(`${server.url}/healthz`));
    expect(health.status).toBe(200);
    holder.prepare('commit').run();
    const answer = await write;
    expect(answer.status, answer.body).toBe(201);
  });

  it('answers 503 with a problem body when the lock is held past the busy timeout, then recovers', async () => {
    holder.prepare('begin immediate').run();
    let answer;
    try {
      answer = await timed(() => createClient('never written'));
    } finally {
      holder.prepare('rollback').run();
    }
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body)).toMatchObject({ status: 503, code: 'unavailable', detail: expect.stringContaining('busy') });
    expect(answer.ms).toBeGreaterThanOrEqual(BUSY_TIMEOUT_MS - 100);
    expect((await createClient('after the lock')).status).toBe(201);
    expect(server.output()).not.toMatch(/"level":50|SQLITE_BUSY_SNAPSHOT|database is locked/);
  });

  it('lets `koios clients create` wait for a lock held elsewhere instead of failing with "database is locked"', async () => {
    holder.prepare('begin immediate').run();
    const run = koios(database.env, ['clients', 'create', '--name', 'from the CLI while locked', '--json']);
    await sleep(800);
    holder.prepare('commit').run();
    const { code, stdout, stderr } = await run;
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ name: 'from the CLI while locked' });
  });

  it('gives the CLI a one-line busy error once the lock is held past its busy timeout', async () => {
    holder.prepare('begin immediate').run();
    let result;
    try {
      result = await koios({ ...database.env, KOIOS_SQLITE_BUSY_TIMEOUT_MS: '300' }, ['clients', 'create', '--name', 'never from the CLI']);
    } finally {
      holder.prepare('rollback').run();
    }
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^koios: the database is busy[^\n]*\n$/);
  });

  it('never answers 500 to concurrent writers while the CLI writes to the same file', async () => {
    const statuses: number[] = [];
    let running = true;
    const writer = async (index: number) => {
      for (let n = 0; running; n += 1) statuses.push((await createClient(`writer ${index} #${n}`)).status);
    };
    const writers = [0, 1, 2, 3, 4].map(writer);
    const runs = [];
    for (let n = 0; n < 3; n += 1) runs.push(await koios(database.env, ['clients', 'create', '--name', `CLI beside writers #${n}`]));
    running = false;
    await Promise.all(writers);
    expect(runs.map((run) => `${run.code} ${run.stderr}`)).toEqual(['0 ', '0 ', '0 ']);
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.filter((status) => status !== 201)).toEqual([]);
    expect(server.crashed()).toBe(false);
  });
});

describe('a SQLite server on a full disk', () => {
  let database: TestDatabase;
  let server: TestServer;
  const driverLogs = new LogCapture();

  beforeAll(async () => {
    database = await createTestDatabase('sqlite');
    // The server's own connection, logging as `koios serve` opens it.
    const handle = openDatabase(database.config, { logger: createLogger('info', driverLogs) });
    server = await startTestServer('sqlite', { database: { ...database, handle } });
  });
  afterAll(async () => {
    await server?.close();
    await server?.database.handle.close();
    await database.drop();
  });

  it('answers writes 503 saying the disk is full, reports it on /readyz, and recovers when space is freed', async () => {
    const administrator = await server.services.roles.resolve(SYSTEM_ACTOR, 'Administrator');
    const { client, clientSecret } = await server.services.clients.create(SYSTEM_ACTOR, { name: 'operator', roleId: administrator.id });
    const tokenAnswer = await fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.id, client_secret: clientSecret }),
    });
    const token = ((await tokenAnswer.json()) as { access_token: string }).access_token;
    const create = (name: string) =>
      fetch(`${server.url}/api/v1/clients`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name, description: 'd'.repeat(1000) }),
      });
    const { db } = server.database.handle;
    const pages = Number((await sql<{ page_count: number }>`pragma page_count`.execute(db)).rows[0]!.page_count);
    // The server's own connection may not grow the file: what a full disk looks like to SQLite.
    await sql.raw(`pragma max_page_count = ${pages}`).execute(db);

    let refused: Response | undefined;
    for (let n = 0; n < 50 && refused === undefined; n += 1) {
      const answer = await create(`filling #${n}`);
      if (answer.status !== 201) refused = answer;
    }
    expect(refused?.status).toBe(503);
    expect(await refused!.json()).toMatchObject({ code: 'unavailable', detail: expect.stringContaining('disk is full') });
    expect(driverLogs.text()).toMatch(/"level":50[^\n]*disk is full/);
    expect(`${driverLogs.text()}${server.logs.text()}`).not.toMatch(/cannot rollback/);
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: 'unavailable', reason: expect.stringContaining('disk is full') });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

    await sql.raw(`pragma max_page_count = ${pages + 10_000}`).execute(db);
    await sleep(1100);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    expect((await create('after space was freed')).status).toBe(201);
  });
});
