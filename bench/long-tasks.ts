import { readFileSync } from 'node:fs';
import type { CallFrame, Profile } from './cpuprofile.js';

/**
 * What ran during each long event-loop pause: `npx tsx bench/long-tasks.ts <file.cpuprofile>
 * <pauses file> [min-ms=40]`. The pauses file is what a target writes with BENCH_LAG_LOG
 * (`lag <end µs> <ms>` and `gc <end µs> <ms> <kind>` lines, on the monotonic clock a CPU
 * profile's timestamps use). For each pause, the samples of its window are summed by self
 * function and by the deepest frames of our own sources on their stacks.
 */

const name = (frame: CallFrame) => {
  const url = frame.url.replace(/^file:\/\//, '');
  const at = url.lastIndexOf('/node_modules/');
  const src = url.indexOf('/src/');
  const short = at !== -1 ? url.slice(at + 14) : src !== -1 ? url.slice(src + 1) : url;
  return `${frame.functionName || '(anonymous)'}${short === '' ? '' : ` ${short}`}`;
};

function main(): void {
  const [profileFile, pausesFile, minArg] = process.argv.slice(2);
  if (profileFile === undefined || pausesFile === undefined) throw new Error('usage: long-tasks.ts <cpuprofile> <pauses> [min-ms]');
  const min = Number(minArg ?? '40');
  const profile = JSON.parse(readFileSync(profileFile, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const times: number[] = [];
  let at = profile.startTime;
  for (const delta of profile.timeDeltas) times.push((at += delta));

  const pauses = readFileSync(pausesFile, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => line.split(' '))
    .map(([kind, end, ms, detail]) => ({ kind: kind!, end: Number(end), ms: Number(ms), detail: detail ?? '' }));
  for (const pause of pauses) {
    if (pause.kind === 'gc') {
      if (pause.ms >= 10) process.stdout.write(`gc ${pause.ms} ms (kind ${pause.detail}) at ${((pause.end - profile.startTime) / 1e6).toFixed(2)} s\n`);
      continue;
    }
    if (pause.ms < min) continue;
    const from = pause.end - pause.ms * 1000 - 5000;
    const self = new Map<string, number>();
    const ours = new Map<string, number>();
    let total = 0;
    profile.samples.forEach((id, index) => {
      const time = times[index]!;
      if (time < from || time > pause.end) return;
      const delta = profile.timeDeltas[index + 1] ?? 0;
      total += delta;
      const node = byId.get(id)!;
      self.set(name(node.callFrame), (self.get(name(node.callFrame)) ?? 0) + delta);
      // Every frame of our sources on the stack, counted once per sample.
      const seen = new Set<string>();
      for (let cursor: number | undefined = id; cursor !== undefined; cursor = parent.get(cursor)) {
        const frame = byId.get(cursor)!.callFrame;
        if (frame.url.includes('/src/') && !frame.url.includes('/node_modules/')) seen.add(name(frame));
      }
      for (const key of seen) ours.set(key, (ours.get(key) ?? 0) + delta);
    });
    const top = (entries: Map<string, number>, limit: number) =>
      [...entries]
        .sort((a, b) => b[1] - a[1])
        .slice(0, limit)
        .map(([key, micros]) => `      ${(micros / 1000).toFixed(1).padStart(7)} ms  ${key}`)
        .join('\n');
    process.stdout.write(
      `\npause ${pause.ms} ms ending at ${((pause.end - profile.startTime) / 1e6).toFixed(2)} s (${(total / 1000).toFixed(1)} ms of samples)\n` +
        `    self:\n${top(self, 8)}\n    our frames on the stack:\n${top(ours, 12)}\n`,
    );
  }
}

main();
