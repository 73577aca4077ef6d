import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { PerformanceObserver } from 'node:perf_hooks';
import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import Fastify from 'fastify';
import pg from 'pg';
import { importer, seedPageDatabase, type PageDatabase } from './page-database.js';
import { TWIN_PAGE_SQL, twinPage, type TwinRow } from './targets/first-page-twin.js';

/**
 * `npx tsx bench/page-parts.ts [<checkout>]`: where a first page of 50 clients
 * (`GET /api/v1/clients?limit=50` over 100,000) spends its CPU, beside the bench's bare twin
 * (bench/targets/fastify-page.ts) in the same process. Each part is timed alone with
 * `process.cpuUsage` over alternating rounds, so the load of a shared machine falls on every part
 * alike: the whole request through `app.inject` for Koios and the twin, then the service call, the
 * repository's statement, the twin's statement, and the response serialiser, each without HTTP.
 * Koios runs compiled (`npm run build:server` first; dist/server), as the bench's target does.
 *
 * Settings: PARTS_ROUNDS (12), PARTS_CALLS (150 a part a round, after 300 of warm-up),
 * PARTS_DIALECTS (sqlite,postgres), PARTS_PG_URL, PARTS_CLIENTS (100000), PARTS_ONLY (part names, separated by ;),
 * PARTS_CPU_PROFILE (a file: a CPU profile of the timed rounds alone, for bench/cpuprofile-top.ts),
 * PARTS_CONCURRENCY (1), PARTS_HEAP_PROFILE (a file: a sampling heap profile of the timed rounds, collected objects
 * included, so it shows what each part allocates).
 */
