/**
 * What every bench target process shares: it prints one `BENCH_READY {json}` line on stdout when
 * it answers, and shuts down cleanly on SIGTERM/SIGINT or when its parent goes away (stdin closes).
 */

export { freePort } from '../../test/support/free-port.js';

export const READY_PREFIX = 'BENCH_READY ';

/** The small JSON object the bare routes answer. */
export const HELLO = { hello: 'world', ok: true, n: 42 };

export function announceReady(info: Record<string, unknown>): void {
  process.stdout.write(`${READY_PREFIX}${JSON.stringify({ pid: process.pid, ...info })}\n`);
}

/** Runs `stop` once on SIGTERM, SIGINT or the parent's end, then exits (which writes a --cpu-prof profile). */
export function onShutdown(stop: () => Promise<void>): void {
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    const timer = setTimeout(() => process.exit(1), 10_000);
    stop().then(
      () => {
        clearTimeout(timer);
        process.exit(0);
      },
      (error: unknown) => {
        process.stderr.write(`shutdown failed: ${(error as Error).stack ?? String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  process.stdin.on('end', shutdown);
  process.stdin.on('error', shutdown);
  process.stdin.resume();
}

export function fail(error: unknown): never {
  process.stderr.write(`bench target failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
}
