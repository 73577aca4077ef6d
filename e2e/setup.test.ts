import { expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../src/server/actor.js';
import { screenshot } from './support/browser.js';
import type { ConsoleServer } from './support/console-server.js';
import { consoleSuite } from './support/console-suite.js';

/** The token of the one-time setup link, as start-up prints it. */
async function issueSetupToken({ server }: ConsoleServer): Promise<{ token: string }> {
  return { token: (await server.services.users.issueSetupToken())! };
}

/** With no user yet, the one-time setup link creates the first Administrator. */
consoleSuite('the one-time setup page', { firstRun: true, seed: issueSetupToken }, (suite) => {
  it('tells the first visitor of Sign in to open the setup link', async () => {
    await suite.page.goto('/login');
    await suite.page.getByRole('alert').filter({ hasText: 'No user exists yet' }).waitFor();
  });

  it('refuses a wrong token and says so', async () => {
    await suite.page.goto('/setup');
    await suite.page.getByText('The setup token is missing').waitFor();
    expect(await suite.page.getByRole('button', { name: 'Create Administrator' }).isDisabled()).toBe(true);

    await suite.page.goto('/setup?token=not-the-token');
    await suite.page.getByLabel('Email').fill('root@koios.test');
    await suite.page.getByRole('textbox', { name: 'Password', exact: true }).fill('a long enough password');
    await suite.page.getByRole('textbox', { name: 'Confirm password' }).fill('a different password');
    await suite.page.getByRole('button', { name: 'Create Administrator' }).click();
    await suite.page.getByText('The passwords do not match').waitFor();
    await suite.page.getByRole('textbox', { name: 'Confirm password' }).fill('a long enough password');
    await suite.page.getByRole('button', { name: 'Create Administrator' }).click();
    await suite.page.getByRole('alert').filter({ hasText: 'Forbidden' }).waitFor();
    expect(await suite.server.services.users.count()).toBe(0);
  });

  it('creates the first Administrator with the token, signs them in, and stops working after', async () => {
    await suite.page.goto(`/setup?token=${encodeURIComponent(suite.seeded.token)}`);
    await suite.page.getByLabel('Email').fill('root@koios.test');
    await suite.page.getByLabel('Name').fill('Root Admin');
    await suite.page.getByRole('textbox', { name: 'Password', exact: true }).fill('a long enough password');
    await suite.page.getByRole('textbox', { name: 'Confirm password' }).fill('a long enough password');
    await screenshot(suite.page, 'setup');
    await suite.page.getByRole('button', { name: 'Create Administrator' }).click();
    await suite.page.waitForURL(/\/system\/connections$/);
    await suite.page.getByRole('button', { name: 'Account: Root Admin' }).waitFor();
    const users = await suite.server.services.users.list(SYSTEM_ACTOR);
    expect(users.items.map((user) => [user.email, user.roles.map((role) => role.name)])).toEqual([['root@koios.test', ['Administrator']]]);

    await suite.page.goto(`/setup?token=${encodeURIComponent(suite.seeded.token)}`);
    await suite.page.getByText('Setup is complete').waitFor();
  });
});
