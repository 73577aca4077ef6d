import { randomBytes } from 'node:crypto';
import pg from 'pg';
import {
  call,
  countByStatus,
  createClientThrough,
  load,
  me,
  seedClients,
  setEnabledThrough,
  sleep,
  timeUntil,
  type Answer,
} from '../../test/support/fault-load.js';
import { accessToken, type ClientCredentials } from '../../test/support/oauth.js';
import { createPrivatePostgres, listenerBackend, type PrivatePostgres } from '../../test/support/private-postgres.js';
import { startServerProcess, type ServerProcess } from '../../test/support/processes.js';
import type { ChaosResult, ChaosScenario } from './scenario.js';

/**
 * PostgreSQL under the server: connections terminated, the database stopped, killed, frozen; one
 * instance's LISTEN connection frozen or killed while a client is disabled on another; instances
 * starting together on an empty database. Each scenario makes a private cluster of its own
 * (initdb in a temporary folder, its own port), so the shared server is never touched.
 */

const ISSUER = 'http://koios.chaos.test';

interface Fleet {
  readonly cluster: PrivatePostgres;
  readonly instances: ServerProcess[];
  readonly adminToken: string;
  /** A token of a client disabled before the fault: every 200 for it is counted. */
  readonly disabledToken: string;
  readonly administrator: ClientCredentials;
}

async function startFleet(instances: number): Promise<Fleet> {
  const cluster = await createPrivatePostgres();
  const seeded = await seedClients(cluster.url);
  const env = { ...seeded.env, KOIOS_ISSUER: ISSUER };
  const started = await Promise.all(Array.from({ length: instances }, () => startServerProcess({ env })));
  const adminToken = await accessToken(started[0]!.url, seeded.administrator);
  const disabledToken = await accessToken(started[0]!.url, seeded.plain);
  await setEnabledThrough(started[0]!.url, adminToken, seeded.plain.id, false);
  return { cluster, instances: started, adminToken, disabledToken, administrator: seeded.administrator };
}

async function finish(fleet: Fleet, result: Omit<ChaosResult, 'crashes'>): Promise<ChaosResult> {
  const crashes = fleet.instances.filter((instance) => instance.crashed()).length;
  for (const instance of fleet.instances) if (instance.crashed()) process.stdout.write(`  crashed:\n${instance.output()}\n`);
  await Promise.all(fleet.instances.map((instance) => instance.stop('SIGKILL')));
  await fleet.cluster.destroy();
  return { ...result, crashes };
}

