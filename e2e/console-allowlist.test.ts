import { expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../src/server/actor.js';
import { notification } from './support/browser.js';
import { requestToken } from './support/console-server.js';
import { consoleSuite } from './support/console-suite.js';

/** A client's "Allowed networks" and "Rate limits": edited on its page, applied to its next request. */
consoleSuite('allowed networks and rate limits in the console', { independentTests: true }, (suite) => {
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

  it('shows No limits, checks a limit before sending it, asks before dropping an unsaved one, and saves limits the token endpoint then applies', async () => {
    const { page } = suite;
    const { client, clientSecret } = await suite.server.services.clients.create(SYSTEM_ACTOR, { name: 'Metered partner' });
    await page.goto(`/system/connections/${client.id}`);
    const section = page.getByRole('region', { name: 'Rate limits' });
    await section.getByText('No limits', { exact: true }).waitFor();
    const requests = section.getByRole('textbox', { name: 'Requests per minute', exact: true });
    const tokens = section.getByRole('textbox', { name: 'Token requests per minute', exact: true });

    await tokens.fill('0');
    await section.getByRole('button', { name: 'Save limits' }).click();
    await section.getByText('Token requests per minute must be a whole number from 1 to 10,000; leave it empty for no limit').waitFor();

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Connections' }).click();
    const ask = page.getByRole('dialog', { name: 'Leave without saving?' });
    await ask.getByText('Your changes to the rate limits are not saved.', { exact: false }).waitFor();
    await ask.getByRole('button', { name: 'Stay' }).click();
    await ask.waitFor({ state: 'detached' });

    await requests.fill('600');
    await tokens.fill('1');
    await section.getByRole('button', { name: 'Save limits' }).click();
    await notification(page, 'Rate limits saved').waitFor();
    await section.getByText('600 requests and 1 token requests a minute', { exact: true }).waitFor();
    expect((await suite.server.services.clients.get(SYSTEM_ACTOR, client.id)).rateLimit).toEqual({ requestsPerMinute: 600, tokensPerMinute: 1 });
    // One token a minute: the first is granted; of the next two, one at least is refused even if a minute turns meanwhile.
    const statuses = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await requestToken(suite.url, client.id, clientSecret)).status);
    expect(statuses[0]).toBe(200);
    expect(statuses).toContain(429);

    await requests.fill('');
    await tokens.fill('');
    await section.getByRole('button', { name: 'Save limits' }).click();
    await section.getByText('No limits', { exact: true }).waitFor();
    expect((await suite.server.services.clients.get(SYSTEM_ACTOR, client.id)).rateLimit).toEqual({ requestsPerMinute: null, tokensPerMinute: null });
  });
});
