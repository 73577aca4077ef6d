import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../src/server/actor.js';
import { createTestDatabase, createTestServices, testDialects, type TestDatabase } from '../support/databases.js';
import { freePort } from '../support/server.js';
import type { Services } from '../../src/server/services.js';
import { accessToken } from '../support/oauth.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ISSUER = 'http://koios.multi-instance.test';

interface Instance {
  readonly url: string;
  readonly process: ChildProcess;
  readonly output: string[];
}

async function startInstance(database: TestDatabase): Promise<Instance> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...database.env, HOST: '127.0.0.1', PORT: String(port), KOIOS_ISSUER: ISSUER, KOIOS_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 200; attempt += 1) {
    if (child.exitCode !== null) throw new Error(`instance exited: ${output.join('')}`);
    const ready = await fetch(`${url}/readyz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) return { url, process: child, output };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`instance did not become ready: ${output.join('')}`);
}

async function stopInstance(instance: Instance): Promise<void> {
  if (instance.process.exitCode !== null) return;
  const exited = new Promise((resolve) => instance.process.once('exit', resolve));
  instance.process.kill('SIGTERM');
  await exited;
}

const token = (instance: Instance, clientId: string, secret: string) => accessToken(instance, { id: clientId, secret });

const me = (instance: Instance, accessToken: string) =>
  fetch(`${instance.url}/api/v1/me`, { headers: { authorization: `Bearer ${accessToken}` } }).then((r) => r.status);

/** Polls until `status` answers `expected`: every instance has one second to agree. */
async function statusWithinOneSecond(read: () => Promise<number>, expected: number): Promise<number> {
  const deadline = Date.now() + 1000;
  let status = await read();
  while (status !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    status = await read();
  }
  return status;
}

const postgresOnly = testDialects().filter((dialect) => dialect === 'postgres');

describe.each(postgresOnly)('two server processes on one %s database', (dialect) => {
  let database: TestDatabase;
  let services: Services;
  let first: Instance;
  let second: Instance;
  let admin: { id: string; secret: string };

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    services = await createTestServices(database);
    const roles = await services.roles.list(SYSTEM_ACTOR);
    const created = await services.clients.create(SYSTEM_ACTOR, { name: 'operator', roleId: roles.find((role) => role.name === 'Administrator')!.id });
    admin = { id: created.client.id, secret: created.clientSecret };
    [first, second] = await Promise.all([startInstance(database), startInstance(database)]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([first, second].filter(Boolean).map(stopInstance));
    await services.stop();
    await database.drop();
  });

  it('refuses on the second instance, within one second, a client disabled on the first; re-enabling restores it', async () => {
    const { client, clientSecret } = await services.clients.create(SYSTEM_ACTOR, { name: 'shared target' });
    const targetToken = await token(first, client.id, clientSecret);
    expect(await me(second, targetToken)).toBe(200);

    const adminToken = await token(first, admin.id, admin.secret);
    const patch = (instance: Instance, body: unknown) =>
      fetch(`${instance.url}/api/v1/clients/${client.id}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await patch(first, { enabled: false })).status).toBe(200);
    expect(await me(first, targetToken)).toBe(401);
    expect(await statusWithinOneSecond(() => me(second, targetToken), 401)).toBe(401);

    expect((await patch(first, { enabled: true })).status).toBe(200);
    expect(await statusWithinOneSecond(() => me(second, targetToken), 200)).toBe(200);
  });

  it('refuses on the first instance the old token of a secret regenerated on the second', async () => {
    const { client, clientSecret } = await services.clients.create(SYSTEM_ACTOR, { name: 'rotated elsewhere' });
    const oldToken = await token(first, client.id, clientSecret);
    expect(await me(first, oldToken)).toBe(200);

    const adminToken = await token(second, admin.id, admin.secret);
    const regenerated = await fetch(`${second.url}/api/v1/clients/${client.id}/secret`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}` } });
    expect(regenerated.status).toBe(200);
    const { clientSecret: newSecret } = (await regenerated.json()) as { clientSecret: string };

    expect(await statusWithinOneSecond(() => me(first, oldToken), 401)).toBe(401);
    const oldSecretOnFirst = await fetch(`${first.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.id, client_secret: clientSecret }),
    });
    expect(oldSecretOnFirst.status).toBe(401);
    expect(await me(first, await token(first, client.id, newSecret))).toBe(200);
  });

  it('applies on the other instance a role change made on one', async () => {
    const roles = await services.roles.list(SYSTEM_ACTOR);
    const viewer = roles.find((role) => role.name === 'Viewer')!;
    const { client, clientSecret } = await services.clients.create(SYSTEM_ACTOR, { name: 'promoted', roleId: viewer.id });
    const targetToken = await token(first, client.id, clientSecret);
    const permissions = async (instance: Instance) =>
      ((await (await fetch(`${instance.url}/api/v1/me`, { headers: { authorization: `Bearer ${targetToken}` } })).json()) as { permissions: string[] })
        .permissions;
    expect(await permissions(second)).toEqual(viewer.permissions);

    const adminToken = await token(first, admin.id, admin.secret);
    const response = await fetch(`${first.url}/api/v1/clients/${client.id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ roleId: null }),
    });
    expect(response.status).toBe(200);
    const deadline = Date.now() + 1000;
    let seen = await permissions(second);
    while (seen.length > 0 && Date.now() < deadline) seen = await permissions(second);
    expect(seen).toEqual([]);
  });
});

if (postgresOnly.length === 0) {
  // Reason: without PostgreSQL there is no second instance to agree with; global setup has already
  // warned loudly, and under CI=true the run fails before reaching this.
  describe('two server processes on one PostgreSQL database', () => {
    it.skip('needs PostgreSQL (see the warning at the start of the run)', () => undefined);
  });
}
