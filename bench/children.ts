import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { READY_PREFIX } from './targets/common.js';

/**
 * Bench targets as child processes (`node --import tsx bench/targets/<name>.ts`), so the load
 * generator and each server have an event loop of their own. Every child started here is stopped
 * by `cleanUp()` (SIGTERM, then SIGKILL), which also runs the registered clean-ups (temporary
 * databases); a SIGINT/SIGTERM of the bench runs it too, and a last-resort exit hook kills any
 * child still alive.
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const READY_TIMEOUT_MS = 300_000;
const STOP_TIMEOUT_MS = 20_000;

export interface TargetProcess<Info> {
  readonly name: string;
  readonly pid: number;
  /** What the target printed on its readiness line (`url` at least). */
  readonly info: Info & { readonly url: string };
  /** Resident set size from /proc/<pid>/status, or null once the process is gone. */
  rssBytes(): number | null;
  /** The last lines the target wrote to stderr and stdout, for error messages. */
  output(): string;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
const cleanUps: (() => Promise<void>)[] = [];

/** Registers a clean-up (drop a schema, remove a directory) to run after the children are stopped. */
export function onCleanUp(cleanUp: () => Promise<void>): void {
  cleanUps.push(cleanUp);
}

let cleaning: Promise<string[]> | undefined;

/** Stops every child, then runs the clean-ups (newest first); returns what failed. */
export function cleanUp(): Promise<string[]> {
  cleaning ??= (async () => {
    const problems: string[] = [];
    await Promise.all([...live].map((child) => stopChild(child)));
    for (const cleanUp of cleanUps.reverse()) {
      await cleanUp().catch((error: unknown) => problems.push(`clean-up: ${(error as Error).message}`));
    }
    return problems;
  })();
  return cleaning;
}

process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\nbench: ${signal}, stopping the targets and dropping the temporary databases…\n`);
    void cleanUp().finally(() => process.exit(130));
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    live.delete(child);
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      live.delete(child);
      resolve();
    });
    child.kill('SIGTERM');
    child.stdin?.end();
  });
}

function rssOf(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match === null ? null : Number(match[1]) * 1024;
  } catch {
    return null;
  }
}

/**
 * Compiles the server into dist/server (`npm run build:server`), which the Koios targets run as
 * `npm start` does, unless BENCH_KOIOS_FROM=src asks for the TypeScript sources.
 */
export function buildServer(log: (line: string) => void): void {
  if (process.env['BENCH_KOIOS_FROM'] === 'src') return log('koios: running the TypeScript sources under tsx (BENCH_KOIOS_FROM=src)');
  const started = Date.now();
  const built = spawnSync('npm', ['run', '--silent', 'build:server'], { cwd: ROOT, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`npm run build:server failed:\n${built.stdout}${built.stderr}`);
  log(`koios: server compiled into dist/server in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** Starts bench/targets/<script>.ts and resolves once it printed its readiness line. */
export function startTarget<Info extends Record<string, unknown>>(
  name: string,
  script: string,
  env: Record<string, string>,
  nodeArgs: readonly string[] = [],
): Promise<TargetProcess<Info>> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', join(ROOT, 'bench', 'targets', `${script}.ts`)], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  live.add(child);
  const tail: string[] = [];
  const keep = (line: string) => {
    tail.push(line);
    if (tail.length > 40) tail.shift();
  };
  child.stderr!.setEncoding('utf8');
  createInterface({ input: child.stderr! }).on('line', keep);

  return new Promise((resolve, reject) => {
    let settled = false;
    const failed = (message: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void stopChild(child).then(() => reject(new Error(`${name}: ${message}${tail.length > 0 ? `\n    ${tail.join('\n    ')}` : ''}`)));
    };
    const timer = setTimeout(() => failed(`not ready after ${READY_TIMEOUT_MS / 1000} s`), READY_TIMEOUT_MS);
    child.once('error', (error) => failed(`could not start: ${error.message}`));
    child.once('exit', (code, signal) => {
      live.delete(child);
      failed(`exited (${signal ?? `code ${code}`}) before it was ready`);
    });
    // The readiness line, then keep draining stdout so a chatty target never blocks on a full pipe.
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (settled || !line.startsWith(READY_PREFIX)) {
        if (!line.startsWith(READY_PREFIX)) keep(line);
        return;
      }
      settled = true;
      clearTimeout(timer);
      const info = JSON.parse(line.slice(READY_PREFIX.length)) as Info & { url: string; pid: number };
      resolve({
        name,
        pid: child.pid!,
        info,
        rssBytes: () => rssOf(child.pid!),
        output: () => tail.join('\n'),
        stop: () => stopChild(child),
      });
    });
  });
}
