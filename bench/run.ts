import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import type { DatabaseConfig } from '../src/server/config.js';
import { BULK_POOL, migrateToLatest, openDatabase, type DatabaseHandle, type Dialect } from '../src/server/db/database.js';
import { createMasterKey } from '../src/server/modules/master-key/master-key.js';
import { createServices } from '../src/server/services.js';
import { cleanUp, onCleanUp } from './children.js';
import { httpBench, type TableRow, type Verdict } from './http.js';
import { metricsScenario } from './metrics.js';
import { paginationScenario, type BenchContext, type BenchResult } from './pagination.js';
import { activeBench } from './active.js';
import { scaleBench } from './scale.js';
import { consoleBench } from './console.js';
import { usageCountingScenario } from './usage-counting.js';
import { dpopJtisScenario } from './dpop-jtis.js';

/**
 * `npm run bench`: the in-process scenarios (bench/pagination.ts: the clients service over 100,000
 * clients) on a temporary SQLite database and, when PostgreSQL answers, a temporary schema; then the
 * HTTP scenarios (bench/http.ts: the real server beside node-oidc-provider, bare Fastify and bare
 * node:http, each in its own process, loaded with autocannon); one table and the performance targets at
 * the end. PostgreSQL comes from KOIOS_BENCH_PG_URL (must answer when set) or else
 * postgres://postgres@127.0.0.1:5432/test (skipped with a note when it does not).
 * Exits 1 if any scenario failed or any load run had errors or non-2xx answers; a missed target is
 * printed as MISSED but does not fail the command.
 *
 * Settings: BENCH_DURATION (seconds per load run, 5), BENCH_ROUNDS (3), BENCH_WARMUP (seconds, 2),
 * BENCH_CLIENTS (100000, for the HTTP targets), BENCH_KOIOS_LOG_LEVEL (warn),
 * BENCH_KOIOS_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/koios-prof"), and BENCH_ONLY, a
 * comma-separated subset of: pagination, metrics, usage and dpop (in-process), token, me, graphql, pages, bare.
 * `npm run bench -- scale [--max 1m]` runs the growth bench instead (bench/scale.ts),
 * `npm run bench -- active [--clients 100k]` the many-active-clients bench (bench/active.ts), and
 * `npm run bench -- console [--runs 15]` the console's first data row in Chromium (bench/console.ts).
 */

/** A scenario gets a fresh database with the services over it and returns its measurements. */
type Scenario = (context: BenchContext) => Promise<BenchResult[]>;
const SCENARIOS: readonly { readonly name: string; readonly run: Scenario }[] = [
  { name: 'pagination', run: paginationScenario },
  // bench/metrics.ts: the token and /me paths with the request timing on and off, alternately.
  { name: 'metrics', run: metricsScenario },
  // bench/usage-counting.ts: the same paths with usage counting on and off, alternately.
  { name: 'usage', run: usageCountingScenario },
  // bench/dpop-jtis.ts: the token path with a DPoP proof, its jti recorded in the database or in memory only.
  { name: 'dpop', run: dpopJtisScenario },
];
const IN_PROCESS = new Set(SCENARIOS.map((scenario) => scenario.name));

const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const TOKEN_SETTINGS = { issuer: 'http://koios.bench', audience: 'http://koios.bench', accessTokenTtlSeconds: 3600 };

interface Target {
  readonly dialect: Dialect;
  /** A new database; `schema` is the PostgreSQL schema to migrate into. */
  open(): Promise<{ readonly handle: DatabaseHandle; readonly schema?: string; dispose(): Promise<void> }>;
}

const out = (line = '') => process.stdout.write(`${line}\n`);

const ONLY_GROUPS = ['pagination', 'metrics', 'usage', 'dpop', 'token', 'me', 'graphql', 'pages', 'bare'];
const ONLY: ReadonlySet<string> | undefined = (() => {
  const raw = process.env['BENCH_ONLY'];
  if (raw === undefined || raw.trim() === '') return undefined;
  const groups = raw.split(',').map((group) => group.trim());
  const unknown = groups.filter((group) => !ONLY_GROUPS.includes(group));
  if (unknown.length > 0) throw new Error(`BENCH_ONLY: unknown ${unknown.join(', ')} (use ${ONLY_GROUPS.join(', ')})`);
  return new Set(groups);
})();

