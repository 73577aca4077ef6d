import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import pg from 'pg';
import { importer, seedPageDatabase, type PageDatabase } from './page-database.js';

/**
 * `npx tsx bench/page-ab.ts <before-checkout> [<after-checkout>]`: CPU time of a first page of 50
 * clients (`GET /api/v1/clients?limit=50` over 100,000) for two builds in one process, measured
 * alternately with `app.inject` and `process.cpuUsage`, so the load of a shared machine falls on
 * both alike and is not counted as theirs. Both builds read one database seeded once (per dialect).
 * On PostgreSQL it also counts the statements a page sends, named or not.
 *
 * Settings: AB_ROUNDS (20), AB_CALLS (150 pages a round, after 300 of warm-up), AB_DIALECTS
 * (sqlite,postgres), AB_PG_URL (postgres://postgres@127.0.0.1:5432/test), AB_CLIENTS (100000).
 */
const ROUNDS = Number(process.env['AB_ROUNDS'] ?? 20);
const CALLS = Number(process.env['AB_CALLS'] ?? 150);
const DIALECTS = (process.env['AB_DIALECTS'] ?? 'sqlite,postgres').split(',');
const PG_URL = process.env['AB_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const CLIENTS = Number(process.env['AB_CLIENTS'] ?? 100_000);
const PAGE = '/api/v1/clients?limit=50';
/** One master key for every build: the first to start seals the database's keys under it. */
const key = randomBytes(32);

type Inject = (options: Record<string, unknown>) => Promise<{ statusCode: number; body: string; json(): Record<string, unknown> }>;
interface Build {
  readonly label: string;
  readonly inject: Inject;
  readonly bearer: string;
  close(): Promise<void>;
}

async function load(root: string, label: string, target: PageDatabase): Promise<Build> {
  const from = importer(root);
  const [
    { loadConfig },
    { createLogger },
    { openDatabase, migrateToLatest, BULK_POOL },
    { createMasterKey },
    { createServices },
    { createApp },
    { SYSTEM_ACTOR },
  ] = await Promise.all([
    from('src/server/config.ts'),
    from('src/server/logger.ts'),
    from('src/server/db/database.ts'),
    from('src/server/modules/master-key/master-key.ts'),
    from('src/server/services.ts'),
    from('src/server/app.ts'),
    from('src/server/actor.ts'),
  ]);
  const config = loadConfig({ KOIOS_DATABASE_URL: target.url, KOIOS_MASTER_KEY: key.toString('base64'), KOIOS_LOG_LEVEL: 'warn' });
  // Waits in minutes: on a shared machine a connection can take longer than the server's second.
  const database = openDatabase(config.database, { pool: BULK_POOL, ...(target.schema === undefined ? {} : { schema: target.schema }) });
  await migrateToLatest(database, target.schema);
  const logger = createLogger('warn');
  const services = await createServices({ database, logger, tokenSettings: config, masterKey: createMasterKey(key, 'KOIOS_MASTER_KEY') });
  const app = await createApp({ config, database, services, logger });
  const administrator = await services.roles.resolve(SYSTEM_ACTOR, 'Administrator');
  const { client, clientSecret } = await services.clients.create(SYSTEM_ACTOR, { name: `bench ${label}`, roleId: administrator.id });
  const tokenBody = new URLSearchParams({ grant_type: 'client_credentials', client_id: client.id, client_secret: clientSecret }).toString();
  const inject = app.inject.bind(app) as Inject;
  const answer = await inject({ method: 'POST', url: '/oauth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: tokenBody });
  if (answer.statusCode !== 200) throw new Error(`${label}: token request answered ${answer.statusCode}`);
  return {
    label,
    inject,
    bearer: `Bearer ${String(answer.json()['access_token'])}`,
    async close() {
      await app.close();
      await services.stop();
      await database.close();
    },
  };
}

/** CPU µs (user + system) a page over `count` sequential pages. */
async function measure(build: Build, count: number): Promise<number> {
  const request = { method: 'GET', url: PAGE, headers: { authorization: build.bearer } };
  const started = process.cpuUsage();
  for (let i = 0; i < count; i += 1) {
    const answer = await build.inject(request);
    if (answer.statusCode !== 200) throw new Error(`${build.label}: answered ${answer.statusCode} ${answer.body.slice(0, 200)}`);
  }
  const used = process.cpuUsage(started);
  return (used.user + used.system) / count;
}

/** What one page sends PostgreSQL: statements run (extended protocol's Execute or a simple query) and statements parsed. */
async function countStatements(build: Build): Promise<string> {
  type Method = (...args: unknown[]) => unknown;
  const prototype = (pg as unknown as { Connection: { prototype: Record<'parse' | 'execute' | 'query', Method> } }).Connection.prototype;
  const originals = { parse: prototype.parse, execute: prototype.execute, query: prototype.query };
  const counts = { parse: 0, execute: 0, query: 0 };
  for (const method of ['parse', 'execute', 'query'] as const) {
    prototype[method] = function (this: unknown, ...args: unknown[]) {
      counts[method] += 1;
      return originals[method].apply(this, args);
    };
  }
  const pages = 20;
  try {
    for (let i = 0; i < pages; i += 1) await build.inject({ method: 'GET', url: PAGE, headers: { authorization: build.bearer } });
  } finally {
    Object.assign(prototype, originals);
  }
  // Background writes (usage, last-used times) that fall in the window are counted too.
  return `${((counts.execute + counts.query) / pages).toFixed(2)} statements, ${(counts.parse / pages).toFixed(2)} parsed`;
}

const sorted = (values: readonly number[]) => [...values].sort((a, b) => a - b);
const median = (values: readonly number[]) => sorted(values)[Math.floor(values.length / 2)]!;
const quartiles = (values: readonly number[], digits: number) => {
  const s = sorted(values);
  return `${s[Math.floor(s.length / 4)]!.toFixed(digits)}–${s[Math.floor((s.length * 3) / 4)]!.toFixed(digits)}`;
};

async function main(): Promise<void> {
  const [beforeRoot, afterRoot = '.'] = process.argv.slice(2);
  if (beforeRoot === undefined) throw new Error('usage: npx tsx bench/page-ab.ts <before-checkout> [<after-checkout>]');
  for (const dialect of DIALECTS) {
    const { target, drop } = await seedPageDatabase(resolve(afterRoot), dialect, { label: 'page-ab', clients: CLIENTS, pgUrl: PG_URL });
    const builds: Build[] = [];
    try {
      builds.push(await load(resolve(beforeRoot), 'before', target));
      // The same build again: how far two identical builds drift apart here, the noise to read the after build against.
      builds.push(await load(resolve(beforeRoot), 'before, again (A/A)', target));
      builds.push(await load(resolve(afterRoot), 'after', target));
      const [first, , after] = builds;
      const firstBody = (await first!.inject({ method: 'GET', url: PAGE, headers: { authorization: first!.bearer } })).json();
      const afterBody = (await after!.inject({ method: 'GET', url: PAGE, headers: { authorization: after!.bearer } })).json();
      // By ids: each build knows only its own client's latest use (written coalesced).
      const ids = (body: Record<string, unknown>) => JSON.stringify((body['items'] as { id: string }[]).map((item) => item.id));
      if (ids(firstBody) !== ids(afterBody) || firstBody['total'] !== afterBody['total']) {
        throw new Error(`${dialect}: the builds answer different first pages`);
      }
      for (const build of builds) await measure(build, 300);
      if (dialect === 'postgres')
        for (const build of builds) process.stdout.write(`${dialect} ${build.label.padEnd(22)} ${await countStatements(build)} a page\n`);
      const samples = new Map<string, number[]>();
      for (let round = 0; round < ROUNDS; round += 1) {
        for (const build of round % 2 === 0 ? builds : [...builds].reverse()) {
          samples.set(build.label, [...(samples.get(build.label) ?? []), await measure(build, CALLS)]);
        }
      }
      const before = samples.get('before')!;
      for (const build of builds) {
        const values = samples.get(build.label)!;
        const ratios = values.map((value, round) => value / before[round]!);
        process.stdout.write(
          `${dialect.padEnd(8)} ${build.label.padEnd(22)} CPU ${median(values).toFixed(0).padStart(5)} µs a page (quartiles ${quartiles(values, 0)}), ÷ before: median ${median(ratios).toFixed(2)}× (quartiles ${quartiles(ratios, 2)})\n`,
        );
      }
    } finally {
      for (const build of builds) await build.close();
      await drop();
    }
  }
}

await main();
