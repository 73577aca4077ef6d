import { expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../src/server/actor.js';
import { focused, notification, screenshotBothThemes } from './support/browser.js';
import { requestToken } from './support/console-server.js';
import { consoleSuite } from './support/console-suite.js';

/**
 * What keeps an administrator from losing things by accident: confirmations that Enter cannot
 * pass, the console's own "Page not found", and a session that ends without losing their work.
 */
consoleSuite('a console that is safe to use', { independentTests: true }, (suite) => {
  const createClient = async (name: string) => (await suite.server.services.clients.create(SYSTEM_ACTOR, { name })).client;
  const exists = (id: string) =>
    suite.server.services.clients.get(SYSTEM_ACTOR, id).then(
      () => true,
      () => false,
    );

  it('starts every destructive confirmation on Cancel, so Enter twice on Delete deletes nothing', async () => {
    const client = await createClient('Enter twice');
    await suite.page.goto(`/system/connections/${client.id}`);
    await suite.page.getByRole('heading', { name: 'Enter twice', level: 1 }).waitFor();
    await suite.page.getByRole('button', { name: 'Delete' }).focus();
    await suite.page.keyboard.press('Enter');
    const confirm = suite.page.getByRole('dialog', { name: 'Delete Enter twice?' });
    await focused(suite.page, confirm.getByRole('button', { name: 'Cancel' })).waitFor();
    await suite.page.keyboard.press('Enter');
    await confirm.waitFor({ state: 'detached' });
    expect(await exists(client.id)).toBe(true);

    // The regeneration's confirmation too.
    await suite.page.getByRole('button', { name: /regenerate.*client secret/i }).focus();
    await suite.page.keyboard.press('Enter');
    const regenerate = suite.page.getByRole('dialog', { name: 'Regenerate the client secret?' });
    await focused(suite.page, regenerate.getByRole('button', { name: 'Cancel' })).waitFor();
    await suite.page.keyboard.press('Enter');
    await regenerate.waitFor({ state: 'detached' });
    const after = await suite.server.services.clients.get(SYSTEM_ACTOR, client.id);
    expect(after.secretHint).toBe(client.secretHint);
  });

  it('asks for the name before deleting a client used in the last 30 days', async () => {
    const created = await suite.server.services.clients.create(SYSTEM_ACTOR, { name: 'Nightly invoices' });
    expect((await requestToken(suite.url, created.client.id, created.clientSecret)).status).toBe(200);
    await suite.page.goto(`/system/connections/${created.client.id}`);
    await suite.page.getByRole('heading', { name: 'Nightly invoices', level: 1 }).waitFor();
    await suite.page.getByRole('button', { name: 'Delete' }).click();
    const confirm = suite.page.getByRole('dialog', { name: 'Delete Nightly invoices?' });
    await confirm.getByText('authenticated in the last 30 days').waitFor();
    const del = confirm.getByRole('button', { name: 'Delete API client' });
    expect(await del.isDisabled()).toBe(true);
    await confirm.getByRole('textbox', { name: 'Type Nightly invoices to confirm' }).fill('Nightly');
    expect(await del.isDisabled()).toBe(true);
    await screenshotBothThemes(suite.page, 'client-delete-typed-confirmation');
    await confirm.getByRole('textbox', { name: 'Type Nightly invoices to confirm' }).fill('Nightly invoices');
    await del.click();
    await notification(suite.page, 'API client deleted').waitFor();
    await suite.page.waitForURL(/\/system\/connections$/);
    expect(await exists(created.client.id)).toBe(false);
  });

  it.each(['/nope', '/system/foo', '/users/x/y'])("answers %s with the console's Page not found and status 404", async (path) => {
    const response = await suite.page.goto(path);
    expect(response?.status()).toBe(404);
    expect(response?.headers()['content-type']).toMatch(/^text\/html/);
    await suite.page.getByRole('heading', { name: 'Page not found', level: 1 }).waitFor();
    await suite.page.getByRole('link', { name: 'Go to API clients' }).waitFor();
    // The APIs' own unknown paths keep their problem body.
    const api = await fetch(`${suite.url}/api/v1${path}`, { headers: { Accept: 'text/html' } });
    expect(api.status).toBe(404);
    expect(api.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it('shows Page not found in both themes', async () => {
    await suite.page.goto('/nope');
    await suite.page.getByRole('heading', { name: 'Page not found', level: 1 }).waitFor();
    await screenshotBothThemes(suite.page, 'not-found');
  });

  it('says the session has ended, keeps the place and the unsaved form, and saves it after signing in again', async () => {
    const client = await createClient('Expiring session');
    await suite.page.goto(`/system/connections/${client.id}`);
    const description = suite.page.getByRole('textbox', { name: 'Description' });
    await description.fill('Typed before the session ended');
    // The session ends under the person (it expired, or they signed out in another tab).
    await suite.context.clearCookies();
    await suite.page.getByRole('button', { name: 'Save changes' }).click();
    await suite.page.waitForURL(/\/login\?next=.*reason=session-ended/);
    await suite.page.getByText('Your session has ended — sign in again').first().waitFor();
    expect(await suite.page.getByText(/Authorization: Bearer/).count()).toBe(0);
    await screenshotBothThemes(suite.page, 'login-session-ended');

    await suite.page.getByLabel('Email').fill(suite.admin.email);
    await suite.page.getByRole('textbox', { name: 'Password', exact: true }).fill(suite.admin.password);
    await suite.page.getByRole('button', { name: 'Sign in' }).click();
    await suite.page.waitForURL(new RegExp(`/system/connections/${client.id}$`));
    // The address changes before the page is drawn: wait for the form it draws.
    await expect.poll(() => suite.page.getByRole('textbox', { name: 'Description' }).inputValue()).toBe('Typed before the session ended');
    await suite.page.getByRole('button', { name: 'Save changes' }).click();
    await notification(suite.page, 'Changes saved').waitFor();
    expect((await suite.server.services.clients.get(SYSTEM_ACTOR, client.id)).description).toBe('Typed before the session ended');
  });
});
