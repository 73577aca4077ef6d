import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../actor.js';
import { testDialects } from '../../../../test/support/databases.js';
import { graphqlClient } from '../../../../test/support/graphql.js';
import { actorWith } from '../../../../test/support/oauth.js';
import { fieldsOf, rest, stateOf, unique } from '../../../../test/support/rest.js';
import { startTestServer, type TestServer } from '../../../../test/support/server.js';

/**
 * A name is what an operator reads to decide which client to disable or trust. Invisible
 * characters (`AdminC\u200b`) make two names that read the same, and bidi overrides
 * (`\u202egnp.exe`, shown as `exe.png`) make a name read as another: names refuse them, and are
 * stored NFC-normalised so one accented letter is one name whichever way it was typed.
 */
const REFUSED: readonly [string, string][] = [
  ['a zero-width space', 'AdminC\u200b'],
  ['a zero-width joiner', 'Admin\u200dClient'],
  ['a right-to-left override', '\u202egnp.exe'],
  ['a left-to-right embedding', 'a\u202ab'],
  ['a first-strong isolate', 'x\u2068y\u2069'],
  ['a right-to-left mark', 'billing\u200f'],
  ['a zero-width no-break space', 'bill\ufeffing'],
  ['a soft hyphen', 'bill\u00ading'],
  ['a C1 control', 'billing\u0085'],
  ['a line separator', 'bill\u2028ing'],
];

describe.each(testDialects())('names without invisible or reordering characters, on %s', (dialect) => {
  let server: TestServer;
  let admin: { id: string; token: string };

  beforeAll(async () => {
    server = await startTestServer(dialect);
    admin = await actorWith(server, `names admin ${unique()}`, 'Administrator');
  });
  afterAll(async () => server?.close());

  it.each(REFUSED)('refuses a client name with %s: 400 naming name, nothing created or renamed', async (_what, name) => {
    const existing = (await server.services.clients.create(SYSTEM_ACTOR, { name: `plain ${unique()}` })).client.id;
    const before = await stateOf(server);
    const created = await rest(server, 'POST', '/api/v1/clients', { token: admin.token }, { name });
    expect(created.status, created.text).toBe(400);
    expect(fieldsOf(created)).toEqual(['name']);
    const renamed = await rest(server, 'PATCH', `/api/v1/clients/${existing}`, { token: admin.token }, { name });
    expect(renamed.status, renamed.text).toBe(400);
    expect(fieldsOf(renamed)).toEqual(['name']);
    expect(await stateOf(server)).toEqual(before);
  });

  it('refuses the same characters in role and user names, and through GraphQL', async () => {
    const role = await rest(server, 'POST', '/api/v1/roles', { token: admin.token }, { name: 'Admins\u200b', permissions: [] });
    expect(fieldsOf(role)).toEqual(['name']);
    const user = await rest(
      server,
      'POST',
      '/api/v1/users',
      { token: admin.token },
      { email: `n-${unique()}@example.com`, name: '\u202eAda', password: 'a long enough password' },
    );
    expect(fieldsOf(user)).toEqual(['name']);
    const viaGraphql = await graphqlClient(server, admin.token)('mutation { createApiClient(input: { name: "AdminC\\u200b" }) { clientSecret } }');
    expect(viaGraphql.errors[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', problems: [{ field: 'input.name' }] });
  });

  it('stores names NFC-normalised: a decomposed é is the same name as a composed one', async () => {
    const decomposed = `Caf\u0065\u0301 ${unique()}`;
    const created = await rest<{ client: { id: string; name: string } }>(server, 'POST', '/api/v1/clients', { token: admin.token }, { name: decomposed });
    expect(created.status, created.text).toBe(201);
    expect(created.body.client.name).toBe(decomposed.normalize('NFC'));
    const found = await rest<{ items: { id: string }[] }>(server, 'GET', `/api/v1/clients?q=${encodeURIComponent(decomposed)}`, { token: admin.token });
    expect(found.body.items.map((item) => item.id)).toEqual([created.body.client.id]);
    const role = await rest<{ name: string }>(server, 'POST', '/api/v1/roles', { token: admin.token }, { name: decomposed, permissions: [] });
    expect(role.body.name).toBe(decomposed.normalize('NFC'));
    const duplicate = await rest(server, 'POST', '/api/v1/roles', { token: admin.token }, { name: decomposed.normalize('NFC'), permissions: [] });
    expect(duplicate.status).toBe(409);
  });

  it('still takes names in any script, with accents and emoji', async () => {
    for (const name of ['Zürich export', 'Экспорт счетов', '請求書エクスポート', 'Nightly 🌙 job']) {
      const created = await rest(server, 'POST', '/api/v1/clients', { token: admin.token }, { name });
      expect(created.status, created.text).toBe(201);
    }
  });
});
