import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext } from 'playwright-core';
import { launchBrowser, newConsoleContext } from '../e2e/support/browser.js';
import { cleanUp, onCleanUp } from './children.js';

/**
 * `npm run bench -- console [--runs 15] [--clients 60] [--trace PATH] [--against DIST]`: how soon the console shows
 * the first row of the API client list after navigation, on loopback, with an empty cache. It builds
 * nothing: it starts the built server (`node dist/server/main.js`, run `npm run build` first) on a new
 * SQLite file with one Administrator and a seeded list, then drives Debian's Chromium headless, a new
 * browser context (empty HTTP cache, only the session cookie) for each run. Each figure is milliseconds
 * from the start of navigation, as the page measures it (Navigation and Resource Timing, the console's
 * own `performance.mark`s, a MutationObserver for the row); medians and p90 over the runs.
 * `--trace PATH` also writes a Chromium trace of one more run (open it in chrome://tracing or
 * Perfetto) and prints where that run's main thread spent its time before the first row;
 * `--cpuprofile PATH` the page's CPU profile of one more run (read it with bench/cpuprofile-top.ts);
 * `--against DIST` measures another build (its `dist` directory, e.g. built in a worktree of the
 * base commit) in alternation with this one, and prints the ratio of their medians.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');
const serverOf = (dist: string) => join(dist, 'server', 'main.js');
const indexOf = (dist: string) => join(dist, 'web', 'index.html');
const ADMIN = { email: 'bench@koios.test', password: 'a long bench password for the console' };
const LIST_PATH = '/system/connections';

const out = (line = '') => process.stdout.write(`${line}\n`);

/**
 * Run in the page before its own scripts: notes when the list's first row is in the DOM, and the
 * frame that paints it.
 */
const FIRST_ROW_PROBE = `new MutationObserver((_, observer) => {
  if (document.querySelector('table[aria-label="API clients"] tbody a') === null) return;
  observer.disconnect();
  window.firstRowInDom = performance.now();
  requestAnimationFrame(() => (window.firstRow = performance.now()));
}).observe(document, { childList: true, subtree: true });`;

/** What one run measured: each a time from the start of navigation, or null when the page had no such step. */
interface Run {
  readonly htmlReceived: number;
  readonly cssReceived: number | null;
  readonly scriptsRequested: number | null;
  readonly scriptsReceived: number | null;
  readonly scriptsEvaluated: number | null;
  readonly session: number | null;
  readonly me: number | null;
  readonly firstPage: number | null;
  readonly rowInDom: number;
  readonly firstRow: number;
  readonly scripts: number;
}

const COLUMNS: readonly (readonly [keyof Run, string])[] = [
  ['htmlReceived', 'HTML received (responseEnd)'],
  ['cssReceived', 'CSS received'],
  ['scriptsRequested', 'first screen’s scripts asked for (last)'],
  ['scriptsReceived', 'first screen’s scripts received (last)'],
  ['scriptsEvaluated', 'scripts evaluated (console:start mark)'],
  ['session', 'GET /api/v1/session answered'],
  ['me', 'GET /api/v1/me answered'],
  ['firstPage', 'GET /api/v1/clients answered'],
  ['rowInDom', 'first row in the DOM'],
  ['firstRow', 'first data row painted (next frame)'],
];

/** Read in the page once the row is painted. */
const MEASURE = `(() => {
  const navigation = performance.getEntriesByType('navigation')[0];
  const resources = performance.getEntriesByType('resource').filter((entry) => entry.responseEnd <= window.firstRow);
  const last = (test, field = 'responseEnd') => {
    const ends = resources.filter((entry) => test(new URL(entry.name))).map((entry) => entry[field]);
    return ends.length === 0 ? null : Math.max(...ends);
  };
  const mark = performance.getEntriesByName('console:start')[0];
  // An answer the server put in the HTML itself (src/server/http/console.ts) came with the HTML.
  const element = document.getElementById('koios-first-data');
  const inPage = element === null ? [] : Object.keys(JSON.parse(element.textContent)).map((url) => new URL(url, location.href).pathname);
  const api = (path) => last((url) => url.pathname === path) ?? (inPage.includes(path) ? navigation.responseEnd : null);
  return {
    htmlReceived: navigation.responseEnd,
    cssReceived: last((url) => url.pathname.endsWith('.css')),
    scriptsRequested: last((url) => url.pathname.endsWith('.js'), 'startTime'),
    scriptsReceived: last((url) => url.pathname.endsWith('.js')),
    scriptsEvaluated: mark === undefined ? null : mark.startTime,
    session: api('/api/v1/session'),
    me: api('/api/v1/me'),
    firstPage: api('/api/v1/clients'),
    rowInDom: window.firstRowInDom,
    firstRow: window.firstRow,
    scripts: resources.filter((entry) => new URL(entry.name).pathname.endsWith('.js')).length,
  };
})()`;

