import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../src/server/actor.js';
import { startTestServer, type TestServer } from '../test/support/server.js';
import { browserAvailable, launchBrowser, newConsoleContext, screenshot } from './support/browser.js';
import { ensureConsoleBuilt } from './support/console-build.js';

/** With no user yet, the one-time setup link creates the first Administrator. */
describe.runIf(browserAvailable())('the one-time setup page', () => {
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let token = '';

  beforeAll(async () => {
    await ensureConsoleBuilt();
    server = await startTestServer('sqlite');
    token = (await server.services.users.issueSetupToken())!;
    browser = await launchBrowser();
    context = await newConsoleContext(browser, server.url);
    page = await context.newPage();
  }, 240_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await server?.close();
  });

  it('tells the first visitor of Sign in to open the setup link', async () => {
    await page.goto('/login');
    await page.getByRole('alert').filter({ hasText: 'No user exists yet' }).waitFor();
  });

  it('refuses a wrong token and says so', async () => {
    await page.goto('/setup');
    await page.getByText('The setup token is missing').waitFor();
    expect(await page.getByRole('button', { name: 'Create Administrator' }).isDisabled()).toBe(true);

    await page.goto('/setup?token=not-the-token');
    await page.getByLabel('Email').fill('root@koios.test');
    await page.getByRole('textbox', { name: 'Password', exact: true }).fill('a long enough password');
    await page.getByRole('textbox', { name: 'Confirm password' }).fill('a different password');
    await page.getByRole('button', { name: 'Create Administrator' }).click();
    await page.getByText('The passwords do not match').waitFor();
    await page.getByRole('textbox', { name: 'Confirm password' }).fill('a long enough password');
    await page.getByRole('button', { name: 'Create Administrator' }).click();
    await page.getByRole('alert').filter({ hasText: 'Forbidden' }).waitFor();
    expect(await server.services.users.count()).toBe(0);
  });

  it('creates the first Administrator with the token, signs them in, and stops working after', async () => {
    await page.goto(`/setup?token=${encodeURIComponent(token)}`);
    await page.getByLabel('Email').fill('root@koios.test');
    await page.getByLabel('Name').fill('Root Admin');
    await page.getByRole('textbox', { name: 'Password', exact: true }).fill('a long enough password');
    await page.getByRole('textbox', { name: 'Confirm password' }).fill('a long enough password');
    await screenshot(page, 'setup');
    await page.getByRole('button', { name: 'Create Administrator' }).click();
    await page.waitForURL(/\/system\/connections$/);
    await page.getByRole('button', { name: 'Account: Root Admin' }).waitFor();
    const users = await server.services.users.list(SYSTEM_ACTOR);
    expect(users.items.map((user) => [user.email, user.roles.map((role) => role.name)])).toEqual([['root@koios.test', ['Administrator']]]);

    await page.goto(`/setup?token=${encodeURIComponent(token)}`);
    await page.getByText('Setup is complete').waitFor();
  });
});
