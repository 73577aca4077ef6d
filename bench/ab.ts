import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * `npx tsx bench/ab.ts <before-checkout> [<after-checkout>]`: the token, `/me` and GraphQL
 * `{ me { id } }` paths of two
 * builds in one process, measured alternately (A, B, A, B…) with `app.inject` and no network, so
 * the machine's load falls on both alike. Each build gets its own SQLite database, services and
 * app, loaded from its own source tree; its client has no limits (what every build before had).
 * The after build is also measured with a client that has limits (never reached), for what a
 * limited client pays, and the before build a second time, whose spread is the noise. Rounds are short, so a burst of load on a shared machine hits the builds of
 * one round alike: each round's ratio to the before build is taken, and the median of those ratios
 * printed with the median µs a call.
 *
 * Each call is timed in CPU time of the process (`process.cpuUsage`, user and system), not wall
 * time: on a machine shared with other jobs, waiting for a CPU is not the build's cost.
 *
 * Settings: AB_ROUNDS (30), AB_CALLS (200 a path a round, after 300 of warm-up), AB_PATHS
 * (`token,me,graphql`).
 */
const ROUNDS = Number(process.env['AB_ROUNDS'] ?? 30);
const CALLS = Number(process.env['AB_CALLS'] ?? 200);
const PATHS = ['token', 'me', 'graphql'] as const;
type Path = (typeof PATHS)[number];
const CHOSEN = (process.env['AB_PATHS'] ?? PATHS.join(',')).split(',') as Path[];
const LABELS: Record<Path, string> = { token: 'POST /oauth/token', me: 'GET /api/v1/me', graphql: 'GraphQL { me { id } }' };

type Inject = (options: Record<string, unknown>) => Promise<{ statusCode: number; json(): Record<string, unknown> }>;
interface Build {
  readonly label: string;
  readonly inject: Inject;
  readonly tokenBody: string;
  readonly bearer: string;
  close(): Promise<void>;
}

async function load(root: string, label: string, rateLimit?: Record<string, number>): Promise<Build> {
  const from = (path: string) => import(pathToFileURL(join(root, 'src/server', path)).href);
  const [{ loadConfig }, { createLogger }, { openDatabase, migrateToLatest }, { createMasterKey }, { createServices }, { createApp }, { SYSTEM_ACTOR }] =
    await Promise.all([
      from('config.ts'),
      from('logger.ts'),
      from('db/database.ts'),
      from('modules/master-key/master-key.ts'),
      from('services.ts'),
      from('app.ts'),
      from('actor.ts'),
    ]);
  const dir = mkdtempSync(join(tmpdir(), 'koios-ab-'));
  const key = randomBytes(32);
  const config = loadConfig({ KOIOS_DATABASE_URL: `file:${join(dir, 'koios.db')}`, KOIOS_MASTER_KEY: key.toString('base64'), KOIOS_LOG_LEVEL: 'warn' });
  const database = openDatabase(config.database);
  await migrateToLatest(database);
  const logger = createLogger('warn');
  const services = await createServices({ database, logger, tokenSettings: config, masterKey: createMasterKey(key, 'KOIOS_MASTER_KEY') });
  const app = await createApp({ config, database, services, logger });
  const viewer = (await services.roles.list(SYSTEM_ACTOR)).find((role: { name: string }) => role.name === 'Viewer').id;
  const { client, clientSecret } = await services.clients.create(SYSTEM_ACTOR, {
    name: 'bench',
    roleId: viewer,
    ...(rateLimit === undefined ? {} : { rateLimit }),
  });
  const tokenBody = new URLSearchParams({ grant_type: 'client_credentials', client_id: client.id, client_secret: clientSecret }).toString();
  const inject = app.inject.bind(app) as Inject;
  const answer = await inject({ method: 'POST', url: '/oauth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: tokenBody });
  if (answer.statusCode !== 200) throw new Error(`${label}: token request answered ${answer.statusCode}`);
  return {
    label,
    inject,
    tokenBody,
    bearer: `Bearer ${String(answer.json()['access_token'])}`,
    async close() {
      await app.close();
      await services.stop();
      await database.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function requestOf(build: Build, path: Path): Record<string, unknown> {
  if (path === 'token')
    return { method: 'POST', url: '/oauth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: build.tokenBody };
  if (path === 'me') return { method: 'GET', url: '/api/v1/me', headers: { authorization: build.bearer } };
  // What the bench's GraphQL row sends.
  return {
    method: 'POST',
    url: '/graphql',
    headers: { authorization: build.bearer, 'content-type': 'application/json' },
    payload: JSON.stringify({ query: '{ me { id } }' }),
  };
}

/** CPU µs a call over `count` sequential calls of one path. */
async function measure(build: Build, path: Path, count: number): Promise<number> {
  const request = requestOf(build, path);
  const started = process.cpuUsage();
  for (let i = 0; i < count; i += 1) {
    const answer = await build.inject(request);
    if (answer.statusCode !== 200) throw new Error(`${build.label} ${path}: answered ${answer.statusCode}`);
    if (path === 'graphql' && answer.json()['errors'] !== undefined) throw new Error(`${build.label} ${path}: ${JSON.stringify(answer.json())}`);
  }
  const used = process.cpuUsage(started);
  return (used.user + used.system) / count;
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const quartiles = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return `${sorted[Math.floor(sorted.length / 4)]!.toFixed(2)}–${sorted[Math.floor((sorted.length * 3) / 4)]!.toFixed(2)}`;
};

async function main(): Promise<void> {
  const [beforeRoot, afterRoot = '.'] = process.argv.slice(2);
  if (beforeRoot === undefined) throw new Error('usage: npx tsx bench/ab.ts <before-checkout> [<after-checkout>]');
  const builds = [
    await load(resolve(beforeRoot), 'before'),
    // The same build again: how far two identical builds drift apart here, the noise to read the others against.
    await load(resolve(beforeRoot), 'before, again (A/A)'),
    await load(resolve(afterRoot), 'after'),
    await load(resolve(afterRoot), 'after, limited client', { requestsPerMinute: 1_000_000, tokensPerMinute: 10_000 }),
  ];
  const samples = new Map<string, number[]>();
  try {
    for (const path of CHOSEN) {
      // Token requests of the limited client stay under its 10,000 a minute.
      const calls = path === 'token' ? Math.min(CALLS, Math.floor(9000 / ROUNDS)) : CALLS;
      for (const build of builds) await measure(build, path, 300);
      for (let round = 0; round < ROUNDS; round += 1) {
        // Each round in another order, so neither build always runs first.
        for (const build of round % 2 === 0 ? builds : [...builds].reverse()) {
          const key = `${path} ${build.label}`;
          samples.set(key, [...(samples.get(key) ?? []), await measure(build, path, calls)]);
        }
      }
    }
  } finally {
    for (const build of builds) await build.close();
  }
  for (const path of CHOSEN) {
    const before = samples.get(`${path} before`)!;
    for (const build of builds) {
      const values = samples.get(`${path} ${build.label}`)!;
      const ratios = values.map((value, round) => value / before[round]!);
      process.stdout.write(
        `${LABELS[path].padEnd(21)} ${build.label.padEnd(22)} median ${median(values).toFixed(0).padStart(5)} CPU µs/call (quartiles ${quartiles(values)}), ÷ before: median ${median(ratios).toFixed(2)}× (quartiles ${quartiles(ratios)})\n`,
      );
    }
  }
}

await main();
