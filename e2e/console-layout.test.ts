import { expect, it } from 'vitest';
import { clipboardText, overflowsSideways, screenshotBothThemes } from './support/browser.js';
import { LONG_CLIENT_NAME, seedClientList } from './support/console-server.js';
import { consoleSuite } from './support/console-suite.js';

const WIDTHS = [390, 1024, 1280, 1440] as const;

/** The list and detail pages read well on a phone and at common laptop widths, nothing that matters cut off. */
consoleSuite('the console at every width', { seed: seedClientList, independentTests: true }, (suite) => {
  it.each(WIDTHS.filter((width) => width >= 1024))('shows every column of the list whole at %i px wide', async (width) => {
    await suite.page.setViewportSize({ width, height: 800 });
    await suite.page.goto('/system/connections');
    const table = suite.page.getByRole('table', { name: 'API clients' });
    await table.getByRole('link', { name: 'Reporting' }).waitFor();
    expect(await overflowsSideways(suite.page)).toEqual([]);
    // The toolbar (search, filters, export, the bulk actions) is one row on a laptop, two at most on a small one.
    const toolbar = [
      suite.page.getByRole('textbox', { name: 'Search API clients' }),
      suite.page.getByRole('button', { name: 'Filters' }),
      suite.page.getByRole('button', { name: 'Export CSV' }),
      suite.page.getByRole('button', { name: 'Actions' }),
    ];
    const middles = await Promise.all(toolbar.map(async (control) => ((box) => box.y + box.height / 2)((await control.boundingBox())!)));
    const rows = middles.sort((a, b) => a - b).filter((middle, index, all) => index === 0 || middle - all[index - 1]! > 8).length;
    expect(rows).toBeLessThanOrEqual(width >= 1280 ? 1 : 2);
    for (const column of ['Status', 'Name', 'Role', 'Client ID', 'Requests (7 days)', 'Last Used', 'Created']) {
      const box = (await table.getByRole('columnheader', { name: column, exact: true }).boundingBox())!;
      expect(box.x + box.width).toBeLessThanOrEqual(width);
    }
    // Badges whole, IDs on one line (shortened in the middle), dates on one line.
    for (const badge of await table.locator('.koios-status').all()) {
      expect(await badge.evaluate((node: { scrollWidth: number; clientWidth: number }) => node.scrollWidth <= node.clientWidth)).toBe(true);
    }
    const row = table.getByRole('row').filter({ has: suite.page.getByRole('link', { name: LONG_CLIENT_NAME }) });
    expect((await row.locator('.koios-short-id').boundingBox())!.height).toBeLessThan(24);
    expect((await row.locator('time').first().boundingBox())!.height).toBeLessThan(24);
    // The shortened ID copies whole (written a moment after the click, over what an earlier width copied).
    await suite.page.evaluate('navigator.clipboard.writeText("")');
    await row.getByRole('button', { name: `Copy client ID of ${LONG_CLIENT_NAME}` }).click();
    await expect.poll(() => clipboardText(suite.page)).toBe(suite.seeded.longId);
    await screenshotBothThemes(suite.page, `client-list-${width}`);
  });

  it('turns the list into cards on a phone: name, status, ID with copy, last used', async () => {
    await suite.page.setViewportSize({ width: 390, height: 844 });
    await suite.page.goto('/system/connections');
    const cards = suite.page.getByRole('list', { name: 'API clients' });
    const card = cards.getByRole('listitem').filter({ has: suite.page.getByRole('link', { name: LONG_CLIENT_NAME }) });
    await card.waitFor();
    expect(await suite.page.getByRole('table', { name: 'API clients' }).count()).toBe(0);
    await card.getByText('Enabled', { exact: true }).waitFor();
    await card.getByText('Last used').waitFor();
    await suite.page.evaluate('navigator.clipboard.writeText("")');
    await card.getByRole('button', { name: `Copy client ID of ${LONG_CLIENT_NAME}` }).click();
    await expect.poll(() => clipboardText(suite.page)).toBe(suite.seeded.longId);
    await card.getByRole('checkbox', { name: `Select ${LONG_CLIENT_NAME}` }).check();
    await suite.page.getByText('1 selected').waitFor();
    expect(await overflowsSideways(suite.page)).toEqual([]);
    await screenshotBothThemes(suite.page, 'client-list-390');
  });

  it.each(WIDTHS)('keeps the detail header on one line beside a long name, or stacks it on a phone, at %i px wide', async (width) => {
    await suite.page.setViewportSize({ width, height: 800 });
    await suite.page.goto(`/system/connections/${suite.seeded.longId}`);
    const title = suite.page.getByRole('heading', { name: LONG_CLIENT_NAME, level: 1 });
    await title.waitFor();
    const heading = (await title.boundingBox())!;
    const toggle = (await suite.page.getByRole('switch', { name: 'Enabled' }).boundingBox())!;
    const remove = (await suite.page.getByRole('button', { name: 'Delete' }).boundingBox())!;
    if (width >= 1024) {
      // Beside the title, not pushed below it.
      expect(toggle.y).toBeLessThan(heading.y + heading.height);
      expect(remove.x + remove.width).toBeLessThanOrEqual(width);
    } else {
      expect(toggle.y).toBeGreaterThanOrEqual(heading.y + heading.height - 1);
    }
    expect(await overflowsSideways(suite.page)).toEqual([]);
    await screenshotBothThemes(suite.page, `client-detail-${width}`);
  });
});
