import type { Locator, Page } from 'playwright-core';
import { expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../src/server/actor.js';
import { startTestServer } from '../test/support/server.js';
import { seriousViolations } from './support/axe.js';
import { newConsoleContext, withNotificationsHeld } from './support/browser.js';
import { requestToken, type ConsoleServer } from './support/console-server.js';
import { consoleSuite } from './support/console-suite.js';

/** One of each thing a page can show: a used client with a role, a disabled one, plain ones, and a second user. */
async function seedEveryKind(console_: ConsoleServer): Promise<{ clientId: string; userId: string }> {
  const { clients, users } = console_.server.services;
  const viewer = console_.roles.viewer.id;
  const used = await clients.create(SYSTEM_ACTOR, { name: 'Nightly invoices', description: 'Sends the invoices each night', roleId: viewer });
  await requestToken(console_.url, used.client.id, used.clientSecret);
  const off = await clients.create(SYSTEM_ACTOR, { name: 'Legacy importer', roleId: viewer });
  await clients.update(SYSTEM_ACTOR, off.client.id, { enabled: false });
  for (const name of ['Billing export', 'Warehouse sync']) await clients.create(SYSTEM_ACTOR, { name });
  const user = await users.create(SYSTEM_ACTOR, { email: 'grace@koios.test', name: 'Grace Hopper', password: 'a long enough password', roleIds: [viewer] });
  return { clientId: used.client.id, userId: user.id };
}

/**
 * Accessibility measured rather than assumed: axe-core on every page of the console and every
 * dialog, in the light theme and the dark one, finds nothing serious or critical.
 */
consoleSuite('the console, checked by axe-core', { seed: seedEveryKind, timeout: 120_000, independentTests: true }, (suite) => {
  const violations = (on: Page = suite.page): Promise<string[]> => seriousViolations(on);

  const heading = (name: string | RegExp, on: Page = suite.page) => on.getByRole('heading', { name, level: 1 }).waitFor();
  const dialog = async (name: string): Promise<Locator> => {
    const found = suite.page.getByRole('dialog', { name });
    await found.waitFor();
    // The dialog's opening transition: axe measures the colours it ends on.
    await suite.page.evaluate('Promise.all(document.getAnimations().map((a) => a.finished.catch(() => undefined)))');
    return found;
  };
  const closeWith = async (scope: Locator, button: string) => {
    await scope.getByRole('button', { name: button, exact: true }).click();
    await scope.waitFor({ state: 'detached' });
  };

  it('finds nothing serious on the sign-in page, empty and with its errors shown', async () => {
    const other = await newConsoleContext(suite.browser, suite.url);
    try {
      const login = await other.newPage();
      await login.goto('/login');
      await login.getByRole('button', { name: 'Sign in' }).waitFor();
      expect(await violations(login)).toEqual([]);
      await login.getByLabel('Email').fill(suite.admin.email);
      await login.getByRole('textbox', { name: 'Password', exact: true }).fill('not the password');
      await login.getByRole('button', { name: 'Sign in' }).click();
      await login.getByRole('alert').first().waitFor();
      expect(await violations(login)).toEqual([]);
    } finally {
      await other.close();
    }
  });

  it('finds nothing serious on the client list, with a disabled row, a selection and the Actions menu open', async () => {
    await suite.page.goto('/system/connections');
    await suite.page.getByRole('link', { name: 'Legacy importer' }).waitFor();
    expect(await violations()).toEqual([]);
    await suite.page.getByRole('checkbox', { name: 'Select Billing export' }).check();
    await suite.page.getByRole('button', { name: 'Actions' }).click();
    await suite.page.getByRole('menuitem', { name: 'Disable' }).waitFor();
    expect(await violations()).toEqual([]);
    await suite.page.keyboard.press('Escape');
  });

  it.each(['overview', 'roles', 'permissions', 'activity'])('finds nothing serious on the client detail page, %s tab', async (tab) => {
    await suite.page.goto(`/system/connections/${suite.seeded.clientId}${tab === 'overview' ? '' : `?tab=${tab}`}`);
    await heading('Nightly invoices');
    await suite.page.getByRole('tabpanel').first().waitFor();
    expect(await violations()).toEqual([]);
  });

  it.each(['overview', 'roles', 'permissions', 'activity'])('finds nothing serious on the user detail page, %s tab', async (tab) => {
    await suite.page.goto(`/users/${suite.seeded.userId}${tab === 'overview' ? '' : `?tab=${tab}`}`);
    await heading('Grace Hopper');
    await suite.page.getByRole('tabpanel').first().waitFor();
    expect(await violations()).toEqual([]);
  });

  it.each([
    ['the users list', '/users', 'Users'],
    ['the roles list', '/roles', 'Roles'],
    ['a role', '/roles/:viewer', 'Viewer'],
    ['the audit log', '/audit', 'Audit'],
    ['the System section', '/system', 'API Clients'],
    ['Page not found', '/nope', 'Page not found'],
    ['Page not found under System', '/system/foo', 'Page not found'],
  ])('finds nothing serious on %s', async (_, path, title) => {
    await suite.page.goto(path.replace(':viewer', suite.roles.viewer.id));
    await heading(title);
    await suite.page.getByRole('progressbar').first().waitFor({ state: 'detached' });
    expect(await violations()).toEqual([]);
  });

  it('finds nothing serious in the create dialog, its errors, and the one-time credentials dialog', async () => {
    await suite.page.goto('/system/connections');
    await suite.page.getByRole('button', { name: 'Add API Client' }).click();
    const create = await dialog('Add API Client');
    expect(await violations()).toEqual([]);
    await create.getByRole('button', { name: 'Create' }).click();
    await create
      .getByText(/required|enter a name/i)
      .first()
      .waitFor();
    expect(await violations()).toEqual([]);
    await create.getByLabel('Name').fill('Payroll sync');
    await create.getByRole('button', { name: 'Create' }).click();
    const credentials = await dialog('API client created');
    // The creation's notification, shown with the dialog, is held open while axe measures it.
    expect(await withNotificationsHeld(suite.page, () => violations())).toEqual([]);
    await credentials.getByRole('checkbox', { name: 'I have copied the secret' }).check();
    // The creation's notification closes by itself after a few seconds; caught while it fades out,
    // its text blends into the page and axe measures that instead of the colours it is shown in.
    await suite.page.locator('.mantine-Notification-root').waitFor({ state: 'detached' });
    expect(await violations()).toEqual([]);
    await closeWith(credentials, 'Done');
  });

  it('finds nothing serious in the delete and regenerate confirmations and the new secret dialog', async () => {
    await suite.page.goto(`/system/connections/${suite.seeded.clientId}`);
    await heading('Nightly invoices');
    await suite.page.getByRole('button', { name: 'Delete' }).click();
    const remove = await dialog('Delete Nightly invoices?');
    expect(await violations()).toEqual([]);
    await closeWith(remove, 'Cancel');

    await suite.page.getByRole('button', { name: /regenerate.*client secret/i }).click();
    const regenerate = await dialog('Regenerate the client secret?');
    expect(await violations()).toEqual([]);
    await regenerate.getByRole('button', { name: 'Regenerate secret' }).click();
    const secret = await dialog('New client secret');
    expect(await withNotificationsHeld(suite.page, () => violations())).toEqual([]);
    await secret.getByRole('checkbox', { name: 'I have copied the secret' }).check();
    await closeWith(secret, 'Done');
  });

  it('finds nothing serious in the bulk delete confirmation', async () => {
    await suite.page.goto('/system/connections');
    await suite.page.getByRole('checkbox', { name: 'Select Billing export' }).check();
    await suite.page.getByRole('checkbox', { name: 'Select Warehouse sync' }).check();
    await suite.page.getByRole('button', { name: 'Actions' }).click();
    await suite.page.getByRole('menuitem', { name: 'Delete' }).click();
    const confirm = await dialog('Delete 2 API clients?');
    expect(await violations()).toEqual([]);
    await closeWith(confirm, 'Cancel');
  });

  it('finds nothing serious in Add user, Create role, and the user delete confirmation', async () => {
    await suite.page.goto('/users');
    await heading('Users');
    await suite.page.getByRole('button', { name: 'Add user' }).click();
    const add = await dialog('Add user');
    expect(await violations()).toEqual([]);
    await closeWith(add, 'Cancel');

    await suite.page.goto('/roles');
    await heading('Roles');
    await suite.page.getByRole('button', { name: 'Create role' }).click();
    const create = await dialog('Create role');
    expect(await violations()).toEqual([]);
    await closeWith(create, 'Cancel');

    await suite.page.goto(`/users/${suite.seeded.userId}`);
    await heading('Grace Hopper');
    await suite.page.getByRole('button', { name: 'Delete' }).click();
    const remove = await dialog('Delete grace@koios.test?');
    expect(await violations()).toEqual([]);
    await closeWith(remove, 'Cancel');
  });

  it('finds nothing serious on the first-run setup page', async () => {
    const fresh = await startTestServer('sqlite');
    const token = (await fresh.services.users.issueSetupToken())!;
    const other = await newConsoleContext(suite.browser, fresh.url);
    try {
      const setup = await other.newPage();
      await setup.goto(`/setup?token=${encodeURIComponent(token)}`);
      await setup.getByRole('button', { name: 'Create Administrator' }).waitFor();
      expect(await violations(setup)).toEqual([]);
    } finally {
      await other.close();
      await fresh.close();
    }
  });
});
