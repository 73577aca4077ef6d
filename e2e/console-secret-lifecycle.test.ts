import { expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../src/server/actor.js';
import { focused, notification } from './support/browser.js';
import { callApi, requestToken } from './support/console-server.js';
import { consoleSuite } from './support/console-suite.js';

const DAY_MS = 86_400_000;

/** Rotating a secret with an overlap, ending the overlap, and finding secrets that expire, in the console. */
consoleSuite(
  'secret rotation and expiry in the console',
  {
    seed: async ({ server, roles }) => {
      const { clients } = server.services;
      // An external system that reads clients through the REST API.
      const reader = await clients.create(SYSTEM_ACTOR, { name: 'Inventory reader', roleId: roles.viewer.id });
      const rotating = await clients.create(SYSTEM_ACTOR, { name: 'Rotating importer' });
      const soon = await clients.create(SYSTEM_ACTOR, { name: 'Expiring soon', secretExpiresAt: new Date(Date.now() + 5 * DAY_MS + 3600_000).toISOString() });
      await clients.create(SYSTEM_ACTOR, { name: 'Expiring later', secretExpiresAt: new Date(Date.now() + 60 * DAY_MS).toISOString() });
      const gone = await clients.create(SYSTEM_ACTOR, { name: 'Long expired', secretExpiresAt: new Date(Date.now() + DAY_MS).toISOString() });
      // The service refuses a past expiry; the seed puts one behind its back.
      await server.database.handle.db
        .updateTable('api_clients')
        .set({ secret_expires_at: '2020-01-01T00:00:00.000Z' })
        .where('id', '=', gone.client.id)
        .execute();
      return {
        rotating: { id: rotating.client.id, secret: rotating.clientSecret },
        soonId: soon.client.id,
        reader: { id: reader.client.id, secret: reader.clientSecret },
      };
    },
  },
  (suite) => {
    it('regenerates with a 24-hour overlap: both secrets work, the detail page shows the previous one, and End now ends it', async () => {
      const { page, seeded } = suite;
      const { rotating } = seeded;
      await page.goto(`/system/connections/${rotating.id}`);
      await page.getByRole('button', { name: /regenerate.*client secret/i }).click();
      const confirm = page.getByRole('dialog', { name: 'Regenerate the client secret?' });
      await confirm.getByRole('combobox', { name: 'Keep the previous secret working for' }).selectOption({ label: '24 hours' });
      await confirm.getByText('keeps working beside the new one for 24 hours').waitFor();
      await confirm.getByRole('combobox', { name: 'New secret expires' }).selectOption({ label: 'In 90 days' });
      await confirm.getByRole('button', { name: 'Regenerate secret' }).click();
      const dialog = page.getByRole('dialog', { name: 'New client secret' });
      const secret = await dialog.getByRole('textbox', { name: 'Client Secret' }).inputValue();
      await dialog.getByRole('checkbox', { name: 'I have copied the secret' }).check();
      await dialog.getByRole('button', { name: 'Done' }).click();

      expect((await requestToken(suite.url, rotating.id, rotating.secret)).status).toBe(200);
      expect((await requestToken(suite.url, rotating.id, secret)).status).toBe(200);
      const card = page.getByText(/Previous secret \(ending in .{4}\) valid until .+, last used/);
      await card.waitFor();
      expect(await card.textContent()).toContain(rotating.secret.slice(-4));
      await page.getByRole('region', { name: 'Client Credentials' }).getByText('expires in 3 months').waitFor();

      await page.getByRole('button', { name: 'End now' }).click();
      const ending = page.getByRole('dialog', { name: 'End the previous secret now?' });
      await focused(page, ending.getByRole('button', { name: 'Cancel' })).waitFor();
      await ending.getByRole('button', { name: 'End now' }).click();
      await notification(page, 'Previous secret ended').waitFor();
      await card.waitFor({ state: 'detached' });
      expect((await requestToken(suite.url, rotating.id, rotating.secret)).status).toBe(401);
      expect((await requestToken(suite.url, rotating.id, secret)).status).toBe(200);
    });

    it('shows when secrets expire in the list and filters by "Expiring within N days" and "Expired"', async () => {
      const { page } = suite;
      await page.goto('/system/connections');
      const soonRow = page.getByRole('row').filter({ hasText: 'Expiring soon' });
      await soonRow.getByText('expires in 5 days').waitFor();
      await page.getByRole('row').filter({ hasText: 'Long expired' }).getByText('Expired', { exact: true }).waitFor();

      await page.getByRole('button', { name: 'Filters' }).click();
      await page.getByRole('combobox', { name: 'Filter by secret expiry' }).selectOption({ label: 'Expiring within 30 days' });
      await page.waitForURL(/expiringWithin=30d/);
      await page.getByRole('row').filter({ hasText: 'Expiring later' }).waitFor({ state: 'detached' });
      await soonRow.waitFor();

      await page.getByRole('combobox', { name: 'Filter by secret expiry' }).selectOption({ label: 'Expired' });
      await page.waitForURL(/expired=true/);
      await page.getByRole('row').filter({ hasText: 'Long expired' }).waitFor();
      await page.getByRole('row').filter({ hasText: 'Expiring soon' }).waitFor({ state: 'detached' });
    });

    it('creates a client whose secret expires in 90 days from Add API Client, never by default: the REST API and the list show the expiry', async () => {
      const { page, seeded } = suite;
      await page.goto('/system/connections');
      await page.getByRole('button', { name: 'Add API Client' }).click();
      const dialog = page.getByRole('dialog', { name: 'Add API Client' });
      const expiry = dialog.getByRole('combobox', { name: 'Secret expires' });
      expect(await expiry.locator('option:checked').textContent()).toBe('Never (or the installation’s maximum)');
      await dialog.getByLabel('Name').fill('Quarterly audit feed');
      await expiry.selectOption({ label: 'In 90 days' });
      await dialog.getByRole('button', { name: 'Create' }).click();
      const created = page.getByRole('dialog', { name: 'API client created' });
      const id = await created.getByRole('textbox', { name: 'Client ID' }).inputValue();
      await created.getByRole('checkbox', { name: 'I have copied the secret' }).check();
      await created.getByRole('button', { name: 'Done' }).click();

      const token = (await (await requestToken(suite.url, seeded.reader.id, seeded.reader.secret)).json()) as { access_token: string };
      const answer = await callApi(suite.url, `/api/v1/clients/${id}`, token.access_token);
      expect(answer.status).toBe(200);
      const { secretExpiresAt } = (await answer.json()) as { secretExpiresAt: string | null };
      // Within a day of 90 days from now: the console asked for 90 days, not for a given instant.
      expect(Math.abs(Date.parse(secretExpiresAt ?? '') - (Date.now() + 90 * DAY_MS))).toBeLessThan(DAY_MS);
      await page.getByRole('row').filter({ hasText: 'Quarterly audit feed' }).getByText('expires in 3 months').waitFor();
    });
  },
);
