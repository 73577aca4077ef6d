import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The PostgreSQL server for the database suites, or null when none answered (never under CI). */
    pgUrl: string | null;
    /** The dialects the database suites run on in this run, in order. */
    testDialects: Array<'sqlite' | 'postgres'>;
  }
}

const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const ALL_DIALECTS = ['sqlite', 'postgres'] as const;

/** `KOIOS_TEST_DIALECTS=sqlite` narrows the database suites on purpose; unset means every dialect. */
function chosenDialects(): { dialects: Array<'sqlite' | 'postgres'>; narrowed: boolean } {
  const raw = process.env['KOIOS_TEST_DIALECTS'];
  if (raw === undefined || raw.trim() === '') return { dialects: [...ALL_DIALECTS], narrowed: false };
  const names = raw.split(',').map((name) => name.trim().toLowerCase());
  const unknown = names.filter((name) => !(ALL_DIALECTS as readonly string[]).includes(name));
  if (unknown.length > 0 || names.length === 0) {
    throw new Error(`KOIOS_TEST_DIALECTS must list sqlite and/or postgres, separated by commas (got ${JSON.stringify(raw)})`);
  }
  const dialects = ALL_DIALECTS.filter((dialect) => names.includes(dialect));
  return { dialects, narrowed: dialects.length < ALL_DIALECTS.length };
}

/**
 * Finds PostgreSQL once for the whole run. Outside CI a missing server skips the PostgreSQL
 * half of the database suites with a loud warning; under CI=true it fails the run instead.
 */
/** Newest modification time of the .ts files under a folder. */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'web') latest = Math.max(latest, newest(path));
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) latest = Math.max(latest, statSync(path).mtimeMs);
  }
  return latest;
}

/** The CLI tests run the real `bin/koios.js`, which runs dist/: compile the server when src/ is newer. */
function buildServerIfStale(): void {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const built = join(root, 'dist/cli/main.js');
  if (existsSync(built) && existsSync(join(root, 'dist/server/graphql/schema.graphql')) && statSync(built).mtimeMs >= newest(join(root, 'src'))) return;
  process.stdout.write('compiling dist/ for the CLI tests (npm run build)…\n');
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
  // As `npm run build` does: the GraphQL SDL is read at start from beside the compiled schema.ts.
  cpSync(join(root, 'src/server/graphql/schema.graphql'), join(root, 'dist/server/graphql/schema.graphql'));
}

export default async function setup(project: TestProject): Promise<void> {
  buildServerIfStale();
  const { dialects, narrowed } = chosenDialects();
  if (narrowed) {
    // Said on every run, CI included, so a narrowed run is never mistaken for a full one.
    const names = dialects.map((dialect) => (dialect === 'sqlite' ? 'SQLite' : 'PostgreSQL')).join(' and ');
    process.stdout.write(`database suites: ${names} only, on purpose (KOIOS_TEST_DIALECTS=${dialects.join(',')})\n`);
  }
  if (!dialects.includes('postgres')) {
    project.provide('pgUrl', null);
    project.provide('testDialects', dialects);
    return;
  }
  const url = process.env['KOIOS_TEST_PG_URL'] ?? DEFAULT_PG_URL;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    project.provide('pgUrl', url);
    project.provide('testDialects', dialects);
    if (!narrowed) process.stdout.write(`database suites: SQLite and PostgreSQL (${new URL(url).host})\n`);
  } catch (error) {
    const message = `PostgreSQL is not reachable at ${url} (${(error as Error).message}); set KOIOS_TEST_PG_URL`;
    if (process.env['CI'] === 'true')
      throw new Error(`${message}. Under CI the PostgreSQL suites must run (KOIOS_TEST_DIALECTS=sqlite narrows a run on purpose).`);
    if (!dialects.includes('sqlite')) throw new Error(`${message}. KOIOS_TEST_DIALECTS=postgres leaves nothing else to test.`);
    process.stderr.write(`\n\u001b[1;33m!!! ${message}.\n!!! SKIPPING every PostgreSQL suite: only SQLite is tested in this run.\u001b[0m\n\n`);
    project.provide('pgUrl', null);
    project.provide('testDialects', ['sqlite']);
  } finally {
    await client.end().catch(() => undefined);
  }
}
