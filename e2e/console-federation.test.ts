import { expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../src/server/actor.js';
import { focused, notification } from './support/browser.js';
import { consoleSuite } from './support/console-suite.js';

/** A client's "Federated credentials": added with a preset, listed, removed after a confirmation that starts on Cancel. */
consoleSuite('federated credentials in the console', { independentTests: true }, (suite) => {
  it('adds a GitHub Actions credential from its preset, lists it, and removes it after confirming', async () => {
    const { page } = suite;
    const { client } = await suite.server.services.clients.create(SYSTEM_ACTOR, { name: 'Deployed from CI' });
    await page.goto(`/system/connections/${client.id}`);
    const section = page.getByRole('region', { name: 'Federated credentials' });
    await section.getByText('None yet: only the client secret works.').waitFor();

    await section.getByRole('button', { name: 'Add federated credential' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add federated credential' });
    expect(await dialog.getByRole('textbox', { name: 'Issuer' }).inputValue()).toBe('https://token.actions.githubusercontent.com');
    // Each preset fills the issuer (a cluster's own is not known) and the shape of the subject.
    const filled = async (preset: string) => {
      await dialog.getByRole('combobox', { name: 'Workload' }).selectOption(preset);
      return [await dialog.getByRole('textbox', { name: 'Issuer' }).inputValue(), await dialog.getByRole('textbox', { name: 'Subject' }).inputValue()];
    };
    expect(await filled('gitlab')).toEqual(['https://gitlab.com', 'project_path:GROUP/PROJECT:ref_type:branch:ref:BRANCH']);
    expect(await filled('kubernetes')).toEqual(['', 'system:serviceaccount:NAMESPACE:NAME']);
    expect(await filled('oidc')).toEqual(['', '']);
    expect(await filled('github')).toEqual(['https://token.actions.githubusercontent.com', 'repo:ORG/REPO:ref:refs/heads/BRANCH']);
    await dialog.getByRole('combobox', { name: 'Workload' }).selectOption('github');
    await dialog.getByRole('textbox', { name: 'Name' }).fill('deploy from main');
    await dialog.getByRole('textbox', { name: 'Audience' }).fill('https://koios.example.com');
    await dialog.getByRole('textbox', { name: 'Subject' }).fill('*');
    await dialog.getByRole('button', { name: 'Add credential' }).click();
    await dialog.getByText('must name at least the start of a subject', { exact: false }).waitFor();
    await dialog.getByRole('textbox', { name: 'Subject' }).fill('repo:acme/api:ref:refs/heads/main');
    await dialog.getByRole('textbox', { name: 'Conditions' }).fill('repository_owner=acme');
    await dialog.getByRole('button', { name: 'Add credential' }).click();
    await notification(page, 'Federated credential added').waitFor();
    await section.getByRole('cell', { name: 'repo:acme/api:ref:refs/heads/main' }).waitFor();
    const [stored] = await suite.server.services.federation.list(SYSTEM_ACTOR, client.id);
    expect(stored).toMatchObject({ name: 'deploy from main', conditions: { repository_owner: 'acme' } });

    await section.getByRole('button', { name: 'Remove deploy from main' }).click();
    const confirm = page.getByRole('dialog', { name: 'Remove the federated credential?' });
    await focused(page, confirm.getByRole('button', { name: 'Cancel' })).waitFor();
    await confirm.getByRole('button', { name: 'Remove', exact: true }).click();
    await section.getByText('None yet: only the client secret works.').waitFor();
    expect(await suite.server.services.federation.list(SYSTEM_ACTOR, client.id)).toEqual([]);
  });
});
