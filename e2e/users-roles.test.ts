import { expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../src/server/actor.js';
import { notification as notificationOf, toggle, screenshot, screenshotBothThemes, unnamedControls, useTheme } from './support/browser.js';
import { consoleSuite } from './support/console-suite.js';

/** Roles, users and the audit log in the console, in a real browser against the real server. */
consoleSuite('the roles, users and audit pages', {}, (suite) => {
  let roleId = '';
  let userId = '';

  const notification = (text: string | RegExp) => notificationOf(suite.page, text);

  it('lists the built-in roles, which are read-only', async () => {
    await suite.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Roles' }).click();
    await suite.page.getByRole('heading', { name: 'Roles', level: 1 }).waitFor();
    const table = suite.page.getByRole('table', { name: 'Roles' });
    for (const name of ['Administrator', 'Viewer']) {
      await table
        .getByRole('row')
        .filter({ has: suite.page.getByRole('link', { name, exact: true }) })
        .getByText('Built-in')
        .waitFor();
    }
    await table.getByRole('link', { name: 'Viewer', exact: true }).click();
    await suite.page.getByRole('heading', { name: 'Viewer', level: 1 }).waitFor();
    await suite.page.getByText('Built-in roles are present from the first start').waitFor();
    const readAudit = suite.page.getByRole('switch', { name: 'View audit log' });
    await suite.page.getByRole('switch', { name: 'View audit log', checked: true }).waitFor();
    expect(await readAudit.getAttribute('aria-readonly')).toBe('true');
    await toggle(readAudit);
    expect(await readAudit.isChecked()).toBe(true);
    expect(await suite.page.getByRole('button', { name: 'Save changes' }).count()).toBe(0);
    expect(await suite.page.getByRole('button', { name: 'Delete role' }).count()).toBe(0);
  });

  it('creates a custom role and toggles its permissions by category', async () => {
    await suite.page.getByRole('link', { name: 'Roles' }).first().click();
    await suite.page.getByRole('button', { name: 'Create role' }).click();
    const dialog = suite.page.getByRole('dialog', { name: 'Create role' });
    await dialog.getByLabel('Name').fill('Viewer');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog.getByText(/already exists/).waitFor();
    expect(await unnamedControls(suite.page)).toEqual([]);
    await dialog.getByLabel('Name').fill('Auditors');
    await dialog.getByLabel('Description').fill('Read the audit log and the client list');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await suite.page.waitForURL(/\/roles\/[0-9a-f-]{36}$/);
    roleId = suite.page.url().split('/').at(-1)!;
    await suite.page.getByRole('heading', { name: 'Auditors', level: 1 }).waitFor();

    for (const category of ['API Clients', 'Roles', 'Users', 'Audit']) await suite.page.getByRole('heading', { name: category, level: 3 }).waitFor();
    const save = suite.page.getByRole('button', { name: 'Save changes' });
    expect(await save.isDisabled()).toBe(true);
    await toggle(suite.page.getByRole('switch', { name: 'View audit log' }));
    await toggle(suite.page.getByRole('switch', { name: 'View API clients' }));
    await suite.page.getByText('You have unsaved changes.').waitFor();
    expect(await unnamedControls(suite.page)).toEqual([]);
    await screenshot(suite.page, 'role-editor', { fullPage: false });
    await save.click();
    await notification('Role saved').waitFor();
    expect((await suite.server.services.roles.get(SYSTEM_ACTOR, roleId)).permissions).toEqual(['clients:read', 'audit:read']);

    await suite.page.reload();
    await suite.page.getByRole('heading', { name: 'Auditors', level: 1 }).waitFor();
    await suite.page.getByRole('switch', { name: 'View audit log', checked: true }).waitFor();
    await suite.page.getByRole('switch', { name: 'Delete API clients', checked: false }).waitFor();
    await useTheme(suite.page, 'dark');
    await screenshot(suite.page, 'role-editor', { fullPage: false });
    await useTheme(suite.page, 'light');
  });

  it('creates a user with a role, from Add user', async () => {
    await suite.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).click();
    await suite.page.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
    const table = suite.page.getByRole('table', { name: 'Users' });
    await table.getByText(suite.admin.email).waitFor();

    await suite.page.getByRole('button', { name: 'Add user' }).click();
    const dialog = suite.page.getByRole('dialog', { name: 'Add user' });
    await dialog.getByLabel('Email').fill('grace@koios.test');
    await dialog.getByLabel('Name').fill('Grace Hopper');
    await dialog.getByRole('textbox', { name: 'Initial password' }).fill('short');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog.getByText('Use at least 12 characters').waitFor();
    expect(await unnamedControls(suite.page)).toEqual([]);
    await dialog.getByRole('textbox', { name: 'Initial password' }).fill('a long enough password');
    await dialog.getByRole('checkbox', { name: 'Viewer' }).check();
    await dialog.getByRole('button', { name: 'Create' }).click();
    await notification('User created').waitFor();
    await suite.page.waitForURL(/\/users\/[0-9a-f-]{36}$/);
    userId = suite.page.url().split('/').at(-1)!;
    await suite.page.getByRole('heading', { name: 'Grace Hopper', level: 1 }).waitFor();
    expect((await suite.server.services.users.get(SYSTEM_ACTOR, userId)).roles.map((role) => role.name)).toEqual(['Viewer']);
    await suite.page.getByRole('region', { name: 'Last Sign-in' }).getByText('Never').waitFor();
    await screenshotBothThemes(suite.page, 'user-overview');
  });

  it('searches users by name or email, and keeps the search in the URL', async () => {
    await suite.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).click();
    const table = suite.page.getByRole('table', { name: 'Users' });
    await table.getByRole('link', { name: 'Grace Hopper' }).waitFor();
    await table.getByRole('link', { name: suite.admin.name }).waitFor();
    await suite.page.getByText('1–2 of 2 users').waitFor();
    expect(await unnamedControls(suite.page)).toEqual([]);
    await screenshotBothThemes(suite.page, 'user-list');

    await suite.page.getByLabel('Search users').fill('HOPPER');
    await suite.page.waitForURL((url) => url.searchParams.get('q') === 'HOPPER');
    await suite.page.getByText('1–1 of 1 user').waitFor();
    expect(await table.getByRole('link').allTextContents()).toEqual(['Grace Hopper']);

    // The search is part of the address: another tab opened on it shows the same users.
    const other = await suite.context.newPage();
    await other.goto(suite.page.url());
    await other.getByText('1–1 of 1 user').waitFor();
    expect(await other.getByRole('table', { name: 'Users' }).getByRole('link').allTextContents()).toEqual(['Grace Hopper']);
    expect(await other.getByLabel('Search users').inputValue()).toBe('HOPPER');
    await other.close();

    // By email, in any case. The range reads as it did for HOPPER, so wait for the row that differs.
    await suite.page.getByLabel('Search users').fill('ADA@KOIOS');
    await suite.page.waitForURL((url) => url.searchParams.get('q') === 'ADA@KOIOS');
    await table.getByRole('link', { name: suite.admin.name }).waitFor();
    expect(await table.getByRole('link').allTextContents()).toEqual([suite.admin.name]);
    expect(await suite.page.getByText('1–1 of 1 user').isVisible()).toBe(true);

    await suite.page.getByLabel('Search users').fill('nobody by this name');
    await suite.page.getByText('No users match').waitFor();
    await screenshotBothThemes(suite.page, 'user-list-no-match');
    await suite.page.getByRole('button', { name: 'Show every user' }).click();
    await suite.page.waitForURL((url) => !url.searchParams.has('q'));
    await suite.page.getByText('1–2 of 2 users').waitFor();
    await expect.poll(() => suite.page.getByLabel('Search users').inputValue()).toBe('');

    // Escape empties the box, and the list follows.
    await suite.page.getByLabel('Search users').fill('grace');
    await suite.page.waitForURL((url) => url.searchParams.get('q') === 'grace');
    await suite.page.getByText('1–1 of 1 user').waitFor();
    await suite.page.getByLabel('Search users').press('Escape');
    await suite.page.waitForURL((url) => !url.searchParams.has('q'));
    await suite.page.getByText('1–2 of 2 users').waitFor();

    await table.getByRole('link', { name: 'Grace Hopper' }).click();
    await suite.page.getByRole('heading', { name: 'Grace Hopper', level: 1 }).waitFor();
  });

  it('shows the API’s refusal of a search where the list would be, with the search box still there to change it', async () => {
    // A shared link can carry a longer search than the box lets anyone type; the API refuses it (400).
    await suite.page.goto(`/users?q=${'x'.repeat(201)}`);
    const table = suite.page.getByRole('table', { name: 'Users' });
    const refusal = table.getByRole('alert').filter({ hasText: 'The users could not be loaded' });
    await refusal.getByText(/^q .*200 characters/i).waitFor();
    await refusal.getByRole('button', { name: 'Try again' }).waitFor();
    expect(await table.getAttribute('aria-busy')).toBe('false');
    expect(await suite.page.getByLabel('Search users').isEditable()).toBe(true);
    // Nothing is said about how many users there are: the list was not read.
    expect(await suite.page.getByText(/\d+ users?$/).count()).toBe(0);
    await screenshotBothThemes(suite.page, 'user-list-error');
    await suite.page.getByRole('button', { name: 'Clear search' }).click();
    await suite.page.waitForURL((url) => !url.searchParams.has('q'));
    await table.getByRole('link', { name: 'Grace Hopper' }).waitFor();
    expect(await refusal.count()).toBe(0);
  });

  it('keeps the page still while the list loads: skeleton rows in the rows’ own height, the search box in its place', async () => {
    let answer!: () => void;
    const held = new Promise<void>((resolve) => (answer = resolve));
    const list = (url: URL) => url.pathname === '/api/v1/users';
    await suite.page.route(list, async (route) => {
      await held;
      await route.continue();
    });
    await suite.page.goto('/users');
    const table = suite.page.getByRole('table', { name: 'Users' });
    await table.getByRole('columnheader', { name: 'Email' }).waitFor();
    expect(await table.getAttribute('aria-busy')).toBe('true');
    const search = await suite.page.getByLabel('Search users').boundingBox();
    const header = await table.getByRole('columnheader', { name: 'Email' }).boundingBox();
    const loadingRow = await table.getByRole('row', { includeHidden: true }).nth(1).boundingBox();
    // Until the answer, no range is claimed: not "0 users".
    expect(await suite.page.getByText(/\d+ users?$/).count()).toBe(0);

    answer();
    await table.getByRole('link', { name: 'Grace Hopper' }).waitFor();
    expect(await table.getAttribute('aria-busy')).toBe('false');
    expect(await suite.page.getByLabel('Search users').boundingBox()).toEqual(search);
    expect((await table.getByRole('columnheader', { name: 'Email' }).boundingBox())?.y).toBe(header?.y);
    expect((await table.getByRole('row').nth(1).boundingBox())?.height).toBe(loadingRow?.height);
    await suite.page.unroute(list);
    await table.getByRole('link', { name: 'Grace Hopper' }).click();
    await suite.page.getByRole('heading', { name: 'Grace Hopper', level: 1 }).waitFor();
  });

  it('gives the user several roles with checkboxes, and the Permissions tab shows the union', async () => {
    await suite.page.getByRole('tab', { name: 'Permissions' }).click();
    let permissions = suite.page.getByRole('tabpanel', { name: 'Permissions' });
    await permissions.getByRole('heading', { name: 'Audit' }).waitFor();
    await permissions.getByRole('switch', { name: 'Manage roles', checked: false }).waitFor();

    await suite.page.getByRole('tab', { name: 'Roles' }).click();
    const roles = suite.page.getByRole('tabpanel', { name: 'Roles' }).getByRole('group', { name: 'Roles' });
    await roles.getByRole('checkbox', { name: 'Viewer', checked: true }).waitFor();
    await roles.getByRole('checkbox', { name: 'Auditors' }).check();
    await roles.getByRole('checkbox', { name: 'Administrator' }).check();
    await suite.page.getByRole('heading', { name: 'What these roles grant' }).waitFor();
    expect(await unnamedControls(suite.page)).toEqual([]);
    await screenshotBothThemes(suite.page, 'user-roles');
    await suite.page.getByRole('button', { name: 'Save roles' }).click();
    await notification('Roles saved').waitFor();
    expect((await suite.server.services.users.get(SYSTEM_ACTOR, userId)).roles.map((role) => role.name).sort()).toEqual([
      'Administrator',
      'Auditors',
      'Viewer',
    ]);

    await suite.page.getByRole('tab', { name: 'Permissions' }).click();
    permissions = suite.page.getByRole('tabpanel', { name: 'Permissions' });
    await permissions.getByRole('switch', { name: 'Manage roles', checked: true }).waitFor();
    await screenshotBothThemes(suite.page, 'user-permissions');
  });

  it('disables the user with the header switch, then deletes them', async () => {
    const enabled = suite.page.getByRole('switch').first();
    expect(await enabled.getAttribute('id')).toBe(await suite.page.getByRole('switch', { name: 'Enabled', exact: true }).getAttribute('id'));
    await toggle(enabled);
    await suite.page.getByRole('switch', { name: 'Enabled', exact: true, checked: false }).waitFor();
    await notification('User disabled').waitFor();
    expect((await suite.server.services.users.get(SYSTEM_ACTOR, userId)).enabled).toBe(false);

    await suite.page.getByRole('button', { name: 'Delete' }).click();
    const confirm = suite.page.getByRole('dialog', { name: 'Delete grace@koios.test?' });
    await confirm.getByRole('button', { name: 'Delete user' }).click();
    await notification('User deleted').waitFor();
    await suite.page.waitForURL(/\/users$/);
    await suite.page.getByRole('table', { name: 'Users' }).getByText(suite.admin.email).waitFor();
    expect(await suite.page.getByRole('table', { name: 'Users' }).getByText('grace@koios.test').count()).toBe(0);
  });

  it('does not let the signed-in user disable or delete themselves', async () => {
    await suite.page.getByRole('table', { name: 'Users' }).getByRole('link', { name: suite.admin.name }).click();
    await suite.page.getByRole('heading', { name: suite.admin.name, level: 1 }).waitFor();
    await expect.poll(() => suite.page.getByRole('switch', { name: 'Enabled', exact: true }).isDisabled()).toBe(true);
    await expect.poll(() => suite.page.getByRole('button', { name: 'Delete' }).isDisabled()).toBe(true);
  });

  it('searches the audit log', async () => {
    await suite.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit' }).click();
    await suite.page.getByRole('heading', { name: 'Audit', level: 1 }).waitFor();
    const table = suite.page.getByRole('table', { name: 'Audit events' });
    await table.getByText('user.deleted').waitFor();
    await suite.page.getByLabel('Search the audit log').fill('Auditors');
    await suite.page.waitForURL(/q=Auditors/);
    await table.getByText('role.created').waitFor();
    await table.getByText('user.deleted').first().waitFor({ state: 'detached' });
    expect(await unnamedControls(suite.page)).toEqual([]);
    await screenshotBothThemes(suite.page, 'audit');
    await suite.page.getByLabel('Search the audit log').fill('no event matches this');
    await suite.page.getByText('No events match').waitFor();
  });
  // Last: it ends every session of the Administrator, this page's too.
  it('asks for your current password to change your own, says on the sign-in page why the change signed you out, and the new password works', async () => {
    const newPassword = 'a brand new long passphrase';
    await suite.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).click();
    await suite.page.getByRole('table', { name: 'Users' }).getByRole('link', { name: suite.admin.name }).click();
    await suite.page.getByRole('heading', { name: suite.admin.name, level: 1 }).waitFor();
    await suite.page.getByLabel('New password').fill(newPassword);
    await suite.page.getByRole('button', { name: 'Set password' }).click();
    await suite.page.getByText('Enter your current password').waitFor();
    await suite.page.getByLabel('Current password').fill('not my password at all');
    await suite.page.getByRole('button', { name: 'Set password' }).click();
    await suite.page.getByText('is not your current password').waitFor();
    await suite.page.getByLabel('Current password').fill(suite.admin.password);
    await suite.page.getByRole('button', { name: 'Set password' }).click();
    await suite.page.waitForURL(/\/login\?reason=password-changed$/);
    await suite.page.getByRole('alert').filter({ hasText: 'Password changed' }).waitFor();
    await suite.page.getByLabel('Email').fill(suite.admin.email);
    await suite.page.getByRole('textbox', { name: 'Password', exact: true }).fill(newPassword);
    await suite.page.getByRole('button', { name: 'Sign in' }).click();
    await suite.page.waitForURL(/\/system\/connections$/);
  });
});
