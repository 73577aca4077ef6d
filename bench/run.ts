import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import type { DatabaseConfig } from '../src/server/config.js';
import { migrateToLatest, openDatabase, type DatabaseHandle, type Dialect } from '../src/server/db/database.js';
import { createServices } from '../src/server/services.js';
import { paginationScenario, type BenchContext, type BenchResult } from './pagination.js';

/**
 * `npm run bench`: every scenario on a temporary SQLite database and, when PostgreSQL answers, a
 * temporary schema; one table at the end. PostgreSQL comes from KOIOS_BENCH_PG_URL (must answer
 * when set) or else postgres://postgres@127.0.0.1:5432/test (skipped with a note when it does not).
 * Exits 1 if any scenario failed. Timings are printed, never asserted.
 */

/** A scenario gets a fresh database with the services over it and returns its measurements. */
type Scenario = (context: BenchContext) => Promise<BenchResult[]>;
const SCENARIOS: readonly { readonly name: string; readonly run: Scenario }[] = [{ name: 'pagination', run: paginationScenario }];

const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const TOKEN_SETTINGS = { issuer: 'http://koios.bench', audience: 'http://koios.bench', accessTokenTtlSeconds: 3600 };

interface Target {
  readonly dialect: Dialect;
  /** A new database; `schema` is the PostgreSQL schema to migrate into. */
  open(): Promise<{ readonly handle: DatabaseHandle; readonly schema?: string; dispose(): Promise<void> }>;
}

const out = (line = '') => process.stdout.write(`${line}\n`);

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
      const handle = openDatabase({ dialect: 'postgres', url }, { schema });
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
    const started = Date.now();
    let opened: Awaited<ReturnType<Target['open']>> | undefined;
    let services: Awaited<ReturnType<typeof createServices>> | undefined;
    try {
      opened = await target.open();
      await migrateToLatest(opened.handle, opened.schema);
      services = await createServices({ database: opened.handle, tokenSettings: TOKEN_SETTINGS, lastUsedFlushMs: 60_000 });
      results.push(...(await scenario.run({ dialect: target.dialect, db: opened.handle.db, services })));
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

function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  // Nearest rank; the median of an even count is the mean of the middle two.
  if (p === 50 && sorted.length % 2 === 0) return (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function printTable(results: readonly BenchResult[]): void {
  const median = (result: BenchResult) => percentile(result.samples, 50);
  const rows = results.map((result) => {
    if (result.error !== undefined) return [result.dialect, result.query, 'FAILED', 'FAILED', ''];
    const first = result.comparedWith === undefined ? undefined : results.find((r) => r.dialect === result.dialect && r.query === result.comparedWith);
    return [
      result.dialect,
      result.query,
      median(result).toFixed(2),
      percentile(result.samples, 95).toFixed(2),
      first === undefined || first.error !== undefined ? '' : (median(result) / median(first)).toFixed(2),
    ];
  });
  const header = ['dialect', 'query', 'median ms', 'p95 ms', 'ratio deep/first'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, column) => (column >= 2 ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join(' | ')} |`;
  out(line(header));
  out(`|${widths.map((width, column) => (column >= 2 ? `${'-'.repeat(width + 1)}:` : '-'.repeat(width + 2))).join('|')}|`);
  for (const row of rows) out(line(row));
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

  for (const target of targets) await runOn(target, results, failures);
  for (const result of results) {
    if (result.error !== undefined) failures.push(`${result.dialect}: ${result.query}: ${result.error}`);
  }

  out();
  printTable(results);
  if (failures.length > 0) {
    out();
    out(`${failures.length} failure(s):`);
    for (const failure of failures) out(`- ${failure}`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
