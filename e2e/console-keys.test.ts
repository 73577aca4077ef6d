import { generateKeyPairSync } from 'node:crypto';
import { expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../src/server/actor.js';
import { focused, notification, toggle } from './support/browser.js';
import { requestToken } from './support/console-server.js';
import { consoleSuite } from './support/console-suite.js';

/**
 * A private_key_jwt client in the console: created with a pasted PEM, keys added and removed, a private key refused before it is sent;
 * and the switch that binds a client's tokens to a key (DPoP).
 */
consoleSuite('client keys in the console', { signIn: '/system/connections', independentTests: true }, (suite) => {
  it('creates a key client from a PEM, adds a JWK, refuses a private key, and removes a key after confirming', async () => {
    const { page } = suite;
    const first = generateKeyPairSync('ed25519');
    const second = generateKeyPairSync('ed25519');

    await page.getByRole('button', { name: 'Add API Client' }).click();
    const create = page.getByRole('dialog', { name: 'Add API Client' });
    await create.getByLabel('Name').fill('Nightly export');
    await create.getByRole('combobox', { name: 'Authentication' }).selectOption('private_key_jwt');
    await create.getByRole('textbox', { name: 'Public key' }).fill(first.publicKey.export({ type: 'spki', format: 'pem' }).toString());
    await create.getByRole('button', { name: 'Create' }).click();

    const created = page.getByRole('dialog', { name: 'API client created' });
    const clientId = await created.getByRole('textbox', { name: 'Client ID' }).inputValue();
    expect(await created.getByRole('textbox', { name: 'Client Secret' }).count()).toBe(0);
    await created.getByText('has no secret', { exact: false }).waitFor();
    await created.getByRole('button', { name: 'Done' }).click();
    const stored = await suite.server.services.clients.get(SYSTEM_ACTOR, clientId);
    expect(stored).toMatchObject({ authMethod: 'private_key_jwt', publicKeys: [{ alg: 'EdDSA' }] });
    const firstKid = stored.publicKeys[0]!.kid;

    await page.goto(`/system/connections/${clientId}`);
    const keys = page.getByRole('region', { name: 'Keys' });
    await keys.getByRole('cell', { name: firstKid, exact: true }).waitFor();
    await keys.getByRole('cell', { name: 'Never', exact: true }).waitFor();
    expect(await page.getByRole('button', { name: /Regenerate client secret/ }).count()).toBe(0);
    await page.getByText('Private key JWT', { exact: true }).waitFor();

    await keys.getByRole('button', { name: 'Add key' }).click();
    const add = page.getByRole('dialog', { name: 'Add key' });
    const privatePem = second.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await add.getByRole('textbox', { name: 'Public key' }).fill(privatePem);
    await add.getByRole('button', { name: 'Add key' }).click();
    await add.getByText('The key is a private key: give only the public key', { exact: false }).waitFor();
    const privateJwk = second.privateKey.export({ format: 'jwk' });
    await add.getByRole('textbox', { name: 'Public key' }).fill(JSON.stringify(privateJwk));
    await add.getByRole('button', { name: 'Add key' }).click();
    await add.getByText('The key is a private key: give only the public key', { exact: false }).waitFor();
    expect((await suite.server.services.clients.get(SYSTEM_ACTOR, clientId)).publicKeys).toHaveLength(1);

    // A key the server refuses (P-384 is not among the algorithms): its 400 shows under the field,
    // in place of the private key's message, which stays until then.
    const unsupported = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'jwk' });
    await add.getByRole('textbox', { name: 'Public key' }).fill(JSON.stringify(unsupported));
    await add.getByRole('button', { name: 'Add key' }).click();
    await add.locator('.mantine-Textarea-error').filter({ hasNotText: 'The key is a private key' }).waitFor();
    expect((await suite.server.services.clients.get(SYSTEM_ACTOR, clientId)).publicKeys).toHaveLength(1);

    await add.getByRole('textbox', { name: 'Public key' }).fill(JSON.stringify({ ...second.publicKey.export({ format: 'jwk' }), kid: 'second' }));
    await add.getByRole('button', { name: 'Add key' }).click();
    await notification(page, 'Key added').waitFor();
    await keys.getByRole('cell', { name: 'second', exact: true }).waitFor();
    expect((await suite.server.services.clients.get(SYSTEM_ACTOR, clientId)).publicKeys.map((key) => key.kid).sort()).toEqual([firstKid, 'second'].sort());

    await keys.getByRole('button', { name: `Remove ${firstKid}` }).click();
    const confirm = page.getByRole('dialog', { name: 'Remove the key?' });
    await focused(page, confirm.getByRole('button', { name: 'Cancel' })).waitFor();
    await page.keyboard.press('Enter');
    await confirm.waitFor({ state: 'detached' });
    expect((await suite.server.services.clients.get(SYSTEM_ACTOR, clientId)).publicKeys).toHaveLength(2);

    await keys.getByRole('button', { name: `Remove ${firstKid}` }).click();
    await confirm.getByRole('button', { name: 'Remove', exact: true }).click();
    await notification(page, 'Key removed').waitFor();
    await keys.getByRole('cell', { name: firstKid, exact: true }).waitFor({ state: 'detached' });
    expect((await suite.server.services.clients.get(SYSTEM_ACTOR, clientId)).publicKeys.map((key) => key.kid)).toEqual(['second']);
  });

  it('requires DPoP from the Require DPoP switch: the next token request without a proof is refused', async () => {
    const { page } = suite;
    const { client, clientSecret } = await suite.server.services.clients.create(SYSTEM_ACTOR, { name: 'Edge gateway', roleId: suite.roles.viewer.id });
    expect((await requestToken(suite.url, client.id, clientSecret)).status).toBe(200);

    await page.goto(`/system/connections/${client.id}`);
    const credentials = page.getByRole('region', { name: 'Client Credentials' });
    const requireDpop = credentials.getByRole('switch', { name: 'Require DPoP' });
    expect(await requireDpop.isChecked()).toBe(false);
    await credentials.getByText('a token request without a DPoP proof is refused', { exact: false }).waitFor();
    await toggle(requireDpop);
    await notification(page, 'DPoP required').waitFor();
    // The switch shows the saved state once the client is read again, which may come after the notification.
    await credentials.getByRole('switch', { name: 'Require DPoP', checked: true }).waitFor();

    expect((await suite.server.services.clients.get(SYSTEM_ACTOR, client.id)).requireDpop).toBe(true);
    const refused = await requestToken(suite.url, client.id, clientSecret);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: 'invalid_request' });
  });
});
