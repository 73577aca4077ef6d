import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import { freePort } from './free-port.js';

/**
 * A PostgreSQL cluster of its own, for tests that kill, freeze and restart the database: `initdb`
 * into a temporary folder, its own port and socket folder. The shared server is never touched.
 * PostgreSQL refuses to run as root, so where the tests run as root it runs as `postgres`.
 */
export interface PrivatePostgres {
  readonly port: number;
  /** A connection URL for the `postgres` database as the `postgres` superuser. */
  readonly url: string;
  start(): Promise<void>;
  /** `pg_ctl stop`: `fast` ends sessions cleanly (a restart), `immediate` aborts them (a crash). */
  stop(mode: 'fast' | 'immediate'): Promise<void>;
  /** SIGKILL to the postmaster and every backend: the host lost the database at once. */
  killAll(): Promise<void>;
  /** SIGSTOP (or SIGCONT) to the postmaster and every backend: a database that answers nothing. */
  freeze(): void;
  thaw(): void;
  /** The postmaster and its children now. */
  pids(): number[];
  /** Runs one statement on a fresh superuser connection. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>;
  /** Stops the cluster (if running) and removes its folder. */
  destroy(): Promise<void>;
}

export const POSTGRES_BIN = process.env['KOIOS_TEST_PG_BIN'] ?? '/usr/lib/postgresql/15/bin';

/**
 * Whether a private cluster can be made here and this run tests PostgreSQL at all; under CI, with
 * PostgreSQL not narrowed away, it must be (the fault suites cannot be skipped there).
 */
export function privatePostgresAvailable(): boolean {
  if (!inject('testDialects').includes('postgres')) return false;
  const available = existsSync(join(POSTGRES_BIN, 'initdb'));
  if (!available && process.env['CI'] === 'true') {
    throw new Error(`initdb is not at ${POSTGRES_BIN} (set KOIOS_TEST_PG_BIN); under CI the PostgreSQL fault suites must run`);
  }
  return available;
}

const asRoot = process.getuid?.() === 0;

function run(command: string, args: string[], timeout = 60_000): string {
  const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(POSTGRES_BIN, command), ...args]] : [join(POSTGRES_BIN, command), args];
  return execFileSync(file, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout });
}

function childrenOf(parent: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name in parentheses may hold spaces; the parent pid is the second field after it.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent) pids.push(Number(entry));
    } catch {
      // The process ended while the list was read.
    }
  }
  return pids;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A process may end between being listed and being signalled. */
function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

export async function createPrivatePostgres(): Promise<PrivatePostgres> {
  const root = mkdtempSync(join(tmpdir(), 'koios-pg-'));
  const dataDir = join(root, 'data');
  const socketDir = join(root, 'socket');
  mkdirSync(socketDir);
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(root, uid, gid);
    chownSync(socketDir, uid, gid);
  }
  run('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  // Small and unsynced: this cluster lives for one test file and is killed on purpose.
  const serverOptions = `-p ${port} -k ${socketDir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100 -c shared_buffers=16MB`;

  const postmaster = (): number | null => {
    try {
      return Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    } catch {
      return null;
    }
  };
  const pids = (): number[] => {
    const main = postmaster();
    return main === null || !alive(main) ? [] : [main, ...childrenOf(main)];
  };

  const cluster: PrivatePostgres = {
    port,
    url,
    async start() {
      run('pg_ctl', ['-D', dataDir, '-o', serverOptions, '-l', join(root, 'server.log'), '-w', '-t', '60', 'start']);
    },
    async stop(mode) {
      run('pg_ctl', ['-D', dataDir, '-m', mode, '-w', '-t', '60', 'stop']);
    },
    async killAll() {
      const all = pids();
      for (const pid of all) signal(pid, 'SIGKILL');
      for (let waited = 0; all.some(alive) && waited < 10_000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    },
    freeze() {
      for (const pid of pids()) signal(pid, 'SIGSTOP');
    },
    thaw() {
      const main = postmaster();
      const all = main === null ? [] : [main, ...childrenOf(main)];
      for (const pid of all) signal(pid, 'SIGCONT');
    },
    pids,
    async query(text, values) {
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
      client.on('error', () => undefined);
      await client.connect();
      try {
        return (await client.query(text, values)).rows;
      } finally {
        await client.end().catch(() => undefined);
      }
    },
    async destroy() {
      try {
        cluster.thaw();
        if (pids().length > 0) await cluster.stop('immediate');
      } catch (error) {
        process.stderr.write(`private PostgreSQL did not stop (${(error as Error).message.split('\n')[0]}); killing it\n`);
        await cluster.killAll();
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
  await cluster.start();
  return cluster;
}

/** The backend serving the LISTEN connection of the server process `serverPid` (named after it). */
export async function listenerBackend(cluster: PrivatePostgres, serverPid: number): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const rows = await cluster.query<{ pid: number }>('select pid from pg_stat_activity where application_name = $1', [`koios listener ${serverPid}`]);
    if (rows[0] !== undefined) return rows[0].pid;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no LISTEN connection of process ${serverPid}`);
}
