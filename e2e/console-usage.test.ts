import type { Locator } from 'playwright-core';
import { expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../src/server/actor.js';
import { seriousViolations } from './support/axe.js';
import { overflowsSideways, screenshotBothThemes, toggle } from './support/browser.js';
import { callApi, requestToken, type ConsoleServer } from './support/console-server.js';
import { consoleSuite } from './support/console-suite.js';

const DAY_MS = 86_400_000;

/** What each busy client does through the real server: tokens, REST and GraphQL calls, refused requests. */
const TRAFFIC = {
  'Nightly invoices': { tokens: 3, rest: 5, graphql: 2, wrongSecrets: 2, forbidden: 1 },
  'Warehouse sync': { tokens: 1, rest: 9, graphql: 0, wrongSecrets: 0, forbidden: 0 },
} as const;

/** A forbidden call is a REST request too, counted before its permission check refuses it. */
const requestsOf = ({ rest, graphql, forbidden }: (typeof TRAFFIC)[keyof typeof TRAFFIC]) => rest + forbidden + graphql;

async function graphql(url: string, accessToken: string): Promise<Response> {
  return fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${accessToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ query: '{ me { id } }' }),
  });
}

/**
 * Two busy Viewer clients, their traffic sent through the real server, and quiet ones that need a
 * look: two disabled, one whose secret expires in ten days; none of those three ever used.
 */
async function seedTraffic({ server, url, roles }: ConsoleServer): Promise<Record<keyof typeof TRAFFIC, string>> {
  const { clients } = server.services;
  const ids = {} as Record<keyof typeof TRAFFIC, string>;
  for (const [name, traffic] of Object.entries(TRAFFIC) as [keyof typeof TRAFFIC, (typeof TRAFFIC)[keyof typeof TRAFFIC]][]) {
    const { client, clientSecret } = await clients.create(SYSTEM_ACTOR, { name, roleId: roles.viewer.id });
    ids[name] = client.id;
    let token = '';
    for (let index = 0; index < traffic.tokens; index += 1) {
      const answer = await requestToken(url, client.id, clientSecret);
      expect(answer.status).toBe(200);
      token = ((await answer.json()) as { access_token: string }).access_token;
    }
    for (let index = 0; index < traffic.rest; index += 1) expect((await callApi(url, '/api/v1/clients?limit=1', token)).status).toBe(200);
    for (let index = 0; index < traffic.graphql; index += 1) expect((await graphql(url, token)).status).toBe(200);
    for (let index = 0; index < traffic.wrongSecrets; index += 1) expect((await requestToken(url, client.id, `${clientSecret}x`)).status).toBe(401);
    for (let index = 0; index < traffic.forbidden; index += 1) {
      const created = await fetch(`${url}/api/v1/clients`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: 'Not allowed' }),
      });
      expect(created.status).toBe(403);
    }
  }
  for (const name of ['Legacy importer', 'Old reporting']) {
    const { client } = await clients.create(SYSTEM_ACTOR, { name });
    await clients.update(SYSTEM_ACTOR, client.id, { enabled: false });
  }
  await clients.create(SYSTEM_ACTOR, { name: 'Quarterly export', secretExpiresAt: new Date(Date.now() + 10 * DAY_MS).toISOString() });
  // Counters are written in batches: write them now, so that the pages read them from the database.
  await server.services.usageRecorder.flush();
  return ids;
}

/** A table's body as text, one array of cell texts per row (the row's header cell first). */
async function rowsOf(table: Locator): Promise<string[][]> {
  return table.locator('tbody tr').evaluateAll((rows) => rows.map((row) => [...row.children].map((cell) => (cell.textContent ?? '').trim())));
}

/** The list's rows: each client's name and its Requests (7 days). */
async function namesAndRequests(table: Locator): Promise<string[][]> {
  return table
    .locator('tbody tr')
    .evaluateAll((rows) => rows.map((row) => [row.querySelector('td:nth-child(3) a')?.textContent ?? '', (row.children[5]?.textContent ?? '').trim()]));
}

