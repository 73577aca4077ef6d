import { readFileSync, writeFileSync } from 'node:fs';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Where a bench target's memory is, for BENCH_KOIOS_MEMORY_FILE: every 2 s, and at shutdown
 * before and after a full GC, the file is rewritten with process.memoryUsage(), V8's heap spaces
 * (committed and used) and the kernel's split of RSS (anonymous, file-backed, shared). RSS over
 * the JS heap is then native memory: malloc'd by Node, the database drivers, OpenSSL, threads.
 */
export function startMemoryReport(file: string | undefined): { atShutdown(): void } {
  if (file === undefined) return { atShutdown() {} };
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const samples: Record<string, unknown> = {};
  const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
  const sample = () => {
    const usage = process.memoryUsage();
    const status = readFileSync('/proc/self/status', 'utf8');
    const kernel = Object.fromEntries(
      ['VmHWM', 'VmRSS', 'RssAnon', 'RssFile', 'RssShmem', 'Threads'].map((name) => [name, new RegExp(`^${name}:\\s+(.*)$`, 'm').exec(status)?.[1] ?? '?']),
    );
    return {
      mb: {
        rss: mb(usage.rss),
        heapTotal: mb(usage.heapTotal),
        heapUsed: mb(usage.heapUsed),
        external: mb(usage.external),
        arrayBuffers: mb(usage.arrayBuffers),
      },
      kernel,
      spaces: Object.fromEntries(
        v8.getHeapSpaceStatistics().map((space) => [space.space_name, { committedMb: mb(space.space_size), usedMb: mb(space.space_used_size) }]),
      ),
    };
  };
  let peakRss = 0;
  const write = (name: string) => {
    const now = sample();
    peakRss = Math.max(peakRss, now.mb.rss);
    samples[name] = now;
    samples['peakRssMb'] = peakRss;
    writeFileSync(file, `${JSON.stringify(samples, null, 1)}\n`);
  };
  setInterval(() => write('latest'), 2000).unref();
  return {
    atShutdown() {
      write('atShutdown');
      gc();
      write('afterFullGc');
    },
  };
}
