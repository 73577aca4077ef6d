import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUT = join(ROOT, 'dist', 'web');
/** The console's server half (src/web/server-render.tsx), built beside it from the same sources. */
const SERVER_OUT = join(ROOT, 'dist', 'web-server');
const LOCK = join(ROOT, 'dist', '.web-build.lock');
const SOURCES = [join(ROOT, 'src', 'web'), join(ROOT, 'src', 'shared'), join(ROOT, 'vite.config.ts')];

function newestChange(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path).reduce(
    (newest, name) => (name.endsWith('.test.tsx') || name.endsWith('.test.ts') ? newest : Math.max(newest, newestChange(join(path, name)))),
    0,
  );
}

function isFresh(): boolean {
  const sources = Math.max(...SOURCES.map(newestChange));
  return [join(OUT, 'index.html'), join(SERVER_OUT, 'server-render.js')].every((file) => existsSync(file) && statSync(file).mtimeMs >= sources);
}

async function withLock(work: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + 180_000;
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // Another test file is building; a lock older than five minutes was left by a crash.
      if (existsSync(LOCK) && Date.now() - statSync(LOCK).mtimeMs > 300_000) rmSync(LOCK, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${LOCK}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  try {
    await work();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

/**
 * The browser tests drive the built console, as `npm start` serves it. Build it (the two `vite build`
 * steps of `npm run build`) when dist/web or dist/web-server is missing or older than its sources.
 * Each build goes to a staging directory and is swapped in whole, so a server starting meanwhile
 * never sees half of one.
 */
export async function ensureConsoleBuilt(): Promise<void> {
  if (isFresh()) return;
  await withLock(async () => {
    if (isFresh()) return;
    const staging = join(ROOT, 'dist', `.web-staging-${process.pid}`);
    const serverStaging = join(ROOT, 'dist', `.web-server-staging-${process.pid}`);
    const vite = (...args: string[]) =>
      promisify(execFile)(process.execPath, [join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', ...args, '--emptyOutDir', '--logLevel', 'warn'], {
        cwd: ROOT,
        env: { ...process.env, NODE_ENV: 'production' },
        maxBuffer: 16 * 1024 * 1024,
      });
    await vite('--outDir', staging);
    await vite('--ssr', 'server-render.tsx', '--outDir', serverStaging);
    for (const [from, to] of [
      [staging, OUT],
      [serverStaging, SERVER_OUT],
    ] as const) {
      const retired = `${to}.retired-${process.pid}`;
      if (existsSync(to)) renameSync(to, retired);
      renameSync(from, to);
      rmSync(retired, { recursive: true, force: true });
    }
  });
}