interface Options {
  runs: number;
  clients: number;
  trace: string | null;
  cpuprofile: string | null;
  /** Another build's dist directory, measured in alternation with this one. */
  against: string | null;
}

function parseArgs(argv: readonly string[]): Options {
  const options: Options = { runs: 15, clients: 60, trace: null, cpuprofile: null, against: null };
  for (let index = 0; index < argv.length; index += 1) {
    const flag = argv[index]!;
    const value = argv[index + 1];
    if (flag === '--trace' && value !== undefined) options.trace = value;
    else if (flag === '--cpuprofile' && value !== undefined) options.cpuprofile = value;
    else if (flag === '--against' && value !== undefined) options.against = value;
    else if ((flag === '--runs' || flag === '--clients') && value !== undefined && /^\d+$/.test(value) && Number(value) > 0)
      options[flag === '--runs' ? 'runs' : 'clients'] = Number(value);
    else throw new Error(`console bench: unknown or bad argument ${flag} (use --runs N, --clients N, --trace PATH, --cpuprofile PATH, --against DIST)`);
    index += 1;
  }
  return options;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The built server on a new SQLite file, with one Administrator; resolves once /readyz answers. */
async function startServer(dist: string): Promise<{ url: string; child: ChildProcess; output: () => string }> {
  const dir = mkdtempSync(join(tmpdir(), 'koios-console-bench-'));
  onCleanUp(async () => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [serverOf(dist)], {
    cwd: dir,
    env: {
      ...process.env,
      KOIOS_DATABASE_URL: `file:${join(dir, 'koios.db')}`,
      HOST: '127.0.0.1',
      PORT: String(port),
      KOIOS_ADMIN_EMAIL: ADMIN.email,
      KOIOS_ADMIN_PASSWORD: ADMIN.password,
      KOIOS_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-4000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  onCleanUp(
    () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  );
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited (code ${child.exitCode}):\n${output}`);
    const ready = await fetch(`${url}/readyz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) return { url, child, output: () => output };
    if (Date.now() > deadline) throw new Error(`the server was not ready after 60 s:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Signs in as the console does and creates `count` clients through the REST API; returns the session cookie. */
async function seed(url: string, count: number): Promise<{ name: string; value: string }> {
  const signIn = await fetch(`${url}/api/v1/session`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Origin: url },
    body: JSON.stringify(ADMIN),
  });
  if (!signIn.ok) throw new Error(`sign-in: ${signIn.status} ${await signIn.text()}`);
  const { csrfToken } = (await signIn.json()) as { csrfToken: string };
  const [name, value] = signIn.headers.getSetCookie()[0]!.split(';')[0]!.split(/=(.*)/s) as [string, string];
  for (let index = 1; index <= count; index += 1) {
    const created = await fetch(`${url}/api/v1/clients`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: url, Cookie: `${name}=${value}`, 'X-CSRF-Token': csrfToken },
      body: JSON.stringify({ name: `Bench ${index}`, description: 'Seeded by the console bench' }),
    });
    if (created.status !== 201) throw new Error(`creating a client: ${created.status} ${await created.text()}`);
  }
  return { name, value };
}

type Recording = { readonly trace?: string; readonly cpuprofile?: string };

async function measureOnce(browser: Browser, url: string, cookie: { name: string; value: string }, record: Recording = {}): Promise<Run> {
  // A new context each time: an empty HTTP cache, only the session cookie.
  const context: BrowserContext = await newConsoleContext(browser, url);
  try {
    await context.addCookies([{ ...cookie, url }]);
    await context.addInitScript(FIRST_ROW_PROBE);
    const page = await context.newPage();
    const { trace, cpuprofile } = record;
    let profiler: Awaited<ReturnType<BrowserContext['newCDPSession']>> | undefined;
    if (cpuprofile !== undefined) {
      // A page of the same origin that loads nothing first, so that the profiled renderer is the list's.
      await page.goto('/healthz');
      profiler = await context.newCDPSession(page);
      await profiler.send('Profiler.enable');
      await profiler.send('Profiler.setSamplingInterval', { interval: 100 });
      await profiler.send('Profiler.start');
    }
    if (trace !== undefined) {
      await browser.startTracing(page, {
        path: trace,
        screenshots: false,
        categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8.execute', 'blink.user_timing', 'loading', 'netlog'],
      });
    }
    await page.goto(LIST_PATH, { waitUntil: 'commit' });
    // Polled every 100 ms rather than by a locator: Playwright's queries would run on the main thread measured.
    await page.waitForFunction(() => typeof (globalThis as { firstRow?: unknown }).firstRow === 'number', undefined, { polling: 100, timeout: 30_000 });
    const run = await page.evaluate<Run>(MEASURE);
    if (trace !== undefined) await browser.stopTracing();
    if (profiler !== undefined) writeFileSync(cpuprofile!, JSON.stringify((await profiler.send('Profiler.stop')).profile));
    await page.waitForLoadState('load');
    return run;
  } finally {
    await context.close();
  }
}

function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  if (p === 50 && sorted.length % 2 === 0) return (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

interface TraceEvent {
  readonly name: string;
  readonly cat: string;
  readonly ph: string;
  readonly ts: number;
  readonly dur?: number;
  readonly pid: number;
  readonly tid: number;
  readonly args?: { readonly data?: { readonly url?: string; readonly frame?: string } };
}

/**
 * The renderer main thread's time before the first row, by the kind of work of its top-level tasks'
 * children (compile, evaluate, parse HTML, style, layout, paint, GC…), from a Chromium trace.
 */
async function summariseTrace(path: string, firstRowMs: number): Promise<void> {
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as { traceEvents: TraceEvent[] } | TraceEvent[];
  const events = Array.isArray(parsed) ? parsed : parsed.traceEvents;
  const mainThread = events.find(
    (event) =>
      event.name === 'thread_name' &&
      (event as { args?: { name?: string } }).args?.name === 'CrRendererMain' &&
      events.some((other) => other.pid === event.pid && other.name === 'ResourceSendRequest'),
  );
  if (mainThread === undefined) return void out('trace: no renderer main thread found');
  const start =
    events.find((event) => event.pid === mainThread.pid && event.name === 'navigationStart')?.ts ??
    events.find((event) => event.name === 'ResourceSendRequest')!.ts;
  const end = start + firstRowMs * 1000;
  const mine = events.filter(
    (event) => event.pid === mainThread.pid && event.tid === mainThread.tid && event.ph === 'X' && event.ts >= start && event.ts < end,
  );
  const tasks = mine.filter((event) => event.name === 'RunTask' || event.name === 'ThreadControllerImpl::RunTask');
  const busy = tasks.reduce((sum, task) => sum + (task.dur ?? 0), 0);
  const kinds = new Map<string, number>();
  const KINDS = [
    'v8.compile',
    'v8.compileModule',
    'EvaluateScript',
    'v8.evaluateModule',
    'FunctionCall',
    'ParseHTML',
    'ParseAuthorStyleSheet',
    'UpdateLayoutTree',
    'Layout',
    'Paint',
    'PrePaint',
    'Commit',
    'MinorGC',
    'MajorGC',
    'TimerFire',
    'EventDispatch',
    'RunMicrotasks',
    'v8.run',
  ];
  for (const event of mine) if (KINDS.includes(event.name)) kinds.set(event.name, (kinds.get(event.name) ?? 0) + (event.dur ?? 0));
  out(`trace: main thread busy ${(busy / 1000).toFixed(0)} ms of the ${firstRowMs.toFixed(0)} ms before the first row (nested kinds overlap):`);
  for (const [kind, micros] of [...kinds].sort((a, b) => b[1] - a[1])) out(`  ${kind.padEnd(24)} ${(micros / 1000).toFixed(1).padStart(7)} ms`);
  const long = tasks
    .filter((task) => (task.dur ?? 0) > 20_000)
    .map((task) => `${((task.ts - start) / 1000).toFixed(0)}+${((task.dur ?? 0) / 1000).toFixed(0)}`);
  out(`  tasks over 20 ms (start+duration, ms): ${long.join(', ') || 'none'}`);
}

function printTable(title: string, runs: readonly Run[]): void {
  out();
  out(title);
  out(`| ${'step'.padEnd(42)} | median |    p90 |`);
  out(`|${'-'.repeat(44)}|-------:|-------:|`);
  for (const [key, label] of COLUMNS) {
    const samples = runs.map((run) => run[key]).filter((value): value is number => value !== null);
    const cell = (p: number) => (samples.length === 0 ? '—' : percentile(samples, p).toFixed(0)).padStart(6);
    out(`| ${label.padEnd(42)} | ${cell(50)} | ${cell(90)} |`);
  }
  out(`first data row, each run: ${runs.map((run) => run.firstRow.toFixed(0)).join(', ')}; scripts loaded before it: ${runs[0]!.scripts}`);
}

const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');

export async function consoleBench(argv: readonly string[]): Promise<number> {
  const options = parseArgs(argv);
  const builds = [DIST, ...(options.against === null ? [] : [options.against])];
  for (const dist of builds) {
    const missing = [serverOf(dist), indexOf(dist)].find((path) => !existsSync(path));
    if (missing !== undefined) {
      out(`console bench: ${missing} is missing: run \`npm run build\` first (the bench builds nothing)`);
      return 1;
    }
  }
  const cores = cpus();
  out(`machine: ${cores.length} × ${cores[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}; load average at start ${load()}`);
  let browser: Browser | undefined;
  try {
    const targets: { dist: string; url: string; cookie: { name: string; value: string }; runs: Run[] }[] = [];
    for (const dist of builds) {
      const { url } = await startServer(dist);
      targets.push({ dist, url, cookie: await seed(url, options.clients), runs: [] });
    }
    browser = await launchBrowser();
    // One run unmeasured: the server's first requests (compiling, caches) and the browser's own start.
    for (const target of targets) await measureOnce(browser, target.url, target.cookie);
    // With two builds, in alternation, so that a change in the machine's load falls on both alike.
    for (let run = 0; run < options.runs; run += 1) for (const target of targets) target.runs.push(await measureOnce(browser, target.url, target.cookie));
    for (const target of targets)
      printTable(
        `first data row of ${LIST_PATH} (${target.dist}) on loopback, empty cache, ${options.runs} runs, ${options.clients} clients; ms from the start of navigation:`,
        target.runs,
      );
    if (targets.length === 2) {
      const median = (target: (typeof targets)[number]) =>
        percentile(
          target.runs.map((run) => run.firstRow),
          50,
        );
      out();
      out(`first data row, median of ${targets[0]!.dist} ÷ ${targets[1]!.dist}: ${(median(targets[0]!) / median(targets[1]!)).toFixed(2)}×`);
    }
    const { url, cookie } = targets[0]!;
    if (options.trace !== null) {
      const traced = await measureOnce(browser, url, cookie, { trace: options.trace });
      out();
      out(`trace of one more run (first row at ${traced.firstRow.toFixed(0)} ms) written to ${options.trace}`);
      await summariseTrace(options.trace, traced.firstRow);
    }
    if (options.cpuprofile !== null) {
      const profiled = await measureOnce(browser, url, cookie, { cpuprofile: options.cpuprofile });
      out();
      out(
        `CPU profile of one more run (first row at ${profiled.firstRow.toFixed(0)} ms) written to ${options.cpuprofile}: npx tsx bench/cpuprofile-top.ts ${options.cpuprofile}`,
      );
    }
    out(`load average at end ${load()}`);
    return 0;
  } finally {
    await browser?.close().catch(() => undefined);
    const problems = await cleanUp();
    for (const problem of problems) out(problem);
  }
}
