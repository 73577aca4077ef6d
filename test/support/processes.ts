import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A real server process (`src/server/main.ts` under tsx), as an operator runs it. */
export interface ServerProcess {
  readonly url: string;
  readonly port: number;
  readonly child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** True when it exited without being asked to (a crash). */
  crashed(): boolean;
  /** SIGTERM (or another signal), then the exit code once it has exited. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface ServerProcessOptions {
  /** Environment on top of this process's: KOIOS_DATABASE_URL at least. */
  readonly env: Record<string, string>;
  /** Defaults to a free loopback port. */
  readonly port?: number;
  /** How long to wait for `/readyz`; starting under tsx on a busy machine takes seconds. */
  readonly readyTimeoutMs?: number;
  /** The script to run, relative to the repository; `src/server/main.ts` unless a harness wraps the server. */
  readonly entry?: string;
}

export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, ['--import', 'tsx', options.entry ?? 'src/server/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), KOIOS_ISSUER: url, KOIOS_LOG_LEVEL: 'warn', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: string[] = [];
  child.stdout!.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  let asked = false;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const server: ServerProcess = {
    url,
    port,
    child,
    output: () => chunks.join(''),
    crashed: () => !asked && child.exitCode !== null,
    async stop(signal = 'SIGTERM') {
      asked = true;
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode} while starting:\n${server.output()}`);
    const ready = await fetch(`${url}/readyz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) return server;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await server.stop('SIGKILL');
  throw new Error(`the server was not ready within ${options.readyTimeoutMs ?? 60_000} ms:\n${server.output()}`);
}
