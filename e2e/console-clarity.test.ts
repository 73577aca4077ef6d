import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../src/server/actor.js';
import { animationsEnded, focused, notification, screenshotBothThemes, useTheme } from './support/browser.js';
import { contrastOf, opacityOf } from './support/contrast.js';
import { consoleSuite } from './support/console-suite.js';

/** The console says what is true and asks before dropping work: roles at creation, counts, toasts, forms. */
consoleSuite('a console that says what is true', {}, (suite) => {
  const createClient = async (name: string, description?: string) =>
    (await suite.server.services.clients.create(SYSTEM_ACTOR, { name, ...(description === undefined ? {} : { description }) })).client;
  const row = (name: string) => suite.page.getByRole('row').filter({ has: suite.page.getByRole('link', { name, exact: true }) });

  it('offers the role when creating a client, says plainly that no role calls nothing, and gives a runnable curl and a .env', async () => {
    await suite.page.getByRole('button', { name: 'Add API Client' }).click();
    const dialog = suite.page.getByRole('dialog', { name: 'Add API Client' });
    const role = dialog.getByRole('combobox', { name: 'Role' });
    expect(await role.inputValue()).toBe('');
    await dialog.getByText('call nothing that needs a permission').waitFor();
    await dialog.getByLabel('Name').fill('Curl ready');
    await role.selectOption({ label: 'Viewer · 4 permissions' });
    await screenshotBothThemes(suite.page, 'client-create-dialog');
    await dialog.getByRole('button', { name: 'Create' }).click();

    const credentials = suite.page.getByRole('dialog', { name: 'API client created' });
    await credentials.waitFor();
    await notification(suite.page, 'call what the role Viewer allows').waitFor();
    const example = await credentials.getByLabel('Get a token').textContent();
    expect(example).toContain(`curl -X POST '${suite.url}/oauth/token'`);
    // The example runs as it is shown.
    const { stdout } = await promisify(execFile)('bash', ['-c', example!.replace(/^curl /, 'curl -s ')]);
    expect(JSON.parse(stdout)).toMatchObject({ token_type: 'Bearer', scope: expect.stringContaining('clients:read') });

    const [download] = await Promise.all([suite.page.waitForEvent('download'), credentials.getByRole('button', { name: 'Download .env' }).click()]);
    expect(download.suggestedFilename()).toBe('curl-ready.env');
    const env = readFileSync((await download.path())!, 'utf8');
    const secret = await credentials.getByRole('textbox', { name: 'Client Secret' }).inputValue();
    expect(env).toContain(`KOIOS_CLIENT_SECRET=${secret}`);
    expect(env).toContain(`KOIOS_TOKEN_URL=${suite.url}/oauth/token`);
    await screenshotBothThemes(suite.page, 'credentials-dialog-curl');
    await credentials.getByRole('checkbox', { name: 'I have copied the secret' }).check();
    await credentials.getByRole('button', { name: 'Done' }).click();

    await suite.page.getByRole('button', { name: 'Add API Client' }).click();
    await dialog.getByLabel('Name').fill('No role yet');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await notification(suite.page, 'has no role yet, so it can call nothing').waitFor();
    await credentials.getByRole('checkbox', { name: 'I have copied the secret' }).check();
    await credentials.getByRole('button', { name: 'Done' }).click();
  });

  it('keeps the text of disabled rows at AA contrast and their checkboxes at full strength, in both themes', async () => {
    const client = await createClient('Dimmed but legible');
    await suite.server.services.clients.update(SYSTEM_ACTOR, client.id, { enabled: false });
    await suite.page.goto('/system/connections');
    for (const theme of ['light', 'dark'] as const) {
      await useTheme(suite.page, theme);
      const disabled = row('Dimmed but legible');
      await disabled.getByText('Disabled', { exact: true }).waitFor();
      expect(await contrastOf(disabled.getByRole('link', { name: 'Dimmed but legible' }))).toBeGreaterThanOrEqual(4.5);
      expect(await contrastOf(disabled.getByText('Never'))).toBeGreaterThanOrEqual(4.5);
      expect(await contrastOf(disabled.getByText('Disabled', { exact: true }))).toBeGreaterThanOrEqual(4.5);
      expect(await opacityOf(disabled)).toBe('1');
      expect(await opacityOf(disabled.getByRole('checkbox'))).toBe('1');
    }
    await useTheme(suite.page, 'light');
  });

  it('counts only the clients a bulk action changed', async () => {
    const names = ['Bulk one', 'Bulk two', 'Bulk three'];
    const ids = [];
    for (const name of names) ids.push((await createClient(name)).id);
    await suite.server.services.clients.update(SYSTEM_ACTOR, ids[0]!, { enabled: false });
    await suite.page.goto('/system/connections?q=Bulk');
    await row('Bulk three').waitFor();
    await suite.page.getByRole('checkbox', { name: 'Select all clients on this page' }).check();
    await suite.page.getByRole('button', { name: 'Actions' }).click();
    await suite.page.getByRole('menuitem', { name: 'Enable' }).click();
    const toast = notification(suite.page, '1 API client enabled');
    await toast.waitFor();
    await toast.getByText('2 API clients were already enabled.').waitFor();
  });

  it('shows notifications where they cover no main button or field', async () => {
    const client = await createClient('Toast placement', 'Where toasts go');
    await suite.page.goto(`/system/connections/${client.id}`);
    await suite.page.getByRole('textbox', { name: 'Description' }).fill('Toasts never cover this');
    await suite.page.getByRole('button', { name: 'Save changes' }).click();
    const toast = notification(suite.page, 'Changes saved');
    await toast.waitFor();
    // Measured where it stays, not on its way in.
    await animationsEnded(suite.page);
    const box = (await toast.boundingBox())!;
    for (const covered of [
      suite.page.getByRole('button', { name: 'Save changes' }),
      suite.page.getByRole('textbox', { name: 'Description' }),
      suite.page.getByRole('switch', { name: 'Enabled' }),
      suite.page.getByRole('button', { name: 'Delete' }),
      suite.page.getByRole('heading', { level: 1 }),
    ]) {
      const other = (await covered.boundingBox())!;
      const overlaps = box.x < other.x + other.width && other.x < box.x + box.width && box.y < other.y + other.height && other.y < box.y + box.height;
      expect(overlaps).toBe(false);
    }
  });

  it('asks before dropping an unsaved name or description, with the focus on Stay', async () => {
    const client = await createClient('Guarded edits');
    await suite.page.goto(`/system/connections/${client.id}`);
    await suite.page.getByRole('textbox', { name: 'Name' }).fill('Guarded edits, renamed');
    await suite.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Connections' }).click();
    const ask = suite.page.getByRole('dialog', { name: 'Leave without saving?' });
    await focused(suite.page, ask.getByRole('button', { name: 'Stay' })).waitFor();
    await screenshotBothThemes(suite.page, 'unsaved-changes-dialog');
    await suite.page.keyboard.press('Enter');
    await ask.waitFor({ state: 'detached' });
    expect(await suite.page.getByRole('textbox', { name: 'Name' }).inputValue()).toBe('Guarded edits, renamed');
    // Another tab of the page would drop the form too.
    await suite.page.getByRole('tab', { name: 'Roles' }).click();
    await ask.waitFor();
    await ask.getByRole('button', { name: 'Leave without saving' }).click();
    await suite.page.getByRole('tabpanel', { name: 'Roles' }).waitFor();
    expect((await suite.server.services.clients.get(SYSTEM_ACTOR, client.id)).name).toBe('Guarded edits');
  });

  it('asks before dropping unsaved allowed networks, naming every unsaved form of the page', async () => {
    const client = await createClient('Guarded networks');
    await suite.page.goto(`/system/connections/${client.id}`);
    const ranges = suite.page.getByRole('region', { name: 'Allowed networks' }).getByRole('textbox', { name: 'Allowed networks' });
    await ranges.fill('10.0.0.0/8');
    await suite.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Connections' }).click();
    const ask = suite.page.getByRole('dialog', { name: 'Leave without saving?' });
    await ask.getByText('Your changes to the allowed networks are not saved.').waitFor();
    await ask.getByRole('button', { name: 'Stay' }).click();
    await ask.waitFor({ state: 'detached' });
    expect(await ranges.inputValue()).toBe('10.0.0.0/8');
    // With the Details form changed too, one question names both.
    await suite.page.getByRole('textbox', { name: 'Name' }).fill('Guarded networks, renamed');
    await suite.page.getByRole('tab', { name: 'Roles' }).click();
    await ask.getByText('Your changes to the allowed networks and changes to the name or description are not saved.').waitFor();
    await ask.getByRole('button', { name: 'Leave without saving' }).click();
    await suite.page.getByRole('tabpanel', { name: 'Roles' }).waitFor();
    expect((await suite.server.services.clients.get(SYSTEM_ACTOR, client.id)).allowedCidrs).toEqual([]);
  });

  it('asks before Back or Forward drops an unsaved form, and before the browser tab is closed', async () => {
    const client = await createClient('Guarded history');
    // A page of its own: closing it is part of the test.
    const page = await suite.context.newPage();
    const detail = new RegExp(`/system/connections/${client.id}$`);
    await page.goto('/system/connections');
    await page.getByRole('table', { name: 'API clients' }).getByRole('link', { name: 'Guarded history', exact: true }).click();
    await page.waitForURL(detail);
    const name = page.getByRole('textbox', { name: 'Name' });
    await name.fill('Guarded history, renamed');
    const ask = page.getByRole('dialog', { name: 'Leave without saving?' });

    await page.goBack();
    await ask.getByText('Your changes to the name or description are not saved.').waitFor();
    // The browser had already moved back: the address is the form's again while the question is open.
    expect(page.url()).toMatch(detail);
    await ask.getByRole('button', { name: 'Stay' }).click();
    await ask.waitFor({ state: 'detached' });
    expect(await name.inputValue()).toBe('Guarded history, renamed');

    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.type());
      void dialog.accept();
    });
    await page.goBack();
    await ask.getByRole('button', { name: 'Leave without saving' }).click();
    await page.waitForURL(/\/system\/connections$/);
    await page.getByRole('table', { name: 'API clients' }).waitFor();
    expect(page.url()).not.toMatch(detail);
    // Forward comes back to the form, whose edit was dropped; nothing is unsaved, so nothing asks.
    await page.goForward();
    await page.waitForURL(detail);
    expect(await name.inputValue()).toBe('Guarded history');

    await name.fill('Guarded history, renamed again');
    await page.close({ runBeforeUnload: true });
    await expect.poll(() => dialogs).toEqual(['beforeunload']);
    expect((await suite.server.services.clients.get(SYSTEM_ACTOR, client.id)).name).toBe('Guarded history');
  });

  it('shows the status once and the description once on the detail page, one button order everywhere, and why a disabled client may do nothing', async () => {
    const client = await createClient('Said once', 'A description shown once');
    await suite.server.services.clients.update(SYSTEM_ACTOR, client.id, { enabled: false });
    await suite.page.goto(`/system/connections/${client.id}`);
    await suite.page.getByRole('heading', { name: 'Said once', level: 1 }).waitFor();
    const main = suite.page.getByRole('main');
    // The header's switch and the Overview's Status card: no badge beside the title.
    await main.getByRole('region', { name: 'Status' }).getByText('Disabled', { exact: true }).waitFor();
    expect(await main.getByText('Disabled', { exact: true }).count()).toBe(1);
    const shown = await main
      .getByText('A description shown once', { exact: true })
      .evaluateAll((nodes) => nodes.filter((node) => node.tagName !== 'TEXTAREA').length);
    expect(shown).toBe(0);
    expect(await main.getByRole('textbox', { name: 'Description' }).inputValue()).toBe('A description shown once');

    const order = async (scope: ReturnType<Page['getByRole']>, names: string[]) =>
      Promise.all(names.map(async (name) => (await scope.getByRole('button', { name, exact: true }).boundingBox())!.x));
    const [discard, save] = await order(main.getByRole('region', { name: 'Details' }), ['Discard', 'Save changes']);
    expect(discard!).toBeLessThan(save!);
    const [discardNetworks, saveNetworks] = await order(main.getByRole('region', { name: 'Allowed networks' }), ['Discard', 'Save networks']);
    expect(discardNetworks!).toBeLessThan(saveNetworks!);
    await suite.page.getByRole('tab', { name: 'Roles' }).click();
    const roles = suite.page.getByRole('tabpanel', { name: 'Roles' });
    await roles.getByRole('radio', { name: 'Viewer' }).waitFor();
    const [discardRole, saveRole] = await order(roles, ['Discard', 'Save role']);
    expect(discardRole!).toBeLessThan(saveRole!);

    await suite.page.getByRole('tab', { name: 'Permissions' }).click();
    await suite.page.getByRole('tabpanel', { name: 'Permissions' }).getByText('This client is disabled, so it may do nothing at all').waitFor();
  });
});