const ROUNDS = Number(process.env['PARTS_ROUNDS'] ?? 12);
const CALLS = Number(process.env['PARTS_CALLS'] ?? 150);
const DIALECTS = (process.env['PARTS_DIALECTS'] ?? 'sqlite,postgres').split(',');
const PG_URL = process.env['PARTS_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const CLIENTS = Number(process.env['PARTS_CLIENTS'] ?? 100_000);
const ONLY = process.env['PARTS_ONLY']?.split(';');
/** Calls in flight at a time: 50 is the HTTP bench's connections, where a page's objects outlive young-generation collections. */
const CONCURRENCY = Number(process.env['PARTS_CONCURRENCY'] ?? 1);
const PAGE_URL = '/api/v1/clients?limit=50';
const key = randomBytes(32);

type Part = () => Promise<unknown>;

async function parts(root: string, dialect: string, target: PageDatabase): Promise<{ parts: Map<string, Part>; close(): Promise<void> }> {
  const from = importer(root);
  const [
    { loadConfig },
    { createLogger },
    { openDatabase, migrateToLatest, BULK_POOL },
    { createMasterKey },
    { createServices },
    { createApp },
    { SYSTEM_ACTOR },
    { createClientsRepository },
    { ApiClient, ClientPage },
  ] = await Promise.all([
    from('dist/server/config.js'),
    from('dist/server/logger.js'),
    from('dist/server/db/database.js'),
    from('dist/server/modules/master-key/master-key.js'),
    from('dist/server/services.js'),
    from('dist/server/app.js'),
    from('dist/server/actor.js'),
    from('dist/server/modules/clients/clients.repository.js'),
    from('dist/shared/schemas/clients.js'),
  ]);
  const config = loadConfig({ KOIOS_DATABASE_URL: target.url, KOIOS_MASTER_KEY: key.toString('base64'), KOIOS_LOG_LEVEL: 'warn' });
  const database = openDatabase(config.database, { pool: BULK_POOL, ...(target.schema === undefined ? {} : { schema: target.schema }) });
  await migrateToLatest(database, target.schema);
  const logger = createLogger('warn');
  const services = await createServices({ database, logger, tokenSettings: config, masterKey: createMasterKey(key, 'KOIOS_MASTER_KEY') });
  const app = await createApp({ config, database, services, logger });
  const administrator = await services.roles.resolve(SYSTEM_ACTOR, 'Administrator');
  const { client, clientSecret } = await services.clients.create(SYSTEM_ACTOR, { name: 'bench parts', roleId: administrator.id });
  const tokenBody = new URLSearchParams({ grant_type: 'client_credentials', client_id: client.id, client_secret: clientSecret }).toString();
  const token = await app.inject({ method: 'POST', url: '/oauth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: tokenBody });
  const bearer = `Bearer ${String(token.json()['access_token'])}`;

  // The twin: its own connection and statement, a bare Fastify app.
  let read: () => Promise<TwinRow[]>;
  let closeTwin: () => Promise<void>;
  if (dialect === 'sqlite') {
    const twinDb = new Database(target.path!, { readonly: true, fileMustExist: true });
    const statement = twinDb.prepare<[], TwinRow>(TWIN_PAGE_SQL);
    read = async () => statement.all();
    closeTwin = async () => {
      twinDb.close();
    };
  } else {
    const pool = new pg.Pool({ connectionString: target.url, max: 10, options: `-c search_path=${target.schema}` });
    read = async () => (await pool.query<TwinRow>({ name: 'first-page', text: TWIN_PAGE_SQL })).rows;
    closeTwin = () => pool.end();
  }
  const twin = Fastify({ logger: false });
  twin.get('/clients', async () => twinPage(await read()));
  // The twin with Koios's response schema: what the schema serialiser costs against JSON.stringify.
  const twinSchema = Fastify({ logger: false });
  twinSchema.addSchema(ApiClient);
  twinSchema.addSchema(ClientPage);
  twinSchema.get('/clients', { schema: { response: { 200: { $ref: 'ClientPage#' } } } }, async () => twinPage(await read()));
  await twin.ready();
  await twinSchema.ready();

  const check = (answer: { statusCode: number; body: string }) => {
    if (answer.statusCode !== 200) throw new Error(`answered ${answer.statusCode}: ${answer.body.slice(0, 200)}`);
    return answer;
  };
  const koiosBody = check(await app.inject({ method: 'GET', url: PAGE_URL, headers: { authorization: bearer } })).body;
  const twinBody = check(await twin.inject({ method: 'GET', url: '/clients' })).body;
  process.stdout.write(`${dialect}: page bytes koios ${koiosBody.length}, twin ${twinBody.length}\n`);

  const repository = createClientsRepository(database.db);
  const requestsSince = services.usage.requestsWindowStart();
  const listQuery = { limit: 50, after: null, search: null, status: null, sort: 'createdAt', descending: true, requestsSince };
  const page = JSON.parse(koiosBody) as unknown;
  const twinObject = twinPage(await read());
  const { default: fjs } = await import('fast-json-stringify');
  const serialise = fjs({ $ref: 'ClientPage#' }, { schema: { ApiClient, ClientPage } } as never) as (value: unknown) => string;

  // The HTTP pipeline alone: each route answering a page made beforehand (Koios's through its service's door).
  const list = services.clients.list.bind(services.clients);
  let stubbed = false;
  services.clients.list = (...args: unknown[]) => (stubbed ? Promise.resolve(page) : list(...args));
  const twinStub = Fastify({ logger: false });
  twinStub.get('/clients', async () => twinObject);
  await twinStub.ready();
  const table = new Map<string, Part>([
    ['koios http', () => app.inject({ method: 'GET', url: PAGE_URL, headers: { authorization: bearer } })],
    ['twin http', () => twin.inject({ method: 'GET', url: '/clients' })],
    [
      'koios http, page made',
      async () => {
        stubbed = true;
        try {
          return await app.inject({ method: 'GET', url: PAGE_URL, headers: { authorization: bearer } });
        } finally {
          stubbed = false;
        }
      },
    ],
    ['twin http, page made', () => twinStub.inject({ method: 'GET', url: '/clients' })],
    ['twin http, koios schema', () => twinSchema.inject({ method: 'GET', url: '/clients' })],
    ['koios service', () => services.clients.list(SYSTEM_ACTOR, { limit: 50 })],
    ['koios repository', () => repository.list(listQuery)],
    ['twin read', () => read()],
    ['twin read+map', async () => twinPage(await read())],
    ['fjs ClientPage', async () => serialise(page)],
    ['JSON.stringify', async () => JSON.stringify(twinObject)],
  ]);
  if (ONLY !== undefined) for (const name of [...table.keys()]) if (!ONLY.includes(name)) table.delete(name);
  return {
    parts: table,
    async close() {
      await app.close();
      await twin.close();
      await twinSchema.close();
      await twinStub.close();
      await closeTwin();
      await services.stop();
      await database.close();
    },
  };
}

/** Garbage collection time (ms) since the start, from V8's gc entries. */
let gcTime = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcTime += entry.duration;
}).observe({ entryTypes: ['gc'] });
const gcSamples = new Map<Part, number[]>();

/** CPU µs a call over `count` calls, PARTS_CONCURRENCY of them in flight at a time; its GC µs a call is kept beside it. */
async function measure(part: Part, count: number): Promise<number> {
  const gcBefore = gcTime;
  const started = process.cpuUsage();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) {
        next += 1;
        await part();
      }
    }),
  );
  const used = process.cpuUsage(started);
  gcSamples.set(part, [...(gcSamples.get(part) ?? []), ((gcTime - gcBefore) * 1000) / count]);
  return (used.user + used.system) / count;
}

