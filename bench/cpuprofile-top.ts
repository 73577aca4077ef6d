import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Profile } from './cpuprofile.js';

/**
 * Where a `node --cpu-prof` profile spent its time: self time aggregated by function + script, and
 * by package (or source file). Usage:
 *   npx tsx bench/cpuprofile-top.ts <file.cpuprofile | directory (newest profile)> [top=25] [skip-seconds=0]
 * skip-seconds leaves out the start of the profile (a Koios target inserts its clients first).
 * Profile the Koios targets under load with e.g.
 *   BENCH_KOIOS_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/koios-prof" BENCH_ONLY=token,bare npm run bench
 */

function pickProfile(path: string): string {
  if (!statSync(path).isDirectory()) return path;
  const newest = readdirSync(path)
    .filter((name) => name.endsWith('.cpuprofile'))
    .map((name) => join(path, name))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  if (newest === undefined) throw new Error(`no .cpuprofile in ${path}`);
  return newest;
}

/** `node_modules/fastify/lib/x.js` → `fastify`; our own files stay files; node internals are `node:`. */
function packageOf(url: string): string {
  if (url === '') return '(native / VM)';
  if (url.startsWith('node:')) return 'node: internals';
  const index = url.lastIndexOf('/node_modules/');
  if (index !== -1) {
    const rest = url.slice(index + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const src = url.indexOf('/src/');
  return src === -1 ? url.replace(/^file:\/\//, '') : url.slice(src + 1);
}

function shortUrl(url: string): string {
  const index = url.lastIndexOf('/node_modules/');
  if (index !== -1) return url.slice(index + '/node_modules/'.length);
  const src = url.indexOf('/src/');
  if (src !== -1) return url.slice(src + 1);
  return url.replace(/^file:\/\//, '');
}

function main(): void {
  const [target, topArg, skipArg] = process.argv.slice(2);
  if (target === undefined) throw new Error('usage: tsx bench/cpuprofile-top.ts <file.cpuprofile | directory> [top]');
  const top = Number(topArg ?? '25');
  const file = pickProfile(target);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));

  // Self time: each sample's time delta goes to the node that was on top of the stack.
  const skipMicros = Number(skipArg ?? '0') * 1e6;
  const selfByNode = new Map<number, number>();
  let at = 0;
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    at += delta;
    if (at >= skipMicros) selfByNode.set(id, (selfByNode.get(id) ?? 0) + delta);
  });
  const total = [...selfByNode.values()].reduce((sum, value) => sum + value, 0);

  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  let idle = 0;
  for (const [id, micros] of selfByNode) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') idle += micros;
    // tsx-compiled sources report line 1 (the profile sees the generated code): no line for those.
    const line = lineNumber > 0 ? `:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'}  ${url === '' ? '' : `${shortUrl(url)}${line}`}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + micros);
    const pkg = functionName.startsWith('(') ? functionName : packageOf(url);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + micros);
  }

  const busy = total - idle;
  const print = (title: string, entries: Map<string, number>, limit: number) => {
    process.stdout.write(`\n${title}\n`);
    process.stdout.write(`${'self ms'.padStart(9)} ${'% all'.padStart(6)} ${'% busy'.padStart(7)}  what\n`);
    for (const [key, micros] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, limit)) {
      const share = (of: number) => (of === 0 || (of === busy && key.startsWith('(idle)')) ? '—' : ((100 * micros) / of).toFixed(1));
      process.stdout.write(`${(micros / 1000).toFixed(0).padStart(9)} ${share(total).padStart(6)} ${share(busy).padStart(7)}  ${key}\n`);
    }
  };
  process.stdout.write(`${file}\n`);
  process.stdout.write(
    `${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s profiled${skipMicros > 0 ? ` (first ${skipMicros / 1e6} s left out)` : ''}, ` +
      `${(busy / 1e6).toFixed(1)} s busy (not idle)\n`,
  );
  print(`top ${top} functions by self time`, byFunction, top);
  print('by package / source file', byPackage, 20);
}

main();
