import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../src/server/actor.js';
import { browserAvailable, launchBrowser, newConsoleContext, screenshotBothThemes } from './support/browser.js';
import { requestToken, signIn, startConsoleServer, type ConsoleServer } from './support/console-server.js';

const WIDTHS = [390, 1024, 1280, 1440] as const;
const LONG_NAME = 'Quarterly revenue reconciliation export for the finance data warehouse (EU region)';

/** The list and detail pages read well on a phone and at common laptop widths, nothing that matters cut off. */
describe.runIf(browserAvailable())('the console at every width', () => {
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

  it.each(WIDTHS.filter((width) => width >= 1024))('shows every column of the list whole at %i px wide', async (width) => {
    await page.setViewportSize({ width, height: 800 });
    await page.goto('/system/connections');
    const table = page.getByRole('table', { name: 'API clients' });
    await table.getByRole('link', { name: 'Reporting' }).waitFor();
    expect(await overflowsSideways()).toEqual([]);
    for (const column of ['Status', 'Name', 'Role', 'Client ID', 'Last Used', 'Created']) {
      const box = (await table.getByRole('columnheader', { name: column, exact: true }).boundingBox())!;
      expect(box.x + box.width).toBeLessThanOrEqual(width);
    }
    // Badges whole, IDs on one line (shortened in the middle), dates on one line.
    for (const badge of await table.locator('.koios-status').all()) {
      expect(await badge.evaluate((node: { scrollWidth: number; clientWidth: number }) => node.scrollWidth <= node.clientWidth)).toBe(true);
    }
    const row = table.getByRole('row').filter({ has: page.getByRole('link', { name: LONG_NAME }) });
    expect((await row.locator('.koios-short-id').boundingBox())!.height).toBeLessThan(24);
    expect((await row.locator('time').first().boundingBox())!.height).toBeLessThan(24);
    // The shortened ID copies whole.
    await row.getByRole('button', { name: `Copy client ID of ${LONG_NAME}` }).click();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(longId);
    await screenshotBothThemes(page, `client-list-${width}`);
  });

  it('turns the list into cards on a phone: name, status, ID with copy, last used', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto('/system/connections');
    const cards = page.getByRole('list', { name: 'API clients' });
    const card = cards.getByRole('listitem').filter({ has: page.getByRole('link', { name: LONG_NAME }) });
    await card.waitFor();
    expect(await page.getByRole('table', { name: 'API clients' }).count()).toBe(0);
    await card.getByText('Enabled', { exact: true }).waitFor();
    await card.getByText('Last used').waitFor();
    await card.getByRole('button', { name: `Copy client ID of ${LONG_NAME}` }).click();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(longId);
    await card.getByRole('checkbox', { name: `Select ${LONG_NAME}` }).check();
    await page.getByText('1 selected').waitFor();
    expect(await overflowsSideways()).toEqual([]);
    await screenshotBothThemes(page, 'client-list-390');
  });

  it.each(WIDTHS)('keeps the detail header on one line beside a long name, or stacks it on a phone, at %i px wide', async (width) => {
    await page.setViewportSize({ width, height: 800 });
    await page.goto(`/system/connections/${longId}`);
    const title = page.getByRole('heading', { name: LONG_NAME, level: 1 });
    await title.waitFor();
    const heading = (await title.boundingBox())!;
    const toggle = (await page.getByRole('switch', { name: 'Enabled' }).boundingBox())!;
    const remove = (await page.getByRole('button', { name: 'Delete' }).boundingBox())!;
    if (width >= 1024) {
      // Beside the title, not pushed below it.
      expect(toggle.y).toBeLessThan(heading.y + heading.height);
      expect(remove.x + remove.width).toBeLessThanOrEqual(width);
    } else {
      expect(toggle.y).toBeGreaterThanOrEqual(heading.y + heading.height - 1);
    }
    expect(await overflowsSideways()).toEqual([]);
    await screenshotBothThemes(page, `client-detail-${width}`);
  });
});