/** The names of the clients the list shows, in its order. */
async function listedNames(table: Locator): Promise<string[]> {
  return table.locator('tbody tr td:nth-child(3) a').allTextContents();
}

/** The sums of a usage table's columns: tokens, REST, GraphQL, refusals. */
async function columnSums(table: Locator): Promise<number[]> {
  const rows = await rowsOf(table);
  return [1, 2, 3, 4].map((column) => rows.reduce((sum, row) => sum + Number(row[column]!.replace(/\D/g, '')), 0));
}

consoleSuite('usage in the console', { seed: seedTraffic, timeout: 90_000, independentTests: true }, (suite) => {
  const nightly = TRAFFIC['Nightly invoices'];
  const warehouse = TRAFFIC['Warehouse sync'];

  it('charts a client’s requests and refusals on its Activity tab, with the figures as a table, the reasons and the latest refusals', async () => {
    const { page } = suite;
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(`/system/connections/${suite.seeded['Nightly invoices']}?tab=activity`);
    // Each table is read until it shows what is expected: it is drawn once its answer has come, and
    // gives way to a skeleton for a moment when the hour turns and the page asks again.
    const hourly = page.getByRole('table', { name: 'Requests and refusals per hour, last 24 hours (UTC)' });
    await hourly.waitFor({ state: 'attached' });
    await expect.poll(() => hourly.locator('tbody tr').count()).toBe(24);
    const refused = nightly.wrongSecrets + nightly.forbidden;
    await expect.poll(() => columnSums(hourly)).toEqual([nightly.tokens, nightly.rest + nightly.forbidden, nightly.graphql, refused]);
    // The chart itself is drawn, bars and all.
    await page.locator('.recharts-surface').first().waitFor();
    await page.locator('.recharts-bar-rectangle path').first().waitFor();
    const totals = page.getByRole('region', { name: 'Requests and refusals' });
    await expect
      .poll(() => totals.getByText('API requests', { exact: true }).locator('xpath=following-sibling::*[1]').textContent())
      .toBe(String(requestsOf(nightly)));

    const reasons = page.getByRole('table', { name: 'Refusals by reason, last 24 hours' });
    await expect
      .poll(() => rowsOf(reasons))
      .toEqual([
        ['Wrong client secret', String(nightly.wrongSecrets)],
        ['Lacks the permission for the call', String(nightly.forbidden)],
      ]);
    // The recent refusals are an answer of their own, which may come after the usage's.
    const recentTable = page.getByRole('table', { name: 'Recent refusals' });
    await recentTable.waitFor();
    const recent = await rowsOf(recentTable);
    expect(recent).toHaveLength(refused);
    expect(recent[0]![1]).toBe('Lacks the permission for the call');
    expect(recent.every((row) => row[2] === '127.0.0.1')).toBe(true);
    expect(await overflowsSideways(page)).toEqual([]);
    await screenshotBothThemes(page, 'usage-activity-1280');
    expect(await seriousViolations(page)).toEqual([]);

    await toggle(page.getByRole('radio', { name: '7 days' }));
    await page.waitForURL(/range=7d/);
    const daily = page.getByRole('table', { name: 'Requests and refusals per day, last 7 days (UTC)' });
    await daily.waitFor({ state: 'attached' });
    await expect.poll(() => daily.locator('tbody tr').count()).toBe(7);
    await expect.poll(() => columnSums(daily)).toEqual([nightly.tokens, nightly.rest + nightly.forbidden, nightly.graphql, refused]);
  });

  it('sorts the list by requests in the last 7 days, most first, then fewest first', async () => {
    const { page } = suite;
    await page.goto('/system/connections');
    const table = page.getByRole('table', { name: 'API clients' });
    await table.getByRole('link', { name: 'Quarterly export' }).waitFor();
    const header = table.getByRole('columnheader', { name: 'Requests (7 days)' });
    await header.getByRole('button').click();
    await page.waitForURL(/sort=-requests7d/);
    // The address changes a moment before the table renders the new order.
    await expect.poll(() => header.getAttribute('aria-sort')).toBe('descending');
    const requestsColumn = () => namesAndRequests(table);
    await expect
      .poll(async () => (await requestsColumn()).slice(0, 2))
      .toEqual([
        ['Warehouse sync', String(requestsOf(warehouse))],
        ['Nightly invoices', String(requestsOf(nightly))],
      ]);
    await header.getByRole('button').click();
    await page.waitForURL(/sort=requests7d/);
    await expect.poll(async () => (await requestsColumn()).slice(-2).map(([name]) => name)).toEqual(['Nightly invoices', 'Warehouse sync']);
    expect((await requestsColumn())[0]![1]).toBe('0');
  });

  it('shows the whole installation on the Overview: traffic, busiest clients, rising refusals, and counts that open the filtered list', async () => {
    const { page } = suite;
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto('/system/connections');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Overview' }).click();
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();

    const traffic = page.getByRole('table', { name: 'Traffic per hour, last 24 hours (UTC)' });
    await traffic.waitFor({ state: 'attached' });
    await expect
      .poll(() => columnSums(traffic))
      .toEqual([
        nightly.tokens + warehouse.tokens,
        nightly.rest + nightly.forbidden + warehouse.rest,
        nightly.graphql + warehouse.graphql,
        nightly.wrongSecrets + nightly.forbidden,
      ]);
    const busiest = page.getByRole('table', { name: 'Busiest clients, last 24 hours' });
    await busiest.waitFor();
    await expect
      .poll(() => rowsOf(busiest))
      .toEqual([
        ['Warehouse sync', String(requestsOf(warehouse)), '0'],
        ['Nightly invoices', String(requestsOf(nightly)), String(nightly.wrongSecrets + nightly.forbidden)],
      ]);
    expect(await busiest.getByRole('link', { name: 'Warehouse sync' }).getAttribute('href')).toBe(
      `/system/connections/${suite.seeded['Warehouse sync']}?tab=activity`,
    );
    const rising = page.getByRole('table', { name: 'Clients with rising refusals' });
    await rising.waitFor();
    await expect.poll(() => rowsOf(rising)).toEqual([['Nightly invoices', String(nightly.wrongSecrets + nightly.forbidden), '0']]);

    const { clients } = suite.server.services;
    const expected = [
      ['clients disabled', `status=disabled`, await clients.list(SYSTEM_ACTOR, { status: 'disabled' })],
      ['clients expiring within 30 days', `expiringWithin=30d`, await clients.list(SYSTEM_ACTOR, { expiringWithin: '30d' })],
      ['clients unused for 90 days', `unusedFor=90d`, await clients.list(SYSTEM_ACTOR, { unusedFor: '90d' })],
    ] as const;
    expect(expected.map(([, , page]) => page.total)).toEqual([2, 1, 3]);
    const named = (total: number, words: string) => `${total} ${total === 1 ? words.replace('clients', 'client') : words}`;
    for (const [words, query, { total }] of expected) {
      const link = page.getByRole('link', { name: named(total, words) });
      expect(await link.getAttribute('href')).toBe(`/system/connections?${query}`);
    }
    expect(await overflowsSideways(page)).toEqual([]);
    await screenshotBothThemes(page, 'usage-overview-1280');
    expect(await seriousViolations(page)).toEqual([]);

    await page.getByRole('link', { name: '1 client expiring within 30 days' }).click();
    await page.waitForURL(/expiringWithin=30d/);
    const listed = page.getByRole('table', { name: 'API clients' });
    await listed.getByRole('link', { name: 'Quarterly export' }).waitFor();
    await expect.poll(() => listedNames(listed)).toEqual(['Quarterly export']);
  });
});
