import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, load, seedClients, sleep, timeUntil, type Answer } from '../support/fault-load.js';
import { accessToken, type ClientCredentials } from '../support/oauth.js';
import { createPrivatePostgres, privatePostgresAvailable, type PrivatePostgres } from '../support/private-postgres.js';
import { startServerProcess, type ServerProcess } from '../support/processes.js';

/**
 * PostgreSQL goes away under a server with transactions open: its connections are terminated (a
 * failover), it is stopped (a restart), or it dies at once. The process lives, the requests that
 * hit the fault are answered 503 with a problem body, and the first request after the database
 * accepts connections again succeeds.
 */
describe.runIf(privatePostgresAvailable())('a server whose PostgreSQL connections are lost', () => {
  let cluster: PrivatePostgres;
  let server: ServerProcess;
  let administrator: ClientCredentials;
  let token: string;

  beforeAll(async () => {
    cluster = await createPrivatePostgres();
    const seeded = await seedClients(cluster.url);
    administrator = seeded.administrator;
    server = await startServerProcess({ env: seeded.env });
    token = await accessToken(server.url, administrator);
  }, 120_000);

  afterAll(async () => {
    await server?.stop('SIGKILL');
    await cluster?.destroy();
  });

  let created = 0;
  const createClient = () =>
    call(`${server.url}/api/v1/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: `written through a fault ${(created += 1)}` }),
    });

  /** Every answer is the write succeeding or a 503 problem the caller can retry; nothing else. */
  function expectOnlyCreatedOrUnavailable(answers: readonly Answer[]): void {
    const unexpected = answers.filter(
      (answer) =>
        answer.status !== 201 &&
        !(answer.status === 503 && answer.contentType?.startsWith('application/problem+json') === true && answer.code === 'unavailable'),
    );
    expect(unexpected, server.output()).toEqual([]);
  }

  it('keeps running when the backends of its open transactions are terminated, and the next write succeeds', async () => {
    const writers = load(8, createClient);
    await sleep(300);
    for (let round = 0; round < 3; round += 1) {
      await cluster.query("select pg_terminate_backend(pid) from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()");
      await sleep(100);
    }
    const answers = await writers.stop();

    expect(server.crashed(), server.output()).toBe(false);
    expectOnlyCreatedOrUnavailable(answers);
    expect((await createClient()).status).toBe(201);
  });

  it.each(['fast', 'immediate'] as const)(
    'answers 503 promptly while PostgreSQL is stopped (-m %s) under writers, and writes again within 2 s of its restart',
    async (mode) => {
      const writers = load(5, createClient);
      await sleep(200);
      await cluster.stop(mode);
      await sleep(1500);
      const duringOutage = await createClient();
      await cluster.start();
      const recovery = await timeUntil(201, createClient);
      const answers = await writers.stop();

      expect(server.crashed(), server.output()).toBe(false);
      expect(duringOutage.status).toBe(503);
      expect(duringOutage.answeredAt - duringOutage.sentAt).toBeLessThan(3000);
      expectOnlyCreatedOrUnavailable(answers);
      expect(recovery).not.toBeNull();
      expect(recovery!).toBeLessThan(2000);
    },
    60_000,
  );

  it('answers 503 while every PostgreSQL process is killed, and writes again within 2 s of its restart', async () => {
    const writers = load(5, createClient);
    await sleep(200);
    await cluster.killAll();
    await sleep(1000);
    const duringOutage = await createClient();
    await cluster.start();
    const recovery = await timeUntil(201, createClient);
    const answers = await writers.stop();

    expect(server.crashed(), server.output()).toBe(false);
    expect(duringOutage.status).toBe(503);
    expectOnlyCreatedOrUnavailable(answers);
    expect(recovery).not.toBeNull();
    expect(recovery!).toBeLessThan(2000);
  }, 60_000);
});
