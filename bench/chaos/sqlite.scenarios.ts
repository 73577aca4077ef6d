import SqliteDatabase from 'better-sqlite3';
import { call, sleep, timeUntil, type Answer } from '../../test/support/fault-load.js';
import { accessToken } from '../../test/support/oauth.js';
import type { ServerProcess } from '../../test/support/processes.js';
import type { ChaosResult, ChaosScenario } from './scenario.js';
import { acceptedDisabled, disableAfterToken, koios, probeDisabled, startOnSqliteFile, tally, type CliRun, type SqliteFile } from './sqlite-support.js';

/**
 * SQLite with other writers: the server under concurrent writes while the CLI writes to the same
 * file, another process holding the write lock past the busy timeout, and a full disk.
 */

interface Running {
  readonly file: SqliteFile;
  readonly server: ServerProcess;
  readonly adminToken: string;
  readonly disabledToken: string;
}

async function start(env: Record<string, string> = {}, entry?: string): Promise<Running> {
  const { file, server } = await startOnSqliteFile({ env, ...(entry === undefined ? {} : { entry }) });
  const adminToken = await accessToken(server.url, file.administrator);
  const disabledToken = await disableAfterToken(server, file, adminToken);
  return { file, server, adminToken, disabledToken };
}

/** Loops of `request` until stopped; each loop records its answers. */
function loop(count: number, request: () => Promise<Answer | Answer[]>) {
  const answers: Answer[] = [];
  let running = true;
  const loops = Array.from({ length: count }, async () => {
    while (running) answers.push(...[await request()].flat());
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

const createClient = (running: Running, name: string) =>
  call(`${running.server.url}/api/v1/clients`, {
    method: 'POST',
    headers: { authorization: `Bearer ${running.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name, description: 'written by npm run chaos' }),
  });
const bearer = (running: Running, path: string) => call(`${running.server.url}${path}`, { headers: { authorization: `Bearer ${running.adminToken}` } });
const errorLines = (server: ServerProcess) =>
  server
    .output()
    .split('\n')
    .filter((line) => line.includes('"level":50')).length;
const median = (values: readonly number[]) => Math.round([...values].sort((x, y) => x - y)[Math.floor(values.length / 2)] ?? 0);
const slowest = (answers: readonly Answer[]) => Math.round(Math.max(0, ...answers.map((answer) => answer.answeredAt - answer.sentAt)));

async function finish(running: Running, result: Omit<ChaosResult, 'crashes'>): Promise<ChaosResult> {
  const crashes = running.server.crashed() ? 1 : 0;
  await running.server.stop();
  running.file.remove();
  return { ...result, crashes };
}

const writersAndCli: ChaosScenario = {
  name: 'sqlite: 5 writers + koios clients create ×10',
  dialect: 'sqlite',
  async run() {
    const running = await start();
    let n = 0;
    const writers = loop(5, () => createClient(running, `writer ${(n += 1)}`));
    const probes = loop(1, () => probeDisabled(running.server, running.file, running.disabledToken));
    const cli: CliRun[] = [];
    for (let run = 0; run < 10; run += 1) cli.push(await koios(running.file.env, ['clients', 'create', '--name', `from the CLI #${run}`]));
    const answers = [...(await writers.stop()), ...(await probes.stop())];
    const failed = cli.filter((run) => run.code !== 0);
    return finish(running, {
      scenario: this.name,
      requests: answers.length + cli.length,
      byStatus: tally(answers, cli),
      disabledAccepted: acceptedDisabled(probes.answers),
      recoveryMs: null,
      note:
        `CLI runs ${cli.length - failed.length}/${cli.length} ok (median ${median(cli.map((run) => run.ms))} ms, slowest ${Math.round(Math.max(...cli.map((run) => run.ms)))} ms` +
        `${failed.length > 0 ? `; failures: ${[...new Set(failed.map((run) => run.stderr))].join(' | ')}` : ''}); ` +
        `slowest REST write ${slowest(writers.answers)} ms; server error lines: ${errorLines(running.server)}`,
    });
  },
};

const lockHeldElsewhere: ChaosScenario = {
  name: 'sqlite: another process holds the write lock 8 s',
  dialect: 'sqlite',
  async run() {
    const running = await start();
    const holder = new SqliteDatabase(running.file.path);
    holder.prepare('begin immediate').run();
    let n = 0;
    const health = loop(1, () => call(`${running.server.url}/healthz`));
    const reads = loop(1, () => bearer(running, '/api/v1/clients?limit=20'));
    const me = loop(1, () => bearer(running, '/api/v1/me'));
    const writes = loop(2, () => createClient(running, `during the lock ${(n += 1)}`));
    const probes = loop(1, () => probeDisabled(running.server, running.file, running.disabledToken));
    await sleep(8000);
    holder.prepare('commit').run();
    holder.close();
    const recoveryMs = await timeUntil(201, () => createClient(running, 'after the lock'));
    const during = { health: slowest(health.answers), reads: slowest(reads.answers), me: slowest(me.answers) };
    const answers = [...(await health.stop()), ...(await reads.stop()), ...(await me.stop()), ...(await writes.stop()), ...(await probes.stop())];
    return finish(running, {
      scenario: this.name,
      requests: answers.length,
      byStatus: tally(answers),
      disabledAccepted: acceptedDisabled(probes.answers),
      recoveryMs,
      note:
        `slowest answer while locked: /healthz ${during.health} ms, GET /api/v1/clients ${during.reads} ms, /me ${during.me} ms; ` +
        `writes waited up to the 5 s busy timeout (slowest ${slowest(writes.answers)} ms), then 503; recovery = first 201 after the release`,
    });
  },
};

const fullDisk: ChaosScenario = {
  name: 'sqlite: disk full for 5 s',
  dialect: 'sqlite',
  async run() {
    const running = await start({}, 'bench/chaos/full-disk-server.ts');
    let n = 0;
    const writes = loop(2, () => createClient(running, `on a full disk ${(n += 1)}`));
    const reads = loop(1, () => bearer(running, '/api/v1/clients?limit=20'));
    const probes = loop(1, () => probeDisabled(running.server, running.file, running.disabledToken));
    await sleep(1000);
    running.server.child.kill('SIGUSR2');
    await sleep(2500);
    const ready = await fetch(`${running.server.url}/readyz`);
    const readyBody = (await ready.json()) as { reason?: string };
    await sleep(2500);
    running.server.child.kill('SIGUSR2');
    const recoveryMs = await timeUntil(201, () => createClient(running, 'after space was freed'));
    const answers = [...(await writes.stop()), ...(await reads.stop()), ...(await probes.stop())];
    const output = running.server.output();
    return finish(running, {
      scenario: this.name,
      requests: answers.length,
      byStatus: tally(answers),
      disabledAccepted: acceptedDisabled(probes.answers),
      recoveryMs,
      note:
        `/readyz while full: ${ready.status} "${readyBody.reason ?? ''}"; log lines saying the disk is full: ${output.split('disk is full').length - 1}; ` +
        `"cannot rollback": ${output.split('cannot rollback').length - 1}; recovery = first 201 after space was freed`,
    });
  },
};

export const scenarios: readonly ChaosScenario[] = [writersAndCli, lockHeldElsewhere, fullDisk];
