import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ChaosModule, ChaosResult } from './chaos/scenario.js';

/**
 * `npm run chaos [name-substring…]`: every fault scenario of bench/chaos/*.scenarios.ts against
 * real processes, one table at the end. Exits 1 when any scenario accepted a disabled client,
 * lost a process, or threw.
 */
const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);

const files = readdirSync(join(here, 'chaos'))
  .filter((name) => name.endsWith('.scenarios.ts'))
  .sort();
const results: ChaosResult[] = [];
const failures: string[] = [];
for (const file of files) {
  const module = (await import(pathToFileURL(join(here, 'chaos', file)).href)) as ChaosModule;
  for (const scenario of module.scenarios) {
    if (filters.length > 0 && !filters.some((filter) => scenario.name.includes(filter))) continue;
    process.stdout.write(`• ${scenario.name} (${scenario.dialect})…\n`);
    try {
      const result = await scenario.run();
      results.push(result);
      if (result.disabledAccepted > 0 || result.crashes > 0) failures.push(result.scenario);
    } catch (error) {
      failures.push(scenario.name);
      process.stdout.write(`  failed: ${(error as Error).stack ?? String(error)}\n`);
    }
  }
}

const statuses = (byStatus: Readonly<Record<string, number>>): string =>
  Object.entries(byStatus)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([status, count]) => `${status}:${count}`)
    .join(' ');
const rows = results.map((result) => [
  result.scenario,
  String(result.requests),
  statuses(result.byStatus),
  String(result.disabledAccepted),
  result.recoveryMs === null ? '–' : `${Math.round(result.recoveryMs)} ms`,
  String(result.crashes),
]);
const header = ['scenario', 'requests', 'answers by status', '200 for disabled', 'recovery', 'crashes'];
const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
const line = (cells: readonly string[]): string => `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
process.stdout.write(`\n${line(header)}\n| ${widths.map((width) => '-'.repeat(width)).join(' | ')} |\n${rows.map(line).join('\n')}\n`);
for (const result of results) if (result.note) process.stdout.write(`\n- ${result.scenario}: ${result.note}`);
process.stdout.write('\n');
if (failures.length > 0) {
  process.stdout.write(`\nFAILED: ${failures.join(', ')}\n`);
  process.exitCode = 1;
}
