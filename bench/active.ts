import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type { Dialect } from '../src/server/db/database.js';
import { cleanUp, startTarget, type TargetProcess } from './children.js';
import { koiosDatabase } from './http.js';
import { activeClientId, activeClientSecret, holdsChangedRole, ROLE_AFTER, ROLE_BEFORE } from './targets/active-clients.js';

/**
 * `npm run bench -- active [--clients 100k] [--concurrency 16] [--dialect sqlite|postgres|both]`:
 * many distinct clients at once. A real server (bench/targets/koios-active.ts, its own process,
 * metrics listener on) gets N seeded clients, half of them holding a role the bench changes, half
 * Viewer. Each client gets a token and calls `GET /api/v1/me`; the server's RSS is read from
 * /proc every 100 ms throughout. Then the role's permissions lose `roles:read` through the API while
 * the server's own event-loop monitor (`nodejs_eventloop_lag_max_seconds`, reset by each scrape)
 * watches: the change, a sample of affected clients' next calls with their old tokens (each must
 * see the change), and then every affected client's next call. Targets: RSS under 400 MB, the
 * cache bounded, no event-loop pause over 50 ms around the change, the change seen on the next
 * request. Prints one table per dialect. BENCH_KOIOS_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p")
 * is passed to the server's node.
 */

const RSS_TARGET_BYTES = 400 * 1024 * 1024;
const PAUSE_TARGET_MS = 50;
/** Affected clients that call at once right after the change, each with the token it had before. */
const PROBES = 256;
const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

interface ActiveInfo extends Record<string, unknown> {
  readonly metricsUrl: string;
  /** The bench's own listener in the server's process (bench/targets/koios-active.ts): a full GC, a heap snapshot. */
  readonly controlUrl: string;
  readonly roleId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly seedSeconds: number;
}

interface Options {
  readonly clients: number;
  readonly concurrency: number;
  readonly dialects: readonly Dialect[];
}

const out = (line = '') => process.stdout.write(`${line}\n`);

function parseCount(raw: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(raw.trim());
  if (match === null) throw new Error(`${flag}: expected a count such as 100k, got ${raw}`);
  return Math.round(Number(match[1]) * ({ '': 1, k: 1e3, m: 1e6 }[match[2]!.toLowerCase() as '' | 'k' | 'm'] ?? 1));
}

function parseArgs(argv: readonly string[]): Options {
  let clients = 100_000;
  let concurrency = 16;
  let dialect = 'sqlite';
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--clients') clients = parseCount(value, flag);
    else if (flag === '--concurrency') concurrency = parseCount(value, flag);
    else if (flag === '--dialect') dialect = value;
    else throw new Error(`unknown option ${flag} (use --clients, --concurrency, --dialect)`);
  }
  if (clients < 2 * PROBES) throw new Error(`--clients must be at least ${2 * PROBES}`);
  if (!['sqlite', 'postgres', 'both'].includes(dialect)) throw new Error('--dialect must be sqlite, postgres or both');
  return { clients, concurrency, dialects: dialect === 'both' ? ['sqlite', 'postgres'] : [dialect as Dialect] };
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

interface Answer {
  readonly status: number;
  readonly text: string;
}

/** Plain node:http over keep-alive sockets: the bench process must spend as little CPU per call as it can on a shared machine. */
function createCaller(base: string, sockets: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  const url = new URL(base);
  return {
    send(method: string, path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
      return new Promise((resolve, reject) => {
        const request = http.request(
          {
            agent,
            host: url.hostname,
            port: url.port,
            method,
            path,
            headers: body === undefined ? headers : { ...headers, 'content-length': Buffer.byteLength(body) },
          },
          (response) => {
            const chunks: Buffer[] = [];
            response.on('data', (chunk: Buffer) => chunks.push(chunk));
            response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
            response.on('error', reject);
          },
        );
        request.on('error', reject);
        request.end(body);
      });
    },
    close: () => agent.destroy(),
  };
}
type Caller = ReturnType<typeof createCaller>;

function basic(id: string, secret: string): string {
  // RFC 6749 §2.3.1: each part form-encoded, then Base64.
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

async function token(caller: Caller, id: string, secret: string): Promise<string> {
  const answer = await caller.send(
    'POST',
    '/oauth/token',
    { authorization: basic(id, secret), 'content-type': 'application/x-www-form-urlencoded' },
    'grant_type=client_credentials',
  );
  check(answer.status === 200, `token for ${id}: ${answer.status} ${answer.text.slice(0, 200)}`);
  return (JSON.parse(answer.text) as { access_token: string }).access_token;
}

async function permissionsOf(caller: Caller, accessToken: string): Promise<string[]> {
  const answer = await caller.send('GET', '/api/v1/me', { authorization: `Bearer ${accessToken}` });
  check(answer.status === 200, `/me: ${answer.status} ${answer.text.slice(0, 200)}`);
  return (JSON.parse(answer.text) as { permissions: string[] }).permissions;
}

/** Runs `work(i)` for every i < count, `concurrency` at a time; the first failure stops it. */
async function pool(count: number, concurrency: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (failed === undefined && next < count) {
        const i = next++;
        try {
          await work(i);
        } catch (error) {
          failed ??= error;
        }
      }
    }),
  );
  if (failed !== undefined) throw failed;
}