let written = 0;
const createClient = (fleet: Fleet, instance: ServerProcess) =>
  call(`${instance.url}/api/v1/clients`, {
    method: 'POST',
    headers: { authorization: `Bearer ${fleet.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: `chaos writer ${(written += 1)}` }),
  });

/** 200s for a token whose client was disabled before `since` (every answer when `since` is 0). */
const acceptedSince = (answers: readonly Answer[], since = 0) => answers.filter((answer) => answer.sentAt >= since && answer.status === 200).length;
const slowest = (answers: readonly Answer[]) => Math.round(Math.max(0, ...answers.map((answer) => answer.answeredAt - answer.sentAt)));

/** Writers on every instance and probes with the disabled client's token, through `fault`. */
async function writersThrough(
  name: string,
  writersPerInstance: number,
  fault: (fleet: Fleet) => Promise<void>,
  note: (slowestMs: number) => string,
): Promise<ChaosResult> {
  const fleet = await startFleet(2);
  const writers = fleet.instances.map((instance) => load(writersPerInstance, () => createClient(fleet, instance)));
  const probes = fleet.instances.map((instance) => load(1, () => me(instance.url, fleet.disabledToken)));
  await sleep(500);
  await fault(fleet);
  const recovery = await timeUntil(201, () => createClient(fleet, fleet.instances[0]!));
  await sleep(500);
  const writes = (await Promise.all(writers.map((writer) => writer.stop()))).flat();
  const probed = (await Promise.all(probes.map((probe) => probe.stop()))).flat();
  const answers = [...writes, ...probed];
  return finish(fleet, {
    scenario: name,
    requests: answers.length,
    byStatus: countByStatus(answers),
    disabledAccepted: acceptedSince(probed),
    recoveryMs: recovery,
    note: note(slowest(writes)),
  });
}

const terminated: ChaosScenario = {
  name: 'postgres: pg_terminate_backend ×3 under 8 writers per instance',
  dialect: 'postgres',
  run: () =>
    writersThrough(
      'postgres: pg_terminate_backend ×3, 8 writers ×2 instances',
      8,
      async (fleet) => {
        for (let round = 0; round < 3; round += 1) {
          await fleet.cluster.query("select pg_terminate_backend(pid) from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()");
          await sleep(200);
        }
      },
      (slowestMs) =>
        `every connection of both instances terminated three times, 200 ms apart (a failover); recovery from the last; slowest write ${slowestMs} ms`,
    ),
};

const restarted: ChaosScenario = {
  name: 'postgres: pg_ctl stop -m fast, 2 s down, start',
  dialect: 'postgres',
  run: () =>
    writersThrough(
      'postgres: stop -m fast, 2 s down, 5 writers ×2 instances',
      5,
      async (fleet) => {
        await fleet.cluster.stop('fast');
        await sleep(2000);
        await fleet.cluster.start();
      },
      (slowestMs) => `a restart: recovery from the moment PostgreSQL accepts connections again; slowest answer ${slowestMs} ms`,
    ),
};

const killed: ChaosScenario = {
  name: 'postgres: kill -9 of every PostgreSQL process, 2 s down, start',
  dialect: 'postgres',
  run: () =>
    writersThrough(
      'postgres: kill -9 all, 2 s down, 5 writers ×2 instances',
      5,
      async (fleet) => {
        await fleet.cluster.killAll();
        await sleep(2000);
        await fleet.cluster.start();
      },
      (slowestMs) =>
        `postmaster and backends killed (crash recovery at start); recovery from the moment it accepts connections; slowest answer ${slowestMs} ms`,
    ),
};

const FREEZE_MS = 20_000;

const frozen: ChaosScenario = {
  name: 'postgres: every process frozen (SIGSTOP) 20 s',
  dialect: 'postgres',
  async run() {
    const fleet = await startFleet(1);
    const server = fleet.instances[0]!;
    const target = await createClientThrough(server.url, fleet.adminToken, 'chaos frozen target');
    const targetToken = await accessToken(server.url, target);
    const list = () => call(`${server.url}/api/v1/clients`, { headers: { authorization: `Bearer ${fleet.adminToken}` } });
    const token = () =>
      call(`${server.url}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: target.id, client_secret: target.secret }),
      });
    const callers = [load(2, list), load(2, () => me(server.url, targetToken)), load(1, token)];
    const probe = load(1, () => me(server.url, fleet.disabledToken));
    await sleep(500);
    const frozenAt = performance.now();
    fleet.cluster.freeze();
    await sleep(FREEZE_MS);
    fleet.cluster.thaw();
    const recovery = await timeUntil(200, list);
    await sleep(500);
    const answers = (await Promise.all(callers.map((caller) => caller.stop()))).flat();
    const probed = await probe.stop();
    const during = answers.filter((answer) => answer.sentAt >= frozenAt && answer.sentAt < frozenAt + FREEZE_MS);
    const cached = during.filter((answer) => answer.status === 200 && answer.sentAt < frozenAt + 1000).length;
    return finish(fleet, {
      scenario: 'postgres: all processes frozen 20 s; list, /me, token',
      requests: answers.length + probed.length,
      byStatus: countByStatus([...answers, ...probed]),
      disabledAccepted: acceptedSince(probed),
      recoveryMs: recovery,
      note: `slowest answer while frozen ${slowest(during)} ms (ceiling 3,000); ${cached} answered 200 from the cache in the first second, while the listener was still trusted; recovery from the thaw`,
    });
  },
};

/** Two instances; B's /me is hammered with a target's token while `fault` disables the target on A. */
async function disabledElsewhere(
  name: string,
  fault: (fleet: Fleet, listenerPid: number, disable: () => Promise<number>) => Promise<{ countFrom: number }>,
  note: string,
): Promise<ChaosResult> {
  const fleet = await startFleet(2);
  const [first, second] = fleet.instances as [ServerProcess, ServerProcess];
  const target = await createClientThrough(first.url, fleet.adminToken, 'chaos target');
  const targetToken = await accessToken(first.url, target);
  await timeUntil(200, () => me(second.url, targetToken));
  const listenerPid = await listenerBackend(fleet.cluster, second.child.pid!);
  const callers = load(4, () => me(second.url, targetToken));
  const probe = load(1, () => me(second.url, fleet.disabledToken));
  await sleep(300);
  const disable = async () => {
    await setEnabledThrough(first.url, fleet.adminToken, target.id, false);
    return performance.now();
  };
  const { countFrom } = await fault(fleet, listenerPid, disable);
  const refused = await timeUntil(401, () => me(second.url, targetToken));
  const answers = await callers.stop();
  const probed = await probe.stop();
  return finish(fleet, {
    scenario: name,
    requests: answers.length + probed.length,
    byStatus: countByStatus([...answers, ...probed]),
    disabledAccepted: acceptedSince(answers, countFrom) + acceptedSince(probed),
    recoveryMs: refused,
    note,
  });
}

