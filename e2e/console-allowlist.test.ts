import { expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../src/server/actor.js';
import { notification } from './support/browser.js';
import { requestToken } from './support/console-server.js';
import { consoleSuite } from './support/console-suite.js';

/** A client's "Allowed networks": edited on its page, applied to its next request. */
consoleSuite('allowed networks in the console', {}, (suite) => {
  it('shows Anywhere, names a bad range on its line, saves ranges canonically and clears them again', async () => {
    const { page } = suite;
    const { client, clientSecret } = await suite.server.services.clients.create(SYSTEM_ACTOR, { name: 'Branch office sync' });
    await page.goto(`/system/connections/${client.id}`);
    const section = page.getByRole('region', { name: 'Allowed networks' });
    await section.getByText('Anywhere', { exact: true }).waitFor();
    const ranges = section.getByRole('textbox', { name: 'Allowed networks' });

    await ranges.fill('10.0.0.0/8\n10.0.0.1/8');
    await section.getByRole('button', { name: 'Save networks' }).click();
    await section.getByText('10.0.0.1/8 has host bits set: did you mean 10.0.0.0/8?').waitFor();
    expect((await suite.server.services.clients.get(SYSTEM_ACTOR, client.id)).allowedCidrs).toEqual([]);

    await ranges.fill('10.0.0.0/8\n\n2001:DB8:0::/32\n');
    await section.getByRole('button', { name: 'Save networks' }).click();
    await notification(page, 'Allowed networks saved').waitFor();
    await section.getByText('2 ranges', { exact: true }).waitFor();
    expect(await ranges.inputValue()).toBe('10.0.0.0/8\n2001:db8::/32');
    expect((await suite.server.services.clients.get(SYSTEM_ACTOR, client.id)).allowedCidrs).toEqual(['10.0.0.0/8', '2001:db8::/32']);
    // This test calls from loopback, outside both ranges.
    expect((await requestToken(suite.url, client.id, clientSecret)).status).toBe(401);

    await ranges.fill('');
    await section.getByRole('button', { name: 'Save networks' }).click();
    await section.getByText('Anywhere', { exact: true }).waitFor();
    expect((await requestToken(suite.url, client.id, clientSecret)).status).toBe(200);
  });
});
