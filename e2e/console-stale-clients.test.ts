import { expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../src/server/actor.js';
import { notification } from './support/browser.js';
import { requestToken } from './support/console-server.js';
import { consoleSuite } from './support/console-suite.js';

/** Finding the clients nobody uses and disabling all of them at once, across pages. */
consoleSuite(
  'stale API clients in the console',
  {
    seed: async ({ server, url }) => {
      const { clients } = server.services;
      for (let index = 1; index <= 23; index += 1) await clients.create(SYSTEM_ACTOR, { name: `Dormant ${String(index).padStart(2, '0')}` });
      for (const name of ['Busy one', 'Busy two']) {
        const { client, clientSecret } = await clients.create(SYSTEM_ACTOR, { name });
        expect((await requestToken(url, client.id, clientSecret)).status).toBe(200);
      }
    },
  },
  (suite) => {
    it('filters the list to the clients never used, the filter in the URL, and disables every match across pages', async () => {
      const { page } = suite;
      await page.goto('/system/connections?limit=10');
      await page.getByRole('button', { name: 'Filters' }).click();
      await page.getByRole('combobox', { name: 'Filter by last use' }).selectOption({ label: 'Never used' });
      await page.waitForURL(/neverUsed=true/);
      await page.keyboard.press('Escape');
      const matching = await suite.server.services.clients.list(SYSTEM_ACTOR, { neverUsed: true, limit: 200 });
      expect(matching.items.map((client) => client.name)).not.toContain('Busy one');
      await page.getByText(`1–10 of ${matching.total} clients`).waitFor();

      await page.getByRole('checkbox', { name: 'Select all clients on this page' }).check();
      await page.getByRole('button', { name: `Select all ${matching.total} API clients that match` }).click();
      await page.getByText(`${matching.total} selected`).waitFor();
      await page.getByRole('button', { name: 'Actions' }).click();
      await page.getByRole('menuitem', { name: 'Disable' }).click();
      await notification(page, `${matching.total} API clients disabled`).waitFor();

      const enabled = await suite.server.services.clients.list(SYSTEM_ACTOR, { status: 'enabled', limit: 200 });
      expect(enabled.items.map((client) => client.name).sort()).toEqual(['Busy one', 'Busy two']);
    });

    it('offers "Not used for N days" and opens a shared link with its own number of days', async () => {
      const { page } = suite;
      await page.goto('/system/connections');
      await page.getByRole('button', { name: 'Filters' }).click();
      await page.getByRole('combobox', { name: 'Filter by last use' }).selectOption({ label: 'Not used for 90 days' });
      await page.waitForURL(/unusedFor=90d/);
      await page.goto('/system/connections?unusedFor=45d');
      await page.getByRole('button', { name: 'Filters, 1 in use' }).click();
      await expect.poll(() => page.getByRole('combobox', { name: 'Filter by last use' }).inputValue()).toBe('45d');
      await page.getByRole('option', { name: 'Not used for 45 days' }).waitFor({ state: 'attached' });
    });
  },
);
