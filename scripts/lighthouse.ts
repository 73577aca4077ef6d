import { pathToFileURL } from 'node:url';
import * as chromeLauncher from 'chrome-launcher';
import lighthouse from 'lighthouse';
import { ensureConsoleBuilt } from '../e2e/support/console-build.js';
import { SYSTEM_ACTOR } from '../src/server/actor.js';
import type { Services } from '../src/server/services.js';
import { startSeededServer } from '../test/support/seeded-server.js';

/** Debian's Chromium, never a downloaded browser. */
const CHROMIUM = '/usr/bin/chromium';
const CHROME_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const ADMIN = { email: 'ada@koios.test', password: 'correct horse battery staple', name: 'Ada Lovelace' };

export interface PageScores {
  readonly page: string;
  readonly path: string;
  /** Category scores, 0 to 100. */
  readonly accessibility: number;
  readonly bestPractices: number;
  /** The audits that did not pass, for a reader to act on. */
  readonly failing: readonly string[];
}

/** An Administrator to sign in as and a few clients, one of them disabled; returns the id of the one whose page is measured. */
async function seedConsole(services: Services): Promise<string> {
  const roles = await services.roles.list(SYSTEM_ACTOR);
  const administrator = roles.find((role) => role.name === 'Administrator')!;
  const viewer = roles.find((role) => role.name === 'Viewer')!;
  await services.users.create(SYSTEM_ACTOR, { ...ADMIN, roleIds: [administrator.id] });
  const main = await services.clients.create(SYSTEM_ACTOR, { name: 'Nightly invoices', description: 'Sends the invoices each night', roleId: viewer.id });
  const off = await services.clients.create(SYSTEM_ACTOR, { name: 'Legacy importer', roleId: viewer.id });
  await services.clients.update(SYSTEM_ACTOR, off.client.id, { enabled: false });
  for (const name of ['Billing export', 'Warehouse sync', 'Reporting']) await services.clients.create(SYSTEM_ACTOR, { name });
  return main.client.id;
}

/** Signs in as the console does and returns the session cookie to send with every request. */
async function signIn(url: string): Promise<string> {
  const response = await fetch(`${url}/api/v1/session`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Origin: url },
    body: JSON.stringify({ email: ADMIN.email, password: ADMIN.password }),
  });
  if (!response.ok) throw new Error(`signing in answered ${response.status}: ${await response.text()}`);
  return response.headers
    .getSetCookie()
    .map((cookie) => cookie.split(';')[0]!)
    .join('; ');
}

/**
 * Lighthouse's accessibility and best-practices categories on the client list and a client's
 * detail page, signed in, against the real server (a process of its own) with a seeded database.
 */
export async function runLighthouse(): Promise<PageScores[]> {
  await ensureConsoleBuilt();
  const { server, seeded: clientId, stop } = await startSeededServer({ dialect: 'sqlite' }, seedConsole);
  const chrome = await chromeLauncher.launch({ chromePath: CHROMIUM, chromeFlags: CHROME_FLAGS, logLevel: 'silent' });
  try {
    const cookie = await signIn(server.url);
    const pages = [
      { page: 'client list', path: '/system/connections' },
      { page: 'client detail', path: `/system/connections/${clientId}` },
    ];
    const scores: PageScores[] = [];
    for (const { page, path } of pages) {
      const result = await lighthouse(`${server.url}${path}`, {
        port: chrome.port,
        output: 'json',
        logLevel: 'error',
        onlyCategories: ['accessibility', 'best-practices'],
        formFactor: 'desktop',
        screenEmulation: { mobile: false, width: 1350, height: 940, deviceScaleFactor: 1, disabled: false },
        throttlingMethod: 'provided',
        extraHeaders: { Cookie: cookie },
      });
      if (result === undefined) throw new Error(`Lighthouse returned nothing for ${path}`);
      const { categories, audits, finalDisplayedUrl } = result.lhr;
      // Without the session the console would have moved to Sign in: that page is not the one measured.
      if (new URL(finalDisplayedUrl).pathname !== path) throw new Error(`${path} ended on ${finalDisplayedUrl}, not the page asked for`);
      const score = (id: string) => Math.round((categories[id]?.score ?? 0) * 100);
      const ids = ['accessibility', 'best-practices'].flatMap((id) => categories[id]?.auditRefs.filter((ref) => ref.weight > 0).map((ref) => ref.id) ?? []);
      const failing = ids
        .filter((id) => audits[id]?.score !== null && audits[id]?.score !== undefined && audits[id].score < 1)
        .map((id) => `${id}: ${audits[id]!.title}`);
      scores.push({ page, path, accessibility: score('accessibility'), bestPractices: score('best-practices'), failing });
    }
    return scores;
  } finally {
    chrome.kill();
    await stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const scores = await runLighthouse();
  for (const { page, path, accessibility, bestPractices, failing } of scores) {
    process.stdout.write(`${page} (${path.replace(/[0-9a-f-]{36}$/, ':id')}): accessibility ${accessibility}, best practices ${bestPractices}\n`);
    for (const audit of failing) process.stdout.write(`  not passed: ${audit}\n`);
  }
}
