import type { Page } from 'playwright-core';
import { expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../src/server/actor.js';
import { clipboardText, notification as notificationOf, toggle, focused, screenshot, unnamedControls, useTheme } from './support/browser.js';
import { callApi, requestToken } from './support/console-server.js';
import { consoleSuite } from './support/console-suite.js';

/**
 * The product description of API clients (seed/api-clients.txt), sentence by sentence, in a real
 * browser against the real server serving the built console.
 */
consoleSuite('the API clients console', { signIn: false }, (suite) => {
  /** The client created through the console, and what the one-time dialog showed. */
  const created = { id: '', secret: '', name: 'Billing export' };
  let accessToken = '';

  const notification = (text: string | RegExp) => notificationOf(suite.page, text);
  const row = (name: string) => suite.page.getByRole('row').filter({ has: suite.page.getByRole('link', { name, exact: true }) });

  it('sends a visitor without a session to Sign in, and back to the page they asked for', async () => {
    await suite.page.goto('/system/connections?sort=name');
    await suite.page.waitForURL(/\/login\?next=/);
    await suite.page.getByLabel('Email').fill(suite.admin.email);
    await suite.page.getByRole('textbox', { name: 'Password', exact: true }).fill('not the password');
    await suite.page.getByRole('button', { name: 'Sign in' }).click();
    await suite.page.getByRole('alert').filter({ hasText: 'Sign-in failed' }).getByText('The email or password is not right').waitFor();

    await suite.page.getByRole('textbox', { name: 'Password', exact: true }).fill(suite.admin.password);
    await suite.page.getByRole('textbox', { name: 'Password', exact: true }).press('Enter');
    await suite.page.waitForURL(/\/system\/connections\?sort=name$/);
    await suite.page.getByRole('heading', { name: 'API Clients', level: 1 }).waitFor();
    const navigation = suite.page.getByRole('navigation', { name: 'Main' });
    await navigation.getByRole('link', { name: 'Connections' }).waitFor();
    await navigation.getByText('System').waitFor();
    await suite.page.getByRole('button', { name: `Account: ${suite.admin.name}` }).waitFor();
  });

  it('says what to do when there is no client yet', async () => {
    await suite.page.getByText('No API clients yet').waitFor();
    // A key client has no secret: neither the heading nor the empty state promises one for every client.
    await suite.page.getByText('a Client ID with a Client Secret, or with a key pair', { exact: false }).waitFor();
    await suite.page.getByText('a client that signs with its own key has none', { exact: false }).waitFor();
    expect(await suite.page.getByText('You will see its secret once', { exact: false }).count()).toBe(0);
    await screenshot(suite.page, 'client-list-empty');
  });

  it('creates a client from Add API Client: Name required, Description optional, then Create', async () => {
    await suite.page.getByRole('button', { name: 'Add API Client' }).click();
    const dialog = suite.page.getByRole('dialog', { name: 'Add API Client' });
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog.getByText('Name is required').waitFor();
    await dialog.getByLabel('Name').fill('   ');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog.getByText('Name is required').waitFor();
    await dialog.getByLabel('Name').fill('x'.repeat(101));
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog.getByText('Name must be at most 100 characters').waitFor();
    expect(await unnamedControls(suite.page)).toEqual([]);

    await dialog.getByLabel('Name').fill(created.name);
    await dialog.getByLabel('Description').fill('Nightly invoice export to the accounting system');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog.waitFor({ state: 'detached' });
  });

  it('shows the Client ID and the Client Secret once, and cannot be dismissed before the secret is copied', async () => {
    const dialog = suite.page.getByRole('dialog', { name: 'API client created' });
    await dialog.waitFor();
    created.id = await dialog.getByRole('textbox', { name: 'Client ID' }).inputValue();
    created.secret = await dialog.getByRole('textbox', { name: 'Client Secret' }).inputValue();
    expect(created.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(created.secret.length).toBeGreaterThan(30);
    await dialog.getByText(/will not be shown again/).waitFor();

    // The button writes to the clipboard a moment after the click.
    await dialog.getByRole('button', { name: 'Copy client secret' }).click();
    await expect.poll(() => clipboardText(suite.page)).toBe(created.secret);
    await dialog.getByRole('button', { name: 'Copy client ID' }).click();
    await expect.poll(() => clipboardText(suite.page)).toBe(created.id);

    await suite.page.keyboard.press('Escape');
    await suite.page.mouse.click(5, 5);
    expect(await dialog.isVisible()).toBe(true);
    expect(await dialog.getByRole('button', { name: 'Close' }).isDisabled()).toBe(true);
    expect(await dialog.getByRole('button', { name: 'Done' }).isDisabled()).toBe(true);
    await screenshot(suite.page, 'credentials-dialog');

    await dialog.getByRole('checkbox', { name: 'I have copied the secret' }).check();
    await dialog.getByRole('button', { name: 'Done' }).click();
    await dialog.waitFor({ state: 'detached' });
  });

  it('lists the client with Status, Name, Client ID, Last Used and Created', async () => {
    const table = suite.page.getByRole('table', { name: 'API clients' });
    for (const column of ['Status', 'Name', 'Client ID', 'Last Used', 'Created']) {
      await table.getByRole('columnheader', { name: column, exact: true }).waitFor();
    }
    const client = row(created.name);
    await client.getByText('Enabled', { exact: true }).waitFor();
    await client.getByText(created.id).waitFor();
    await client.getByText('Never').waitFor();
    await client.getByRole('button', { name: `Copy client ID of ${created.name}` }).waitFor();
    // The exact time on hover (the browser's own tooltip, cheap for fifty rows).
    expect(await client.locator('time').first().getAttribute('title')).toMatch(/\d{4}/);
    expect(await unnamedControls(suite.page)).toEqual([]);
  });

  it('gives the new credentials an access token at /oauth/token', async () => {
    const response = await requestToken(suite.url, created.id, created.secret);
    expect(response.status).toBe(200);
    accessToken = ((await response.json()) as { access_token: string }).access_token;
    const me = await callApi(suite.url, '/api/v1/me', accessToken);
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ type: 'client', id: created.id, name: created.name, permissions: [] });
  });

  it('opens the detail page from the row: Overview with Last Activity, Status, Client Credentials and Description', async () => {
    await row(created.name).getByRole('cell').nth(4).click();
    await suite.page.waitForURL(`**/system/connections/${created.id}`);
    await suite.page.getByRole('heading', { name: created.name, level: 1 }).waitFor();
    for (const tab of ['Overview', 'Roles', 'Permissions']) await suite.page.getByRole('tab', { name: tab }).waitFor();
    await suite.page.getByRole('tab', { name: 'Overview', selected: true }).waitFor();
    await suite.page.getByRole('region', { name: 'Last Activity' }).waitFor();
    await suite.page.getByRole('region', { name: 'Status' }).getByText('Enabled', { exact: true }).waitFor();
    const credentials = suite.page.getByRole('region', { name: 'Client Credentials' });
    await credentials.getByText(created.id).waitFor();
    // Something else first, so that the copy below is seen to replace it.
    await suite.page.evaluate('navigator.clipboard.writeText("")');
    await credentials.getByRole('button', { name: 'Copy client ID' }).click();
    await expect.poll(() => clipboardText(suite.page)).toBe(created.id);
    const masked = credentials.getByRole('button', { name: /regenerate.*client secret/i });
    expect(await masked.textContent()).not.toContain(created.secret);
    await expect.poll(() => suite.page.getByLabel('Description').inputValue()).toBe('Nightly invoice export to the accounting system');

    await suite.page.getByLabel('Description').fill('Nightly invoice export (v2)');
    await suite.page.getByRole('button', { name: 'Save changes' }).click();
    await notification('Changes saved').waitFor();
    expect((await suite.server.services.clients.get(SYSTEM_ACTOR, created.id)).description).toBe('Nightly invoice export (v2)');
    await screenshot(suite.page, 'client-overview');
  });

  it('shows no permission on the Permissions tab while the client has no role', async () => {
    await suite.page.getByRole('tab', { name: 'Permissions' }).click();
    const panel = suite.page.getByRole('tabpanel', { name: 'Permissions' });
    for (const category of ['API Clients', 'Roles', 'Users', 'Audit']) await panel.getByRole('heading', { name: category }).waitFor();
    const readClients = panel.getByRole('switch', { name: 'View API clients' });
    await panel.getByRole('switch', { name: 'View API clients', checked: false }).waitFor();
    expect(await readClients.getAttribute('aria-readonly')).toBe('true');
    expect(await unnamedControls(suite.page)).toEqual([]);
    expect((await callApi(suite.url, '/api/v1/clients', accessToken)).status).toBe(403);
  });

  it('assigns a role on the Roles tab, previewing its permissions first, and the Permissions tab follows', async () => {
    await suite.page.getByRole('tab', { name: 'Roles' }).click();
    const panel = suite.page.getByRole('tabpanel', { name: 'Roles' });
    const roles = panel.getByRole('radiogroup', { name: 'Role' });
    await roles.getByRole('radio', { name: 'No role', checked: true }).waitFor();
    await roles.getByRole('radio', { name: 'Administrator' }).waitFor();

    await roles.getByRole('radio', { name: 'Viewer' }).check();
    await panel.getByRole('heading', { name: 'What Viewer grants' }).waitFor();
    await panel.getByRole('switch', { name: 'View API clients', checked: true }).waitFor();
    await panel.getByRole('switch', { name: 'Delete API clients', checked: false }).waitFor();
    await screenshot(suite.page, 'client-roles');
    expect(await unnamedControls(suite.page)).toEqual([]);
    // Only a preview so far: the client still has no role.
    expect((await suite.server.services.clients.get(SYSTEM_ACTOR, created.id)).role).toBeNull();

    await panel.getByRole('button', { name: 'Save role' }).click();
    await notification(`${created.name} now has the role Viewer`).waitFor();
    expect((await suite.server.services.clients.get(SYSTEM_ACTOR, created.id)).role?.name).toBe('Viewer');

    await suite.page.getByRole('tab', { name: 'Permissions' }).click();
    const permissions = suite.page.getByRole('tabpanel', { name: 'Permissions' });
    await permissions.getByText('Effective permissions from the role').waitFor();
    await permissions.getByRole('switch', { name: 'View API clients', checked: true }).waitFor();
    await permissions.getByRole('switch', { name: 'View audit log', checked: true }).waitFor();
    await permissions.getByRole('switch', { name: 'Create API clients', checked: false }).waitFor();
    await screenshot(suite.page, 'client-permissions');
    await suite.page.getByRole('tab', { name: 'Activity' }).click();
    await suite.page.getByRole('tabpanel', { name: 'Activity' }).getByText('Changed the role').waitFor();
    await screenshot(suite.page, 'client-activity');
    // A token minted now carries the role's permissions (one minted before had an empty scope).
    const token = await requestToken(suite.url, created.id, created.secret);
    accessToken = ((await token.json()) as { access_token: string }).access_token;
    expect((await callApi(suite.url, '/api/v1/clients', accessToken)).status).toBe(200);
  });

  it('disables the client with the switch in the header, and its token is refused; enabling restores it', async () => {
    // The header's switch is the first on the page, named Enabled.
    const enabled = suite.page.getByRole('switch').first();
    expect(await enabled.getAttribute('id')).toBe(await suite.page.getByRole('switch', { name: 'Enabled', exact: true }).getAttribute('id'));
    expect(await enabled.isChecked()).toBe(true);

    await toggle(enabled);
    await notification('API client disabled').waitFor();
    await suite.page.getByRole('switch', { name: 'Enabled', exact: true, checked: false }).waitFor();
    await suite.page.getByRole('tab', { name: 'Overview' }).click();
    await suite.page.getByRole('region', { name: 'Status' }).getByText('Disabled', { exact: true }).waitFor();
    expect((await callApi(suite.url, '/api/v1/me', accessToken)).status).toBe(401);
    expect((await requestToken(suite.url, created.id, created.secret)).status).toBe(401);

    await toggle(suite.page.getByRole('switch').first());
    await notification('API client enabled').waitFor();
    expect((await callApi(suite.url, '/api/v1/me', accessToken)).status).toBe(200);
  });

  it('regenerates the secret from the masked secret, after confirmation; the old secret is refused', async () => {
    await useTheme(suite.page, 'dark');
    await suite.page.getByRole('tab', { name: 'Overview' }).click();
    await screenshot(suite.page, 'client-overview');
    await suite.page.getByRole('tab', { name: 'Roles' }).click();
    await suite.page.getByRole('tabpanel', { name: 'Roles' }).getByRole('radio', { name: 'Viewer' }).waitFor();
    await screenshot(suite.page, 'client-roles');
    await suite.page.getByRole('tab', { name: 'Permissions' }).click();
    await suite.page.getByRole('tabpanel', { name: 'Permissions' }).getByRole('heading', { name: 'Audit' }).waitFor();
    await screenshot(suite.page, 'client-permissions');
    await suite.page.getByRole('tab', { name: 'Overview' }).click();

    await suite.page.getByRole('button', { name: /regenerate.*client secret/i }).click();
    const confirm = suite.page.getByRole('dialog', { name: 'Regenerate the client secret?' });
    // The check is of the page with the confirmation open, not of the moment before it opens.
    await confirm.getByRole('button', { name: 'Cancel' }).waitFor();
    expect(await unnamedControls(suite.page)).toEqual([]);
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await confirm.waitFor({ state: 'detached' });
    expect((await requestToken(suite.url, created.id, created.secret)).status).toBe(200);

    await suite.page.getByRole('button', { name: /regenerate.*client secret/i }).click();
    await suite.page.getByRole('dialog', { name: 'Regenerate the client secret?' }).getByRole('button', { name: 'Regenerate secret' }).click();
    const dialog = suite.page.getByRole('dialog', { name: 'New client secret' });
    await dialog.waitFor();
    expect(await dialog.getByRole('textbox', { name: 'Client ID' }).inputValue()).toBe(created.id);
    const secret = await dialog.getByRole('textbox', { name: 'Client Secret' }).inputValue();
    expect(secret).not.toBe(created.secret);
    await screenshot(suite.page, 'credentials-dialog');
    await dialog.getByRole('checkbox', { name: 'I have copied the secret' }).check();
    await dialog.getByRole('button', { name: 'Done' }).click();

    const old = await requestToken(suite.url, created.id, created.secret);
    expect(old.status).toBe(401);
    expect(await old.json()).toMatchObject({ error: 'invalid_client' });
    expect((await callApi(suite.url, '/api/v1/me', accessToken)).status).toBe(401);
    expect((await requestToken(suite.url, created.id, secret)).status).toBe(200);
    created.secret = secret;
    await suite.page
      .getByRole('region', { name: 'Client Credentials' })
      .getByRole('button', { name: new RegExp(`ends in ${secret.slice(-4)}`) })
      .waitFor();
    await suite.page.getByRole('tab', { name: 'Activity' }).click();
    await suite.page.getByRole('tabpanel', { name: 'Activity' }).getByText('Regenerated the secret').waitFor();
    await screenshot(suite.page, 'client-activity');
  });

  it('enables, disables and deletes several clients at once from the Actions menu', async () => {
    for (const name of ['Warehouse sync', 'Reporting', 'Legacy importer']) await suite.server.services.clients.create(SYSTEM_ACTOR, { name });
    await suite.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Connections' }).click();
    await suite.page.waitForURL(/\/system\/connections$/);
    await row('Legacy importer').waitFor();

    await row('Reporting').getByRole('checkbox', { name: 'Select Reporting' }).check();
    await row('Legacy importer').getByRole('checkbox', { name: 'Select Legacy importer' }).check();
    await suite.page.getByText('2 selected').waitFor();
    await suite.page.getByRole('button', { name: 'Actions' }).click();
    await suite.page.getByRole('menuitem', { name: 'Disable' }).waitFor();
    expect(await unnamedControls(suite.page)).toEqual([]);
    await suite.page.getByRole('menuitem', { name: 'Disable' }).click();
    await notification('2 API clients disabled').waitFor();
    await row('Reporting').getByText('Disabled', { exact: true }).waitFor();
    await row('Legacy importer').getByText('Disabled', { exact: true }).waitFor();
    await expect.poll(() => row('Reporting').getAttribute('class')).toContain('koios-row-disabled');
    expect(await row('Warehouse sync').getByText('Enabled', { exact: true }).isVisible()).toBe(true);
    await screenshot(suite.page, 'client-list');
    await useTheme(suite.page, 'light');
    await screenshot(suite.page, 'client-list');

    await suite.page.getByRole('button', { name: 'Filters' }).click();
    await toggle(suite.page.getByRole('radiogroup', { name: 'Filter by status' }).getByRole('radio', { name: 'Disabled' }));
    await suite.page.waitForURL(/status=disabled/);
    await suite.page.keyboard.press('Escape');
    await suite.page.getByRole('button', { name: 'Filters, 1 in use' }).waitFor();
    // The range describes the rows on screen: the filtered answer has come once it reads so.
    await suite.page.getByText('1–2 of 2 clients').waitFor();
    expect(await suite.page.getByRole('table', { name: 'API clients' }).getByRole('link').count()).toBe(2);
    await suite.page.getByRole('checkbox', { name: 'Select all clients on this page' }).check();
    await suite.page.getByRole('button', { name: 'Actions' }).click();
    await suite.page.getByRole('menuitem', { name: 'Enable' }).click();
    await notification('2 API clients enabled').waitFor();
    await suite.page.getByText('No API clients match').waitFor();
    await suite.page.getByRole('button', { name: 'Clear search and filter' }).click();
    await row('Reporting').getByText('Enabled', { exact: true }).waitFor();

    await row('Reporting').getByRole('checkbox').check();
    await row('Legacy importer').getByRole('checkbox').check();
    await suite.page.getByRole('button', { name: 'Actions' }).click();
    await suite.page.getByRole('menuitem', { name: 'Delete' }).click();
    const confirm = suite.page.getByRole('dialog', { name: 'Delete 2 API clients?' });
    await confirm.getByText('These clients will be deleted').waitFor();
    await confirm.getByRole('listitem').filter({ hasText: 'Reporting' }).waitFor();
    await confirm.getByRole('button', { name: 'Delete 2 API clients' }).click();
    await notification('2 API clients deleted').waitFor();
    await row('Reporting').waitFor({ state: 'detached' });
    await row('Legacy importer').waitFor({ state: 'detached' });
    const left = await suite.server.services.clients.list(SYSTEM_ACTOR, { limit: 50, cursor: null, search: null, status: null, sort: 'name' });
    expect(left.items.map((client) => client.name).sort()).toEqual([created.name, 'Warehouse sync']);
  });

  it('keeps search, status filter, sort and page in the URL, so a view can be shared', async () => {
    for (let index = 1; index <= 12; index += 1) {
      await suite.server.services.clients.create(SYSTEM_ACTOR, { name: `Batch job ${String(index).padStart(2, '0')}` });
    }
    const table = suite.page.getByRole('table', { name: 'API clients' });
    const names = (view: Page) => view.getByRole('table', { name: 'API clients' }).getByRole('link').allTextContents();
    /** Waits until the first row (row 0 holds the headers) is the client `name`. */
    const firstRowIs = (view: Page, name: string) =>
      view.getByRole('table', { name: 'API clients' }).getByRole('row').nth(1).getByRole('link', { name, exact: true }).waitFor();

    await suite.page.goto('/system/connections');
    await suite.page.getByLabel('Search API clients').fill('batch job');
    await suite.page.waitForURL(/q=batch\+job/);
    await suite.page.getByRole('columnheader', { name: 'Name' }).getByRole('button').click();
    await suite.page.waitForURL(/sort=name/);
    await suite.page.getByRole('textbox', { name: 'Rows per page' }).click();
    await suite.page.getByRole('option', { name: '10', exact: true }).click();
    await suite.page.getByText('1–10 of 12 clients').waitFor();
    await firstRowIs(suite.page, 'Batch job 01');

    await suite.page.getByRole('button', { name: 'Next page' }).click();
    await suite.page.waitForURL(/page=2/);
    await suite.page.getByText('11–12 of 12 clients').waitFor();
    expect(await names(suite.page)).toEqual(['Batch job 11', 'Batch job 12']);
    const shared = suite.page.url();
    expect(new URL(shared).searchParams.get('q')).toBe('batch job');

    const other = await suite.context.newPage();
    await other.goto(shared);
    await other.getByText('11–12 of 12 clients').waitFor();
    expect(await names(other)).toEqual(['Batch job 11', 'Batch job 12']);
    expect(await other.getByLabel('Search API clients').inputValue()).toBe('batch job');
    await other.getByRole('button', { name: 'Previous page' }).click();
    await other.getByText('1–10 of 12 clients').waitFor();
    await firstRowIs(other, 'Batch job 01');
    await other.close();

    // A new sort from page 2 goes back to page 1. The URL changes at once, the rows when the server
    // answers: hold that answer to see the moment between, which a loaded machine stretches. The
    // table must say it is busy, and its range must still describe the rows on screen.
    let answer!: () => void;
    const held = new Promise<void>((resolve) => (answer = resolve));
    let asked!: () => void;
    const requested = new Promise<void>((resolve) => (asked = resolve));
    const descending = (url: URL) => url.pathname === '/api/v1/clients' && url.searchParams.get('sort') === '-name';
    await suite.page.route(descending, async (route) => {
      asked();
      await held;
      await route.continue();
    });
    await suite.page.getByRole('columnheader', { name: 'Name' }).getByRole('button').click();
    await suite.page.waitForURL((url) => url.searchParams.get('sort') === '-name' && !url.searchParams.has('page'));
    await requested;
    // Held, the request cannot answer: these wait only for the page to draw the state it is in.
    await expect.poll(() => suite.page.getByRole('columnheader', { name: 'Name' }).getAttribute('aria-sort')).toBe('descending');
    await expect.poll(() => table.getAttribute('aria-busy')).toBe('true');
    expect(await names(suite.page)).toEqual(['Batch job 11', 'Batch job 12']);
    expect(await suite.page.getByText('11–12 of 12 clients').isVisible()).toBe(true);

    answer();
    await suite.page.getByText('1–10 of 12 clients').waitFor();
    await firstRowIs(suite.page, 'Batch job 12');
    await expect.poll(() => table.getAttribute('aria-busy')).toBe('false');
    expect((await names(suite.page)).slice(0, 3)).toEqual(['Batch job 12', 'Batch job 11', 'Batch job 10']);
    await suite.page.unroute(descending);
  });

  it('can be used from the keyboard alone: add a client, acknowledge its secret, open it and move between its tabs', async () => {
    await suite.page.goto('/system/connections');
    await suite.page.getByRole('heading', { name: 'API Clients', level: 1 }).waitFor();
    await suite.page.getByRole('button', { name: 'Add API Client' }).focus();
    await suite.page.keyboard.press('Enter');
    const dialog = suite.page.getByRole('dialog', { name: 'Add API Client' });
    // The dialog puts the cursor in Name; Enter in a field submits the form.
    await focused(suite.page, dialog.getByLabel('Name')).waitFor();
    await suite.page.keyboard.type('Keyboard only');
    await suite.page.keyboard.press('Enter');
    const credentials = suite.page.getByRole('dialog', { name: 'API client created' });
    await credentials.waitFor();
    // The cursor is in the secret, ready to copy; Escape does not close the dialog before it is acknowledged.
    await focused(suite.page, credentials.getByRole('textbox', { name: 'Client Secret' })).waitFor();
    await suite.page.keyboard.press('Escape');
    expect(await credentials.isVisible()).toBe(true);
    await credentials.getByRole('checkbox', { name: 'I have copied the secret' }).focus();
    await suite.page.keyboard.press('Space');
    await suite.page.keyboard.press('Tab');
    await focused(suite.page, credentials.getByRole('button', { name: 'Done' })).waitFor();
    await suite.page.keyboard.press('Enter');
    await credentials.waitFor({ state: 'detached' });
    // Back where the person started, not lost at the top of the page.
    await focused(suite.page, suite.page.getByRole('button', { name: 'Add API Client' })).waitFor();

    const link = suite.page.getByRole('table', { name: 'API clients' }).getByRole('link', { name: 'Keyboard only', exact: true });
    await link.focus();
    await suite.page.keyboard.press('Enter');
    await suite.page.getByRole('heading', { name: 'Keyboard only', level: 1 }).waitFor();
    await suite.page.getByRole('tab', { name: 'Overview' }).focus();
    await suite.page.keyboard.press('ArrowRight');
    await suite.page.getByRole('tabpanel', { name: 'Roles' }).waitFor();
    await suite.page.keyboard.press('ArrowRight');
    await suite.page.getByRole('tabpanel', { name: 'Permissions' }).waitFor();
    await expect.poll(() => new URL(suite.page.url()).searchParams.get('tab')).toBe('permissions');
    // The masked secret is a button a keyboard reaches: Enter asks before regenerating.
    await suite.page.getByRole('tab', { name: 'Overview' }).focus();
    await suite.page.keyboard.press('Enter');
    await suite.page.getByRole('button', { name: /regenerate.*client secret/i }).focus();
    await suite.page.keyboard.press('Enter');
    const confirm = suite.page.getByRole('dialog', { name: 'Regenerate the client secret?' });
    await confirm.waitFor();
    await suite.page.keyboard.press('Escape');
    await confirm.waitFor({ state: 'detached' });
  });

  it('signs out', async () => {
    await useTheme(suite.page, 'light');
    await suite.page.getByRole('button', { name: `Account: ${suite.admin.name}` }).click();
    await suite.page.getByRole('menuitem', { name: 'Sign out' }).click();
    await suite.page.waitForURL(/\/login$/);
    await suite.page.goto('/system/connections');
    await suite.page.waitForURL(/\/login\?next=/);
  });
});
