import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { call, createOperatorAndTarget, type Answer } from '../../test/support/fault-load.js';
import { accessToken, type ClientCredentials } from '../../test/support/oauth.js';
import type { ServerProcess, ServerProcessOptions } from '../../test/support/processes.js';
import { startSeededServer } from '../../test/support/seeded-server.js';

/** What the SQLite and shutdown scenarios share: a seeded database file, a disabled client, the CLI. */
export interface SqliteFile {
  readonly path: string;
  readonly env: Record<string, string>;
  readonly administrator: ClientCredentials;
  /** Disabled once a server has issued it a token (see `disableAfterToken`). */
  readonly target: ClientCredentials;
  remove(): void;
}

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');

/** A seeded SQLite file and a server process serving it, with `options.env` on top of the file's. */
export async function startOnSqliteFile(options: Partial<ServerProcessOptions> = {}): Promise<{ file: SqliteFile; server: ServerProcess }> {
  const started = await startSeededServer({ dialect: 'sqlite' }, (services) => createOperatorAndTarget(services, 'chaos'), options);
  const file = { path: started.path!, env: started.env, ...started.seeded, remove: started.remove };
  return { file, server: started.server };
}

/** A token for the target client, then the target disabled through the API: its token and secret must be refused from then on. */
export async function disableAfterToken(server: ServerProcess, file: SqliteFile, adminToken: string): Promise<string> {
  const token = await accessToken(server.url, file.target);
  const answer = await call(`${server.url}/api/v1/clients/${file.target.id}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ enabled: false }),
  });
  if (answer.status !== 200) throw new Error(`disabling the target answered ${answer.status}`);
  return token;
}

/** One probe with the disabled client: its token on /me, then its secret at the token endpoint. Both must be refused. */
export async function probeDisabled(server: ServerProcess, file: SqliteFile, token: string): Promise<Answer[]> {
  return Promise.all([
    call(`${server.url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } }),
    call(`${server.url}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: file.target.id, client_secret: file.target.secret }),
    }),
  ]);
}

export interface CliRun {
  readonly code: number | null;
  readonly stderr: string;
  readonly ms: number;
}

/** Newest modification time of the .ts files under a folder. */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) latest = Math.max(latest, newest(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) latest = Math.max(latest, statSync(path).mtimeMs);
  }
  return latest;
}

/** The installed `bin/koios.js` when dist/ is as new as src/ (the real command, and it starts faster); otherwise the source under tsx. */
const CLI_ARGS = ((): string[] => {
  const built = join(ROOT, 'dist/cli/main.js');
  const fresh = existsSync(built) && statSync(built).mtimeMs >= Math.max(newest(join(ROOT, 'src/server')), newest(join(ROOT, 'src/cli')));
  return fresh ? ['bin/koios.js'] : ['--import', 'tsx', 'bench/chaos/koios-cli.ts'];
})();

/** `koios <args>` in its own process, as an operator runs it beside the server. */
export function koios(env: Record<string, string>, args: readonly string[]): Promise<CliRun> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI_ARGS, ...args], {
      cwd: ROOT,
      env: { ...process.env, KOIOS_LOG_LEVEL: 'silent', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr: stderr.trim(), ms: performance.now() - started }));
  });
}

/** Answers with `error` for a failed connection, and CLI runs as `cli ok` / `cli failed`. */
export function tally(answers: readonly Answer[], cli: readonly CliRun[] = []): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const answer of answers) counts[String(answer.status)] = (counts[String(answer.status)] ?? 0) + 1;
  for (const run of cli) {
    const key = run.code === 0 ? 'cli ok' : 'cli failed';
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

export const acceptedDisabled = (answers: readonly Answer[]): number => answers.filter((answer) => answer.status === 200).length;
