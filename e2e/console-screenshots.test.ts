import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../src/server/actor.js';
import { browserAvailable, launchBrowser, newConsoleContext, screenshotBothThemes } from './support/browser.js';
import { requestToken, signIn, startConsoleServer, type ConsoleServer } from './support/console-server.js';

const WIDTHS = [390, 1024, 1280, 1440] as const;
const LONG_NAME = 'Quarterly revenue reconciliation export for the finance data warehouse (EU region)';

/** Every page at a phone's width and three laptop widths, in both themes, for a person to look at (test-results/screenshots/). */
describe.runIf(browserAvailable())('screenshots of every page at every width', () => {
  let console_: ConsoleServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let longId = '';

  /** What makes the page scroll sideways: the elements reaching past the viewport's right edge (none, when it does not). */
  const overflowsSideways = async () =>
    page.evaluate(`document.scrollingElement.scrollWidth <= document.scrollingElement.clientWidth + 1 ? [] :
      [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > document.scrollingElement.clientWidth + 1)
        .slice(-5).map((e) => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))`);

  beforeAll(async () => {
    console_ = await startConsoleServer();
    const { clients } = console_.server.services;
    const viewer = console_.roles.viewer.id;
    const long = await clients.create(SYSTEM_ACTOR, { name: LONG_NAME, description: 'Runs at the end of each quarter', roleId: viewer });
    longId = long.client.id;
    await requestToken(console_.url, long.client.id, long.clientSecret);
    const off = await clients.create(SYSTEM_ACTOR, { name: 'Legacy importer', roleId: viewer });
    await clients.update(SYSTEM_ACTOR, off.client.id, { enabled: false });
    for (const name of ['Billing export', 'Warehouse sync', 'Reporting']) await clients.create(SYSTEM_ACTOR, { name });
    browser = await launchBrowser();
    context = await newConsoleContext(browser, console_.url);
    page = await context.newPage();
    await signIn(page, console_);
  }, 240_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await console_?.close();
  });

  it.each(WIDTHS)('screenshots every page at %i px wide in both themes', async (width) => {
    await page.setViewportSize({ width, height: 800 });
    const pages: [string, string, string][] = [
      ['users', '/users', 'Users'],
      ['roles', '/roles', 'Roles'],
      ['role-detail', `/roles/${console_.roles.viewer.id}`, 'Viewer'],
      ['audit', '/audit', 'Audit'],
      ['client-permissions', `/system/connections/${longId}?tab=permissions`, LONG_NAME],
      ['not-found', '/nope', 'Page not found'],
    ];
    for (const [name, path, heading] of pages) {
      await page.goto(path);
      await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
      expect(await overflowsSideways()).toEqual([]);
      await screenshotBothThemes(page, `${name}-${width}`);
    }
  });
});