/** One sample's value from the Prometheus text format (the first series whose labels contain `labels`). */
function metric(text: string, name: string, labels = ''): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (!(rest.startsWith(' ') || (rest.startsWith('{') && rest.includes(labels)))) continue;
    return Number(rest.slice(rest.lastIndexOf(' ') + 1));
  }
  throw new Error(`the server exports no ${name}${labels === '' ? '' : `{${labels}}`}`);
}

interface HeapAfterGc {
  readonly usedHeapBytes: number;
  readonly file: string | null;
}

/** A full GC in the server, then its heap in use: what is live. With a heap snapshot first when BENCH_HEAP_SNAPSHOT_DIR is set. */
async function liveHeap(controlUrl: string): Promise<HeapAfterGc> {
  const what = process.env['BENCH_HEAP_SNAPSHOT_DIR'] === undefined ? 'gc' : 'snapshot';
  const response = await fetch(`${controlUrl}/${what}`, { method: 'POST' });
  check(response.ok, `POST /${what}: ${response.status}`);
  return (await response.json()) as HeapAfterGc;
}

async function scrape(metricsUrl: string): Promise<string> {
  const response = await fetch(`${metricsUrl}/metrics`);
  check(response.ok, `GET /metrics: ${response.status}`);
  return response.text();
}

/** The server's largest event-loop delay since the previous scrape (prom-client resets its monitor on each), in ms. */
const pauseMs = (text: string) => metric(text, 'nodejs_eventloop_lag_max_seconds') * 1000;
/** The server's CPU time so far (user and system), in ms: unlike a delay, not inflated while other processes hold the cores. */
const cpuMs = (text: string) => metric(text, 'process_cpu_seconds_total') * 1000;
const lookups = (text: string) => ({
  hit: metric(text, 'koios_client_state_lookups_total', 'result="hit"'),
  miss: metric(text, 'koios_client_state_lookups_total', 'result="miss"'),
});

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const ms = (value: number) => `${value.toFixed(value < 10 ? 1 : 0)} ms`;
const seconds = (value: number) => `${(value / 1000).toFixed(1)} s`;
const verdict = (met: boolean) => (met ? 'met' : 'MISSED');

interface Row {
  readonly what: string;
  readonly value: string;
  readonly target: string;
}

