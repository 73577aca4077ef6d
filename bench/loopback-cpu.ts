import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import pg from 'pg';

/**
 * `npx tsx bench/loopback-cpu.ts <checkout> [<checkout>…]`: the CPU the server process spends per
 * request over real loopback, for the token, `/me` and GraphQL `{ me { id } }` paths of each
 * checkout's compiled server (its dist/server: run `npm run build:server` there first) and for the
 * bare twins of this checkout's bench/targets/fastify.ts; with `page` in AB_PATHS, also a first
 * page of 50 clients beside bench/targets/fastify-page.ts reading the first server's database. Each
 * server is a process of its own on SQLite (AB_DIALECT=postgres: a schema of its own at AB_PG_URL)
 * with 1,000 clients; the load comes from this process (autocannon, keep-alive). A sample
 * is the CPU time of the server's threads (the event loop and libuv's pool, from
 * /proc/<pid>/task/<tid>/schedstat, in nanoseconds) over a batch of AB_CALLS requests, divided by
 * the batch; the servers take turns batch by batch, in another order each round, so the machine's
 * load falls on all alike. CPU time, not wall time: waiting for a core is not the server's cost.
 *
 * `--headers` prints each path's answer headers instead, to compare them with the twins'.
 *
 * Settings: AB_ROUNDS (15), AB_CALLS (4000), AB_CONNECTIONS (50, as `npm run bench`), AB_PATHS
 * (`token,me,graphql`; `page` too on request), AB_THREADS=1 (each server's CPU split by thread name too: the event loop,
 * libuv's pool and V8's helpers), AB_NODE_ARGS (for every server, e.g. "--cpu-prof
 * --cpu-prof-dir=/tmp/prof", read with bench/cpuprofile-top.ts).
 */
const ROUNDS = Number(process.env['AB_ROUNDS'] ?? 15);
const CALLS = Number(process.env['AB_CALLS'] ?? 4000);
const CONNECTIONS = Number(process.env['AB_CONNECTIONS'] ?? 50);
const PATHS = (process.env['AB_PATHS'] ?? 'token,me,graphql').split(',');
const NODE_ARGS = (process.env['AB_NODE_ARGS'] ?? '').split(' ').filter((argument) => argument !== '');
const HERE = resolve(import.meta.dirname, '..');

interface Server {
  readonly label: string;
  readonly pid: number;
  readonly info: Record<string, string>;
  readonly child: ChildProcess;
}

interface Request {
  readonly url: string;
  readonly method: 'GET' | 'POST';
  readonly headers: Record<string, string>;
  readonly body?: string;
}

const servers: Server[] = [];
const directories: string[] = [];

