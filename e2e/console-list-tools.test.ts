import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../src/server/actor.js';
import { notification } from './support/browser.js';
import { requestToken, type ConsoleServer } from './support/console-server.js';
import { consoleSuite } from './support/console-suite.js';

/** Sixty clients named Fleet, every fifth a Viewer, and a Viewer whose token reads the list through the APIs. */
async function seedFleet(console_: ConsoleServer): Promise<{ token: string }> {
  const { clients } = console_.server.services;
  const viewer = console_.roles.viewer.id;
  for (let index = 1; index <= 60; index += 1) {
    await clients.create(SYSTEM_ACTOR, { name: `Fleet ${String(index).padStart(2, '0')}`, ...(index % 5 === 0 ? { roleId: viewer } : {}) });
  }
  const reader = await clients.create(SYSTEM_ACTOR, { name: '=Reader, "quoted"', roleId: viewer });
  return { token: ((await (await requestToken(console_.url, reader.client.id, reader.clientSecret)).json()) as { access_token: string }).access_token };
}

/** What similar consoles have: a Role column and filter, selecting every match across pages, a CSV of the list. */
consoleSuite('the API client list’s tools', { seed: seedFleet }, (suite) => {
  it('filters by role in REST and GraphQL with roleId', async () => {
    const viewer = suite.roles.viewer.id;
    const rest = await fetch(`${suite.url}/api/v1/clients?roleId=${viewer}&limit=100`, { headers: { Authorization: `Bearer ${suite.seeded.token}` } });
    const body = (await rest.json()) as { total: number; items: { role: { id: string } | null }[] };
    expect(body.total).toBe(13);
    expect(body.items.every((client) => client.role?.id === viewer)).toBe(true);
    const graphql = await fetch(`${suite.url}/graphql`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${suite.seeded.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ query: 'query($role: ID) { apiClients(first: 5, filter: { roleId: $role }) { totalCount } }', variables: { role: viewer } }),
    });
    expect(await graphql.json()).toEqual({ data: { apiClients: { totalCount: 13 } } });
  });

  it('shows the Role column and filters the list by role, the filter in the URL', async () => {
    await suite.page.goto('/system/connections');
    const table = suite.page.getByRole('table', { name: 'API clients' });
    await table.getByRole('columnheader', { name: 'Role', exact: true }).waitFor();
    await suite.page.getByRole('button', { name: 'Filters' }).click();
    await suite.page.getByRole('combobox', { name: 'Filter by role' }).selectOption({ label: 'Viewer' });
    await suite.page.waitForURL(/roleId=/);
    await suite.page.keyboard.press('Escape');
    await suite.page.getByText('1–13 of 13 clients').waitFor();
    const roles = await table.getByRole('row').locator('td:nth-child(4)').allTextContents();
    expect(roles.every((role) => role === 'Viewer')).toBe(true);
  });

  it('exports the filtered list as CSV, safe to open in a spreadsheet', async () => {
    const [download] = await Promise.all([suite.page.waitForEvent('download'), suite.page.getByRole('button', { name: 'Export CSV' }).click()]);
    expect(download.suggestedFilename()).toBe('api-clients.csv');
    const lines = readFileSync((await download.path())!, 'utf8')
      .trim()
      .split('\r\n');
    expect(lines[0]).toBe('"Name","Client ID","Status","Role","Description","Requests (7 days)","Last Used","Created"');
    expect(lines).toHaveLength(14);
    // A name starting with = is not a formula; quotes are doubled.
    expect(lines.some((line) => line.startsWith(`"'=Reader, ""quoted""",`))).toBe(true);
  });

  it('selects every client that matches, across pages, for a bulk action', async () => {
    await suite.page.goto('/system/connections?q=Fleet&limit=25');
    await suite.page.getByText('1–25 of 60 clients').waitFor();
    await suite.page.getByRole('checkbox', { name: 'Select all clients on this page' }).check();
    await suite.page.getByText('All 25 API clients on this page are selected.').waitFor();
    await suite.page.getByRole('button', { name: 'Select all 60 API clients that match' }).click();
    await suite.page.getByText('60 selected').waitFor();
    await suite.page.getByRole('button', { name: 'Actions' }).click();
    await suite.page.getByRole('menuitem', { name: 'Disable' }).click();
    await notification(suite.page, '60 API clients disabled').waitFor();
    const disabled = await suite.server.services.clients.list(SYSTEM_ACTOR, { search: 'Fleet', status: 'disabled' });
    expect(disabled.total).toBe(60);
  });
});