async function runDialect(dialect: Dialect, options: Options, pgUrl: string | null): Promise<Row[]> {
  const seed = randomBytes(16).toString('hex');
  const target: TargetProcess<ActiveInfo> = await startTarget<ActiveInfo>(
    `koios ${dialect}`,
    'koios-active',
    {
      ...koiosDatabase(dialect, pgUrl),
      BENCH_ACTIVE_CLIENTS: String(options.clients),
      BENCH_ACTIVE_SECRET_SEED: seed,
      KOIOS_LOG_LEVEL: process.env['BENCH_KOIOS_LOG_LEVEL'] ?? 'warn',
    },
    (process.env['BENCH_KOIOS_NODE_ARGS'] ?? '').split(/\s+/).filter((arg) => arg.length > 0),
  );
  const { info } = target;
  out(
    `${dialect}: ${options.clients.toLocaleString('en')} clients seeded in ${info.seedSeconds.toFixed(1)} s; server pid ${target.pid}, RSS ${mb(target.rssBytes() ?? 0)}`,
  );

  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, target.rssBytes() ?? 0)), 100);
  const caller = createCaller(info.url, options.concurrency);
  try {
    const rssAtStart = target.rssBytes() ?? 0;
    const tokens: string[] = new Array<string>(options.clients);

    // Every client: a token, then /me with it.
    const beforeCalls = await scrape(info.metricsUrl);
    let started = performance.now();
    let done = 0;
    const progress = setInterval(() => out(`${dialect}:   ${done.toLocaleString('en')} clients called, RSS ${mb(target.rssBytes() ?? 0)}`), 15_000);
    try {
      await pool(options.clients, options.concurrency, async (n) => {
        const accessToken = await token(caller, activeClientId(n), activeClientSecret(seed, n));
        const permissions = await permissionsOf(caller, accessToken);
        const expected = holdsChangedRole(n) ? ROLE_BEFORE.join(' ') : permissions.join(' ');
        check(permissions.join(' ') === expected && permissions.includes('roles:read'), `client ${n}: /me says ${permissions.join(' ')}`);
        tokens[n] = accessToken;
        done++;
      });
    } finally {
      clearInterval(progress);
    }
    const callSeconds = (performance.now() - started) / 1000;
    const afterCalls = await scrape(info.metricsUrl);
    const pauseDuringCalls = pauseMs(afterCalls);
    const cpuOfCalls = cpuMs(afterCalls) - cpuMs(beforeCalls);
    const entries = metric(afterCalls, 'koios_client_state_entries');
    const heapUsed = metric(afterCalls, 'nodejs_heap_size_used_bytes');
    const peakDuringCalls = peak;
    const rssAfterCalls = target.rssBytes() ?? 0;
    out(`${dialect}: every client called in ${callSeconds.toFixed(1)} s (${Math.round(options.clients / callSeconds)} clients/s, a token and /me each)`);

    // The quiet loop, for comparison.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const quietPause = pauseMs(await scrape(info.metricsUrl));
    // After the quiet second, whose pause it would otherwise be; the next scrape resets the monitor.
    const live = await liveHeap(info.controlUrl);
    if (live.file !== null) out(`${dialect}: heap snapshot after every client called: ${live.file}`);

    // The role change, then affected clients' next calls with the tokens they already hold.
    const admin = await token(caller, info.clientId, info.clientSecret);
    const beforeChange = await scrape(info.metricsUrl);
    const before = lookups(beforeChange);
    started = performance.now();
    const patched = await caller.send(
      'PATCH',
      `/api/v1/roles/${info.roleId}`,
      { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      JSON.stringify({ permissions: ROLE_AFTER }),
    );
    const changeMs = performance.now() - started;
    check(patched.status === 200, `PATCH role: ${patched.status} ${patched.text.slice(0, 200)}`);
    // The change alone: its request, its transaction and every cache applying it (and a moment
    // for the monitor's next sample, which records a pause once the loop is free again).
    await new Promise((resolve) => setTimeout(resolve, 100));
    const afterPatch = await scrape(info.metricsUrl);
    const pauseOfChange = pauseMs(afterPatch);
    const cpuOfChange = cpuMs(afterPatch) - cpuMs(beforeChange);
    const affected = Array.from({ length: Math.ceil(options.clients / 2) }, (_, i) => 2 * i);
    check(affected.every(holdsChangedRole), 'the even clients hold the changed role');
    let stale = 0;
    let firstSeenMs = Infinity;
    let lastSeenMs = 0;
    await pool(PROBES, options.concurrency, async (i) => {
      const n = affected[Math.floor((i * affected.length) / PROBES)]!;
      const permissions = await permissionsOf(caller, tokens[n]!);
      const at = performance.now() - started;
      if (permissions.includes('roles:read')) stale++;
      else {
        firstSeenMs = Math.min(firstSeenMs, at);
        lastSeenMs = Math.max(lastSeenMs, at);
      }
    });
    const afterChange = await scrape(info.metricsUrl);
    const pauseOfProbes = pauseMs(afterChange);
    const cpuOfProbes = cpuMs(afterChange) - cpuMs(afterPatch);

    // Every affected client's next call (each reads its state again), then every other client's (still cached, if fresh).
    started = performance.now();
    await pool(affected.length, options.concurrency, async (i) => {
      const permissions = await permissionsOf(caller, tokens[affected[i]!]!);
      if (permissions.includes('roles:read')) stale++;
    });
    const herdMs = performance.now() - started;
    const afterHerd = await scrape(info.metricsUrl);
    const pauseDuringHerd = pauseMs(afterHerd);
    const cpuOfHerd = cpuMs(afterHerd) - cpuMs(afterChange);
    const herdLookups = lookups(afterHerd);
    const entriesAfter = metric(afterHerd, 'koios_client_state_entries');

    const rows: Row[] = [
      { what: 'clients (half hold the changed role)', value: options.clients.toLocaleString('en'), target: '' },
      {
        what: 'token + /me per client, all clients',
        value: `${seconds(callSeconds * 1000)} (${Math.round(options.clients / callSeconds)}/s, ${options.concurrency} at a time)`,
        target: '',
      },
      { what: 'server RSS: idle, seeded', value: mb(rssAtStart), target: '' },
      { what: 'server RSS: peak while every client calls', value: mb(peakDuringCalls), target: `< 400 MB: ${verdict(peakDuringCalls < RSS_TARGET_BYTES)}` },
      { what: 'server RSS: after every client called', value: mb(rssAfterCalls), target: '' },
      { what: 'server heap used after every client called', value: mb(heapUsed), target: '' },
      { what: 'server heap live after every client called (after a full GC)', value: mb(live.usedHeapBytes), target: '' },
      { what: 'client states cached after every client called', value: entries.toLocaleString('en'), target: 'bounded (KOIOS_CLIENT_STATE_CACHE_SIZE)' },
      { what: 'max event-loop pause while every client calls', value: ms(pauseDuringCalls), target: '' },
      { what: 'server CPU time while every client calls', value: seconds(cpuOfCalls), target: '' },
      { what: 'max event-loop pause, 1 s quiet', value: ms(quietPause), target: '' },
      { what: 'role change (PATCH /api/v1/roles/:id) answered in', value: ms(changeMs), target: '' },
      {
        what: 'max event-loop pause: the role change',
        value: ms(pauseOfChange),
        target: `≤ ${PAUSE_TARGET_MS} ms: ${verdict(pauseOfChange <= PAUSE_TARGET_MS)}`,
      },
      { what: 'server CPU time: the role change (and one scrape)', value: ms(cpuOfChange), target: '' },
      {
        what: `max event-loop pause: ${PROBES} affected clients' next calls, ${Math.min(PROBES, options.concurrency)} at a time`,
        value: ms(pauseOfProbes),
        target: `≤ ${PAUSE_TARGET_MS} ms: ${verdict(pauseOfProbes <= PAUSE_TARGET_MS)}`,
      },
      { what: `server CPU time: those ${PROBES} calls (and one scrape)`, value: ms(cpuOfProbes), target: '' },
      {
        what: 'change seen by an affected client, from the PATCH sent',
        value: firstSeenMs === Infinity ? 'never' : `${ms(firstSeenMs)} (all ${PROBES} probes by ${ms(lastSeenMs)})`,
        target: '',
      },
      {
        what: 'affected clients whose next call missed the change',
        value: String(stale),
        target: `0: ${verdict(stale === 0)}`,
      },
      {
        what: `every affected client's next call (${affected.length.toLocaleString('en')})`,
        value: `${seconds(herdMs)}; cache hits ${(herdLookups.hit - before.hit).toLocaleString('en')}, misses ${(herdLookups.miss - before.miss).toLocaleString('en')}`,
        target: '',
      },
      {
        what: 'max event-loop pause during those calls',
        value: ms(pauseDuringHerd),
        target: `≤ ${PAUSE_TARGET_MS} ms: ${verdict(pauseDuringHerd <= PAUSE_TARGET_MS)}`,
      },
      { what: 'server CPU time during those calls', value: seconds(cpuOfHerd), target: '' },
      { what: 'client states cached at the end', value: entriesAfter.toLocaleString('en'), target: '' },
      live.file === null
        ? { what: 'server RSS: peak overall', value: mb(peak), target: `< 400 MB: ${verdict(peak < RSS_TARGET_BYTES)}` }
        : { what: 'server RSS: peak overall', value: 'not measured: a heap snapshot was taken', target: '' },
    ];
    return rows;
  } finally {
    clearInterval(sampler);
    caller.close();
    await target.stop();
  }
}