function start(label: string, root: string, script: string, env: Record<string, string> = {}): Promise<Server> {
  const child = spawn(process.execPath, [...NODE_ARGS, '--import', 'tsx', join(root, 'bench', 'targets', `${script}.ts`)], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  return new Promise((done, failed) => {
    child.once('exit', (code) => failed(new Error(`${label} exited (${code}) before it was ready`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.startsWith('BENCH_READY ')) return;
      const server = { label, pid: child.pid!, info: JSON.parse(line.slice('BENCH_READY '.length)) as Record<string, string>, child };
      servers.push(server);
      done(server);
    });
  });
}

const DIALECT = process.env['AB_DIALECT'] ?? 'sqlite';
const PG_URL = process.env['AB_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const schemas: string[] = [];
/** Each Koios server's database settings, which the bare first-page twin reads too. */
const databaseOf = new Map<Server, Record<string, string>>();

async function startKoios(label: string, root: string): Promise<Server> {
  let database: Record<string, string>;
  if (DIALECT === 'postgres') {
    const schema = `loopback_${randomBytes(6).toString('hex')}`;
    schemas.push(schema);
    database = { BENCH_KOIOS_DIALECT: 'postgres', BENCH_KOIOS_PG_URL: PG_URL, BENCH_KOIOS_PG_SCHEMA: schema };
  } else {
    const directory = mkdtempSync(join(tmpdir(), 'koios-loopback-'));
    directories.push(directory);
    database = { BENCH_KOIOS_DIALECT: 'sqlite', BENCH_KOIOS_SQLITE_PATH: join(directory, 'koios.db') };
  }
  const server = await start(label, root, 'koios', { ...database, BENCH_KOIOS_CLIENTS: '1000' });
  databaseOf.set(server, database);
  return server;
}

/** Nanoseconds on a CPU of every thread of the process so far, by thread name (the event loop is the process's own name). */
function cpuByThread(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  for (const thread of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = thread === String(pid) ? 'event loop' : readFileSync(`/proc/${pid}/task/${thread}/comm`, 'utf8').trim();
      const nanoseconds = Number(readFileSync(`/proc/${pid}/task/${thread}/schedstat`, 'utf8').split(' ')[0]);
      byName.set(name, (byName.get(name) ?? 0) + nanoseconds);
    } catch {
      // A thread that ended between the listing and the read.
    }
  }
  return byName;
}

const THREADS = process.env['AB_THREADS'] === '1';
const threadShares = new Map<string, Map<string, number>>();

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
const FORM = 'application/x-www-form-urlencoded';

async function send(request: Request): Promise<{ status: number; headers: Headers; text: string }> {
  const response = await fetch(request.url, {
    method: request.method,
    headers: request.headers,
    ...(request.body === undefined ? {} : { body: request.body }),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** A sample: server CPU µs a request over `calls` requests. */
async function measure(server: Server, request: Request, calls: number): Promise<number> {
  const before = cpuByThread(server.pid);
  const result = await autocannon({ ...request, connections: CONNECTIONS, pipelining: 1, amount: calls, timeout: 10 });
  const after = cpuByThread(server.pid);
  let used = 0;
  const key = `${server.label}: ${request.method} ${new URL(request.url).pathname}`;
  const shares = threadShares.get(key) ?? new Map<string, number>();
  threadShares.set(key, shares);
  for (const [name, nanoseconds] of after) {
    const spent = nanoseconds - (before.get(name) ?? 0);
    used += spent;
    shares.set(name, (shares.get(name) ?? 0) + spent / 1000 / calls);
  }
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${server.label} ${request.url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return used / 1000 / calls;
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const quartiles = (values: readonly number[], digits = 1) => {
  const sorted = [...values].sort((a, b) => a - b);
  return `${sorted[Math.floor(sorted.length / 4)]!.toFixed(digits)}–${sorted[Math.floor((sorted.length * 3) / 4)]!.toFixed(digits)}`;
};

async function main(): Promise<void> {
  const roots = process.argv.slice(2).filter((argument) => !argument.startsWith('--'));
  const headersOnly = process.argv.includes('--headers');
  if (roots.length === 0) throw new Error('usage: npx tsx bench/loopback-cpu.ts [--headers] <checkout> [<checkout>…]');
  const koios = await Promise.all(roots.map((root, index) => startKoios(`koios ${index + 1} (${root})`, resolve(root))));
  const twin = await start('bare Fastify', HERE, 'fastify');

  const requests = new Map<string, [Server, Request][]>();
  const bearerOf = new Map<Server, string>();
  for (const server of koios) {
    const token = await send({
      url: `${server.info['url']}/oauth/token`,
      method: 'POST',
      headers: { authorization: basic(server.info['clientId']!, server.info['clientSecret']!), 'content-type': FORM },
      body: 'grant_type=client_credentials',
    });
    bearerOf.set(server, `Bearer ${(JSON.parse(token.text) as { access_token: string }).access_token}`);
  }
  const tokenOf = (server: Server, path: string): Request => ({
    url: `${server.info['url']}${path}`,
    method: 'POST',
    headers: { authorization: basic(server.info['clientId']!, server.info['clientSecret']!), 'content-type': FORM },
    body: 'grant_type=client_credentials',
  });
  const graphql = JSON.stringify({ query: '{ me { id } }' });
  requests.set('token', [...koios.map((server): [Server, Request] => [server, tokenOf(server, '/oauth/token')]), [twin, tokenOf(twin, '/token')]]);
  requests.set('me', [
    ...koios.map((server): [Server, Request] => [
      server,
      { url: `${server.info['url']}/api/v1/me`, method: 'GET', headers: { authorization: bearerOf.get(server)! } },
    ]),
    [twin, { url: `${twin.info['url']}/json`, method: 'GET', headers: {} }],
  ]);
  requests.set('graphql', [
    ...koios.map((server): [Server, Request] => [
      server,
      {
        url: `${server.info['url']}/graphql`,
        method: 'POST',
        headers: { authorization: bearerOf.get(server)!, 'content-type': 'application/json' },
        body: graphql,
      },
    ]),
    [twin, { url: `${twin.info['url']}/json`, method: 'GET', headers: {} }],
    [twin, { url: `${twin.info['url']}/json`, method: 'POST', headers: { 'content-type': 'application/json' }, body: graphql }],
  ]);

  if (PATHS.includes('page')) {
    // The first page of 50 beside the bench's bare twin reading the same 51 rows from the first server's database.
    const pageTwin = await start('bare Fastify page', HERE, 'fastify-page', databaseOf.get(koios[0]!)!);
    requests.set('page', [
      ...koios.map((server): [Server, Request] => [
        server,
        { url: `${server.info['url']}/api/v1/clients?limit=50`, method: 'GET', headers: { authorization: bearerOf.get(server)! } },
      ]),
      [pageTwin, { url: `${pageTwin.info['url']}/clients`, method: 'GET', headers: {} }],
    ]);
  }

  for (const path of PATHS) {
    const pairs = requests.get(path)!;
    for (const [server, request] of pairs) {
      const answer = await send(request);
      if (answer.status !== 200 || answer.text.includes('"errors"'))
        throw new Error(`${server.label} ${request.method} ${request.url}: ${answer.status} ${answer.text.slice(0, 200)}`);
      if (headersOnly) {
        process.stdout.write(`\n${path}: ${server.label} ${request.method} ${new URL(request.url).pathname} → ${answer.status}, ${answer.text.length} bytes\n`);
        for (const [name, value] of answer.headers) process.stdout.write(`  ${name}: ${value}\n`);
      }
    }
    if (headersOnly) continue;
    const samples = pairs.map(() => [] as number[]);
    for (const [server, request] of pairs) await measure(server, request, CALLS);
    for (let round = 0; round < ROUNDS; round += 1) {
      const order = pairs.map((_, index) => index);
      if (round % 2 === 1) order.reverse();
      for (const index of order) samples[index]!.push(await measure(pairs[index]![0], pairs[index]![1], CALLS));
    }
    pairs.forEach(([server, request], index) => {
      const values = samples[index]!;
      const ratios = values.map((value, round) => value / samples[0]![round]!);
      process.stdout.write(
        `${path.padEnd(8)} ${`${server.label}: ${request.method} ${new URL(request.url).pathname}`.padEnd(60)} median ${median(values).toFixed(1).padStart(6)} µs CPU/request (quartiles ${quartiles(values)}), ÷ first: ${median(ratios).toFixed(2)}× (${quartiles(ratios, 2)})\n`,
      );
      if (THREADS) {
        const shares = threadShares.get(`${server.label}: ${request.method} ${new URL(request.url).pathname}`)!;
        const rounds = ROUNDS + 1;
        process.stdout.write(
          `         by thread, mean µs/request: ${[...shares]
            .filter(([, µs]) => µs / rounds >= 0.05)
            .map(([name, µs]) => `${name} ${(µs / rounds).toFixed(1)}`)
            .join(', ')}\n`,
        );
      }
    });
  }
}

try {
  await main();
} finally {
  for (const server of servers) server.child.kill('SIGTERM');
  await new Promise((done) => setTimeout(done, 500));
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
  if (schemas.length > 0) {
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    for (const schema of schemas) await client.query(`drop schema if exists ${schema} cascade`);
    await client.end();
  }
}