function sqliteTarget(): Target {
  return {
    dialect: 'sqlite',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'koios-bench-'));
      const path = join(dir, 'koios.db');
      const config: DatabaseConfig = { dialect: 'sqlite', path, url: `file:${path}` };
      const handle = openDatabase(config);
      return {
        handle,
        async dispose() {
          await handle.close().catch(() => undefined);
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  };
}

function postgresTarget(url: string): Target {
  return {
    dialect: 'postgres',
    async open() {
      const schema = `bench_${randomBytes(6).toString('hex')}`;
      const handle = openDatabase({ dialect: 'postgres', url }, { schema, pool: BULK_POOL });
      return {
        handle,
        schema,
        async dispose() {
          try {
            await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(handle.db);
          } finally {
            await handle.close().catch(() => undefined);
          }
        },
      };
    },
  };
}

async function postgresReachable(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (error) {
    return (error as Error).message;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function runOn(target: Target, results: BenchResult[], failures: string[]): Promise<void> {
  for (const scenario of SCENARIOS) {
    if (ONLY !== undefined && !ONLY.has(scenario.name)) continue;
    const started = Date.now();
    let opened: Awaited<ReturnType<Target['open']>> | undefined;
    let services: Awaited<ReturnType<typeof createServices>> | undefined;
    try {
      opened = await target.open();
      // Also dropped if the bench is interrupted (children.ts runs the clean-ups on SIGINT/SIGTERM).
      const dispose = once(opened.dispose);
      opened = { ...opened, dispose };
      onCleanUp(dispose);
      await migrateToLatest(opened.handle, opened.schema);
      // Every scenario's database is new: a random master key of its own seals its keys.
      const masterKey = createMasterKey(randomBytes(32), 'KOIOS_MASTER_KEY');
      services = await createServices({ database: opened.handle, tokenSettings: TOKEN_SETTINGS, masterKey, lastUsedFlushMs: 60_000 });
      results.push(...(await scenario.run({ dialect: target.dialect, handle: opened.handle, db: opened.handle.db, services })));
      out(`${target.dialect}: ${scenario.name} done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } catch (error) {
      failures.push(`${target.dialect}: ${scenario.name}: ${(error as Error).stack ?? String(error)}`);
      out(`${target.dialect}: ${scenario.name} FAILED: ${(error as Error).message}`);
    } finally {
      await services?.stop().catch((error: unknown) => failures.push(`${target.dialect}: stopping the services: ${String(error)}`));
      await opened?.dispose().catch((error: unknown) => failures.push(`${target.dialect}: cleaning up: ${String(error)}`));
    }
  }
}

function once(run: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= run());
}

function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  // Nearest rank; the median of an even count is the mean of the middle two.
  if (p === 50 && sorted.length % 2 === 0) return (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Sub-millisecond calls (a token, /me) need microseconds to be told apart. */
const milliseconds = (value: number) => value.toFixed(value < 1 ? 3 : 1);

/** The in-process rows in the table's columns: one call at a time, so no req/s and no status codes. */
function inProcessRows(results: readonly BenchResult[]): TableRow[] {
  return results.map((result) => {
    const label = `koios ${result.dialect} in-process: ${result.query}`;
    if (result.error !== undefined) return { label, rps: 'FAILED', p50: '', p99: '', errors: '1', non2xx: '—' };
    return {
      label,
      rps: '—',
      p50: milliseconds(percentile(result.samples, 50)),
      p99: milliseconds(percentile(result.samples, 99)),
      errors: '0',
      non2xx: '—',
    };
  });
}

/** In-process time ratios: the deep page against the first (the HTTP one is the target), metrics on against off. */
function inProcessVerdicts(results: readonly BenchResult[]): Verdict[] {
  const verdicts: Verdict[] = [];
  for (const result of results) {
    if (result.comparedWith === undefined || result.error !== undefined) continue;
    const first = results.find((r) => r.dialect === result.dialect && r.query === result.comparedWith);
    if (first === undefined || first.error !== undefined) continue;
    const ratio = percentile(result.samples, 50) / percentile(first.samples, 50);
    verdicts.push({
      what: `${result.dialect} in-process: ${result.query} ÷ ${first.query} (time)`,
      value: `${ratio.toFixed(2)}×`,
      target: '',
      verdict: 'info',
    });
  }
  return verdicts;
}

function printTable(header: readonly string[], rows: readonly (readonly string[])[], rightAligned: (column: number) => boolean): void {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, column) => (rightAligned(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join(' | ')} |`;
  out(line(header));
  out(`|${widths.map((width, column) => (rightAligned(column) ? `${'-'.repeat(width + 1)}:` : '-'.repeat(width + 2))).join('|')}|`);
  for (const row of rows) out(line(row));
}

function machine(): string {
  const cores = cpus();
  return `${cores.length} × ${cores[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}, ${process.platform}`;
}

async function main(): Promise<number> {
  const results: BenchResult[] = [];
  const failures: string[] = [];
  const targets: Target[] = [sqliteTarget()];
  const configured = process.env['KOIOS_BENCH_PG_URL'];
  const pgUrl = configured ?? DEFAULT_PG_URL;
  const unreachable = await postgresReachable(pgUrl);
  if (unreachable === null) targets.push(postgresTarget(pgUrl));
  else if (configured !== undefined) failures.push(`postgres: KOIOS_BENCH_PG_URL is set but ${new URL(pgUrl).host} does not answer: ${unreachable}`);
  else out(`note: PostgreSQL is not reachable at ${pgUrl} (${unreachable}); benchmarking SQLite only. Set KOIOS_BENCH_PG_URL to include it.`);
  out(`machine: ${machine()}`);

  for (const target of targets) await runOn(target, results, failures);
  for (const result of results) {
    if (result.error !== undefined) failures.push(`${result.dialect}: ${result.query}: ${result.error}`);
  }

  let http: Awaited<ReturnType<typeof httpBench>> = { rows: [], verdicts: [], failures: [] };
  const httpGroups = ONLY_GROUPS.filter((group) => !IN_PROCESS.has(group) && (ONLY === undefined || ONLY.has(group)));
  try {
    if (httpGroups.length > 0) {
      http = await httpBench({ pgUrl: unreachable === null ? pgUrl : null, ...(ONLY === undefined ? {} : { only: ONLY }), log: out });
    }
  } catch (error) {
    failures.push(`http: ${(error as Error).stack ?? String(error)}`);
  } finally {
    failures.push(...(await cleanUp()));
  }
  failures.push(...http.failures);

  const rows = [...http.rows, ...inProcessRows(results)];
  const verdicts = [...http.verdicts, ...inProcessVerdicts(results)];
  out();
  printTable(
    ['target / scenario', 'req/s (median)', 'p50 ms', 'p99 ms', 'errors', 'non-2xx'],
    rows.map((row) => [row.label, row.rps, row.p50, row.p99, row.errors, row.non2xx]),
    (column) => column >= 1,
  );
  if (verdicts.length > 0) {
    out();
    printTable(
      ['ratio', 'value', 'target', 'verdict'],
      verdicts.map((verdict) => [verdict.what, verdict.value, verdict.target, verdict.verdict]),
      (column) => column === 1,
    );
  }
  const missed = verdicts.filter((verdict) => verdict.verdict === 'MISSED');
  const met = verdicts.filter((verdict) => verdict.verdict === 'met');
  if (met.length + missed.length > 0) {
    out();
    out(`targets: ${met.length} met, ${missed.length} MISSED${missed.length > 0 ? `: ${missed.map((verdict) => verdict.what).join('; ')}` : ''}`);
  }
  out(
    'HTTP rows: medians across rounds of 50-connection autocannon runs; errors and non-2xx summed over all runs. ' +
      'In-process rows: pagination one call at a time (p99 of 30 calls is their slowest); metrics CPU time per call, medians of 40 alternate batches.',
  );
  if (failures.length > 0) {
    out();
    out(`${failures.length} failure(s):`);
    for (const failure of failures) out(`- ${failure}`);
    return 1;
  }
  return 0;
}

// `npm run bench -- scale …` measures growth instead (bench/scale.ts); `-- active …` many active clients (bench/active.ts);
// `-- console …` the console's first data row in Chromium (bench/console.ts).
const modes: Record<string, (argv: readonly string[]) => Promise<number>> = { scale: scaleBench, active: activeBench, console: consoleBench };
(modes[process.argv[2] ?? '']?.(process.argv.slice(3)) ?? main()).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
