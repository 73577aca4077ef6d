import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../src/server/actor.js';
import { createTestDatabase, createTestServices, testDialects, type TestDatabase } from '../support/databases.js';
import { freePort } from '../support/server.js';
import type { Services } from '../../src/server/services.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** SECURITY 32: SIGTERM stops accepting, finishes what is in flight, flushes last-used times, exits 0. */
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

  it('writes the pending last-used time of a client before exiting 0 on SIGTERM', async () => {
    const { client, clientSecret } = await services.clients.create(SYSTEM_ACTOR, { name: 'used just before shutdown' });
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, ...database.env, HOST: '127.0.0.1', PORT: String(port), KOIOS_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const url = `http://127.0.0.1:${port}`;
    for (let attempt = 0; attempt < 200; attempt += 1) {
      if (
        await fetch(`${url}/readyz`).then(
          (r) => r.ok,
          () => false,
        )
      )
        break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const response = await fetch(`${url}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.id, client_secret: clientSecret }),
    });
    expect(response.status).toBe(200);

    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);

    // Written by the server at shutdown, long before its 5-second flush interval.
    const row = await database.handle.db.selectFrom('api_clients').select('last_used_at').where('id', '=', client.id).executeTakeFirstOrThrow();
    expect(row.last_used_at, output.join('')).not.toBeNull();
  });
});