const listenerFrozen: ChaosScenario = {
  name: "postgres: B's LISTEN backend frozen, client disabled on A",
  dialect: 'postgres',
  run: () =>
    disabledElsewhere(
      "postgres: B's LISTEN backend frozen 5 s, client disabled on A",
      async (_fleet, listenerPid, disable) => {
        process.kill(listenerPid, 'SIGSTOP');
        const frozenAt = performance.now();
        try {
          const disabledAt = await disable();
          await sleep(5000);
          // B may trust its silent listener for up to a second after it went quiet, no longer.
          return { countFrom: Math.max(disabledAt, frozenAt + 1000) };
        } finally {
          process.kill(listenerPid, 'SIGCONT');
        }
      },
      "200s counted for B's requests sent after the disable and at least 1 s after the freeze (B may trust a listener that went quiet for that second); recovery: until B answers 401 after the thaw",
    ),
};

const listenerKilled: ChaosScenario = {
  name: "postgres: B's listener killed, client disabled on A, PostgreSQL stopped",
  dialect: 'postgres',
  run: () =>
    disabledElsewhere(
      "postgres: B's listener killed, disabled on A, PostgreSQL stopped 3 s",
      async (fleet, listenerPid, disable) => {
        await fleet.cluster.query('select pg_terminate_backend($1)', [listenerPid]);
        const disabledAt = await disable();
        await fleet.cluster.stop('fast');
        await sleep(3000);
        await fleet.cluster.start();
        return { countFrom: disabledAt };
      },
      "200s counted for B's requests sent after the disable; recovery: from PostgreSQL accepting connections to B's first 401",
    ),
};

const STARTUP_TRIALS = 5;

const startingTogether: ChaosScenario = {
  name: 'postgres: 3 instances start together on an empty database',
  dialect: 'postgres',
  async run() {
    const cluster = await createPrivatePostgres();
    let crashes = 0;
    let requests = 0;
    const keyCounts: number[] = [];
    const byStatus: Record<string, number> = {};
    try {
      for (let trial = 0; trial < STARTUP_TRIALS; trial += 1) {
        const name = `empty_${trial}`;
        await cluster.query(`create database ${name}`);
        const url = cluster.url.replace(/\/postgres$/, `/${name}`);
        const env = { KOIOS_DATABASE_URL: url, KOIOS_MASTER_KEY: randomBytes(32).toString('base64'), KOIOS_ISSUER: ISSUER };
        const instances = await Promise.all(Array.from({ length: 3 }, () => startServerProcess({ env })));
        const jwks = await Promise.all(instances.map((instance) => call(`${instance.url}/.well-known/jwks.json`)));
        for (const answer of jwks) byStatus[String(answer.status)] = (byStatus[String(answer.status)] ?? 0) + 1;
        requests += jwks.length;
        const published = await Promise.all(instances.map((instance) => fetch(`${instance.url}/.well-known/jwks.json`).then((response) => response.text())));
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          const rows = (await client.query<{ count: string }>('select count(*) as count from signing_keys where retired_at is null')).rows;
          keyCounts.push(Number(rows[0]?.count ?? 0));
        } finally {
          await client.end();
        }
        if (new Set(published).size !== 1) keyCounts.push(-1);
        crashes += instances.filter((instance) => instance.crashed()).length;
        await Promise.all(instances.map((instance) => instance.stop('SIGKILL')));
      }
    } finally {
      await cluster.destroy();
    }
    if (keyCounts.some((count) => count !== 1))
      throw new Error(`active signing keys per trial: ${keyCounts.join(', ')} (-1: instances published different JWKS)`);
    return {
      scenario: `postgres: 3 instances start together on an empty database ×${STARTUP_TRIALS}`,
      requests,
      byStatus,
      disabledAccepted: 0,
      recoveryMs: null,
      crashes,
      note: `active signing keys per trial: ${keyCounts.join(', ')}; every instance published the same JWKS`,
    };
  },
};

export const scenarios: readonly ChaosScenario[] = [terminated, restarted, killed, frozen, listenerFrozen, listenerKilled, startingTogether];
