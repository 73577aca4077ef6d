import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../src/server/actor.js';
import { browserAvailable, focused, launchBrowser, newConsoleContext, notification, screenshotBothThemes } from './support/browser.js';
import { requestToken, signIn, startConsoleServer, type ConsoleServer } from './support/console-server.js';

/**
 * What keeps an administrator from losing things by accident: confirmations that Enter cannot
 * pass, the console's own "Page not found", and a session that ends without losing their work.
 */
describe.runIf(browserAvailable())('a console that is safe to use', () => {
  let console_: ConsoleServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  const createClient = async (name: string) => (await console_.server.services.clients.create(SYSTEM_ACTOR, { name })).client;
  const exists = (id: string) =>
    console_.server.services.clients.get(SYSTEM_ACTOR, id).then(
      () => true,
      () => false,
    );

  beforeAll(async () => {
    console_ = await startConsoleServer();
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

  it('starts every destructive confirmation on Cancel, so Enter twice on Delete deletes nothing', async () => {
    const client = await createClient('Enter twice');
    await page.goto(`/system/connections/${client.id}`);
    await page.getByRole('heading', { name: 'Enter twice', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Delete' }).focus();
    await page.keyboard.press('Enter');
    const confirm = page.getByRole('dialog', { name: 'Delete Enter twice?' });
    await focused(page, confirm.getByRole('button', { name: 'Cancel' })).waitFor();
    await page.keyboard.press('Enter');
    await confirm.waitFor({ state: 'detached' });
    expect(await exists(client.id)).toBe(true);

    // The regeneration's confirmation too.
    await page.getByRole('button', { name: /regenerate.*client secret/i }).focus();
    await page.keyboard.press('Enter');
    const regenerate = page.getByRole('dialog', { name: 'Regenerate the client secret?' });
    await focused(page, regenerate.getByRole('button', { name: 'Cancel' })).waitFor();
    await page.keyboard.press('Enter');
    await regenerate.waitFor({ state: 'detached' });
    const after = await console_.server.services.clients.get(SYSTEM_ACTOR, client.id);
    expect(after.secretHint).toBe(client.secretHint);
  });

  it('asks for the name before deleting a client used in the last 30 days', async () => {
    const created = await console_.server.services.clients.create(SYSTEM_ACTOR, { name: 'Nightly invoices' });
    expect((await requestToken(console_.url, created.client.id, created.clientSecret)).status).toBe(200);
    await page.goto(`/system/connections/${created.client.id}`);
    await page.getByRole('heading', { name: 'Nightly invoices', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Delete' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete Nightly invoices?' });
    await confirm.getByText('authenticated in the last 30 days').waitFor();
    const del = confirm.getByRole('button', { name: 'Delete API client' });
    expect(await del.isDisabled()).toBe(true);
    await confirm.getByRole('textbox', { name: 'Type Nightly invoices to confirm' }).fill('Nightly');
    expect(await del.isDisabled()).toBe(true);
    await screenshotBothThemes(page, 'client-delete-typed-confirmation');
    await confirm.getByRole('textbox', { name: 'Type Nightly invoices to confirm' }).fill('Nightly invoices');
    await del.click();
    await notification(page, 'API client deleted').waitFor();
    await page.waitForURL(/\/system\/connections$/);
    expect(await exists(created.client.id)).toBe(false);
  });

  it.each(['/nope', '/system/foo', '/users/x/y'])("answers %s with the console's Page not found and status 404", async (path) => {
    const response = await page.goto(path);
    expect(response?.status()).toBe(404);
    expect(response?.headers()['content-type']).toMatch(/^text\/html/);
    await page.getByRole('heading', { name: 'Page not found', level: 1 }).waitFor();
    await page.getByRole('link', { name: 'Go to API clients' }).waitFor();
    // The APIs' own unknown paths keep their problem body.
    const api = await fetch(`${console_.url}/api/v1${path}`, { headers: { Accept: 'text/html' } });
    expect(api.status).toBe(404);
    expect(api.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it('shows Page not found in both themes', async () => {
    await page.goto('/nope');
    await page.getByRole('heading', { name: 'Page not found', level: 1 }).waitFor();
    await screenshotBothThemes(page, 'not-found');
  });

  it('says the session has ended, keeps the place and the unsaved form, and saves it after signing in again', async () => {
    const client = await createClient('Expiring session');
    await page.goto(`/system/connections/${client.id}`);
    const description = page.getByRole('textbox', { name: 'Description' });
    await description.fill('Typed before the session ended');
    // The session ends under the person (it expired, or they signed out in another tab).
    await context.clearCookies();
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.waitForURL(/\/login\?next=.*reason=session-ended/);
    await page.getByText('Your session has ended — sign in again').first().waitFor();
    expect(await page.getByText(/Authorization: Bearer/).count()).toBe(0);
    await screenshotBothThemes(page, 'login-session-ended');

    await page.getByLabel('Email').fill(console_.admin.email);
    await page.getByRole('textbox', { name: 'Password', exact: true }).fill(console_.admin.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(new RegExp(`/system/connections/${client.id}$`));
    expect(await page.getByRole('textbox', { name: 'Description' }).inputValue()).toBe('Typed before the session ended');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await notification(page, 'Changes saved').waitFor();
    expect((await console_.server.services.clients.get(SYSTEM_ACTOR, client.id)).description).toBe('Typed before the session ended');
  });
});