const sorted = (values: readonly number[]) => [...values].sort((a, b) => a - b);
const median = (values: readonly number[]) => sorted(values)[Math.floor(values.length / 2)]!;
const quartiles = (values: readonly number[]) => {
  const s = sorted(values);
  return `${s[Math.floor(s.length / 4)]!.toFixed(1)}–${s[Math.floor((s.length * 3) / 4)]!.toFixed(1)}`;
};

async function main(): Promise<void> {
  const root = resolve(process.argv[2] ?? '.');
  for (const dialect of DIALECTS) {
    const { target, drop } = await seedPageDatabase(root, dialect, { label: 'page-parts', clients: CLIENTS, pgUrl: PG_URL });
    try {
      const { parts: table, close } = await parts(root, dialect, target);
      try {
        for (const part of table.values()) await measure(part, 300);
        const samples = new Map<string, number[]>();
        const names = [...table.keys()];
        const profile = process.env['PARTS_CPU_PROFILE'];
        const session = profile === undefined ? null : new Session();
        if (session !== null) {
          session.connect();
          await session.post('Profiler.enable');
          await session.post('Profiler.start');
        }
        const heap = process.env['PARTS_HEAP_PROFILE'];
        const heapSession = heap === undefined ? null : new Session();
        if (heapSession !== null) {
          heapSession.connect();
          await heapSession.post('HeapProfiler.enable');
          await heapSession.post('HeapProfiler.startSampling', {
            samplingInterval: 4096,
            includeObjectsCollectedByMajorGC: true,
            includeObjectsCollectedByMinorGC: true,
          } as never);
        }
        for (let round = 0; round < ROUNDS; round += 1) {
          for (const name of round % 2 === 0 ? names : [...names].reverse()) {
            samples.set(name, [...(samples.get(name) ?? []), await measure(table.get(name)!, CALLS)]);
          }
        }
        if (session !== null) {
          const { profile: taken } = await session.post('Profiler.stop');
          writeFileSync(`${profile!}.${dialect}.cpuprofile`, JSON.stringify(taken));
          session.disconnect();
        }
        if (heapSession !== null) {
          const { profile: taken } = await heapSession.post('HeapProfiler.stopSampling');
          writeFileSync(`${heap!}.${dialect}.heapprofile`, JSON.stringify(taken));
          heapSession.disconnect();
        }
        const koios = samples.get('koios http');
        for (const name of names) {
          const values = samples.get(name)!;
          const ratio = koios === undefined ? '' : `, twin http ÷ this: ${(median(samples.get('twin http') ?? [NaN]) / median(values)).toFixed(2)}×`;
          process.stdout.write(
            `${dialect.padEnd(8)} ${name.padEnd(24)} ${median(values).toFixed(1).padStart(7)} µs CPU (quartiles ${quartiles(values)}), GC ${median(gcSamples.get(table.get(name)!)!).toFixed(1)} µs${ratio}\n`,
          );
        }
      } finally {
        await close();
      }
    } finally {
      await drop();
    }
  }
}

await main();
