import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClientThrough, load, me, seedClients, setEnabledThrough, sleep, timeUntil, type Answer } from '../support/fault-load.js';
import { accessToken, type ClientCredentials } from '../support/oauth.js';
import { createPrivatePostgres, listenerBackend, privatePostgresAvailable, type PrivatePostgres } from '../support/private-postgres.js';
import { startServerProcess, type ServerProcess } from '../support/processes.js';

/**
 * Instance B learns of changes made on A through its LISTEN connection. When that connection
 * stalls or dies, B must not keep trusting what it cached: a client disabled on A is refused on B
 * (within a second of the listener going quiet), and never accepted while B cannot check it.
 */
describe.runIf(privatePostgresAvailable())('a change listener that stalls or dies', () => {
  let cluster: PrivatePostgres;
  let first: ServerProcess;
  let second: ServerProcess;
  let administratorToken: string;

  beforeAll(async () => {
    cluster = await createPrivatePostgres();
    const { administrator, env: seededEnv } = await seedClients(cluster.url);
    // One issuer: a token from either instance is good on both, as behind a load balancer.
    const env = { ...seededEnv, KOIOS_ISSUER: 'http://koios.listener.test' };
    [first, second] = await Promise.all([startServerProcess({ env }), startServerProcess({ env })]);
    administratorToken = await accessToken(first.url, administrator);
  }, 120_000);

  afterAll(async () => {
    cluster?.thaw();
    await Promise.all([first?.stop('SIGKILL'), second?.stop('SIGKILL')]);
    await cluster?.destroy();
  });

  async function targetOnSecond(name: string): Promise<{ target: ClientCredentials; token: string }> {
    const target = await createClientThrough(first.url, administratorToken, name);
    const token = await accessToken(first.url, target);
    expect((await me(second.url, token)).status).toBe(200);
    return { target, token };
  }

  const acceptedAfter = (answers: readonly Answer[], since: number) => answers.filter((answer) => answer.sentAt >= since && answer.status === 200);

  it('refuses on B a client disabled on A once B has not heard its own heartbeat for a second', async () => {
    const { target, token } = await targetOnSecond('disabled while B listens to nothing');
    const backend = await listenerBackend(cluster, second.child.pid!);
    const callers = load(4, () => me(second.url, token));
    const frozenAt = performance.now();
    process.kill(backend, 'SIGSTOP');
    let answers: Answer[];
    let disabledAt: number;
    try {
      await setEnabledThrough(first.url, administratorToken, target.id, false);
      disabledAt = performance.now();
      await sleep(2000);
    } finally {
      answers = await callers.stop();
      process.kill(backend, 'SIGCONT');
    }

    expect(acceptedAfter(answers, Math.max(disabledAt, frozenAt + 1000))).toEqual([]);
    expect(answers.filter((answer) => answer.sentAt >= frozenAt + 1000).every((answer) => answer.status === 401)).toBe(true);
    expect(first.crashed() || second.crashed()).toBe(false);

    // Thawed, B hears A again: re-enabling is seen there as well.
    await setEnabledThrough(first.url, administratorToken, target.id, true);
    expect(await timeUntil(200, () => me(second.url, token), 5000)).not.toBeNull();
  }, 60_000);

  it('never accepts on B a client disabled on A after B lost its listener, even with PostgreSQL then stopped', async () => {
    const { target, token } = await targetOnSecond('disabled while B is deaf');
    const backend = await listenerBackend(cluster, second.child.pid!);
    const callers = load(4, () => me(second.url, token));
    await sleep(100);
    await cluster.query('select pg_terminate_backend($1)', [backend]);
    await setEnabledThrough(first.url, administratorToken, target.id, false);
    const disabledAt = performance.now();
    await cluster.stop('fast');
    await sleep(1500);
    await cluster.start();
    const recovery = await timeUntil(401, () => me(second.url, token), 10_000);
    const answers = await callers.stop();

    expect(acceptedAfter(answers, disabledAt)).toEqual([]);
    expect(answers.filter((answer) => answer.sentAt >= disabledAt).every((answer) => answer.status === 401 || answer.status === 503)).toBe(true);
    expect(first.crashed() || second.crashed()).toBe(false);
    expect(recovery).not.toBeNull();
    expect(recovery!).toBeLessThan(2000);
  }, 60_000);
});