async function postgresUrl(): Promise<string> {
  const url = process.env['KOIOS_BENCH_PG_URL'] ?? DEFAULT_PG_URL;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    return url;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function machine(): string {
  const cores = cpus();
  return `${cores.length} × ${cores[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}, ${process.platform}`;
}

export async function activeBench(argv: readonly string[]): Promise<number> {
  const options = parseArgs(argv);
  out(`machine: ${machine()}; ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`);
  const pgUrl = options.dialects.includes('postgres') ? await postgresUrl() : null;
  const failures: string[] = [];
  const tables = new Map<Dialect, Row[]>();
  try {
    for (const dialect of options.dialects) {
      try {
        tables.set(dialect, await runDialect(dialect, options, pgUrl));
      } catch (error) {
        failures.push(`${dialect}: ${(error as Error).stack ?? String(error)}`);
      }
    }
  } finally {
    failures.push(...(await cleanUp()));
  }
  for (const [dialect, rows] of tables) {
    out();
    out(`${dialect}:`);
    out('| measure | value | target |');
    out('| --- | ---: | --- |');
    for (const row of rows) out(`| ${row.what} | ${row.value} | ${row.target} |`);
  }
  const missed = [...tables].flatMap(([dialect, rows]) => rows.filter((row) => row.target.endsWith('MISSED')).map((row) => `${dialect}: ${row.what}`));
  if (missed.length > 0) out(`\nMISSED: ${missed.join('; ')}`);
  if (failures.length > 0) {
    out(`\n${failures.length} failure(s):`);
    for (const failure of failures) out(`- ${failure}`);
    return 1;
  }
  return 0;
}
