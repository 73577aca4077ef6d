import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUT = join(ROOT, 'dist', 'web');
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
  const index = join(OUT, 'index.html');
  return existsSync(index) && statSync(index).mtimeMs >= Math.max(...SOURCES.map(newestChange));
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
 * The browser tests drive the built console, as `npm start` serves it. Build it (the `vite build`
 * half of `npm run build`) when dist/web is missing or older than its sources. The build goes to a
 * staging directory and is swapped in whole, so a server starting meanwhile never sees half of it.
 */
export async function ensureConsoleBuilt(): Promise<void> {
  if (isFresh()) return;
  await withLock(async () => {
    if (isFresh()) return;
    const staging = join(ROOT, 'dist', `.web-staging-${process.pid}`);
    await promisify(execFile)(
      process.execPath,
      [join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--outDir', staging, '--emptyOutDir', '--logLevel', 'warn'],
      {
        cwd: ROOT,
        env: { ...process.env, NODE_ENV: 'production' },
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    const retired = join(ROOT, 'dist', `.web-retired-${process.pid}`);
    if (existsSync(OUT)) renameSync(OUT, retired);
    renameSync(staging, OUT);
    rmSync(retired, { recursive: true, force: true });
  });
}
