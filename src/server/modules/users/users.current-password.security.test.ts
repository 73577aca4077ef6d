import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../../../../test/support/databases.js';
import { principalWith } from '../../../../test/support/oauth.js';
import { fieldsOf, rest, signIn, stateOf, unique, userWith, type ConsoleSession } from '../../../../test/support/rest.js';
import { startTestServer, type TestServer } from '../../../../test/support/server.js';

/**
 * Whoever sits at a console left signed in, or holds a stolen session cookie, must not be able
 * to change the owner's password or email and so take the account: changing one's own password
 * or email takes the current password, through REST and GraphQL. Someone changing another user
 * is authorised by their permissions instead.
 */
describe.each(testDialects())('changing your own password or email needs the current password, on %s', (dialect) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer(dialect);
  });
  afterAll(async () => server?.close());

  /** The console's GraphQL call: the session cookie with its CSRF token and origin. */
  async function graphqlAs(session: ConsoleSession, query: string, variables: Record<string, unknown>) {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: session.cookie, 'x-csrf-token': session.csrfToken, origin: server.url },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as { data?: unknown; errors?: { message: string; extensions: { code: string; problems?: { field: string }[] } }[] };
  }

  it.each([
    ['password', () => ({ password: `new password ${unique()}` })],
    ['email', () => ({ email: `moved-${unique()}@example.com` })],
  ])(
    'refuses a change of your own %s without the current password, or with a wrong one: 400 naming currentPassword, nothing changes',
    async (_what, change) => {
      const { user, session } = await userWith(server, 'Administrator');
      for (const currentPassword of [undefined, '', 'not the password at all']) {
        const before = await stateOf(server);
        const answer = await rest(
          server,
          'PATCH',
          `/api/v1/users/${user.id}`,
          { session },
          { ...change(), ...(currentPassword === undefined ? {} : { currentPassword }) },
        );
        expect(answer.status, answer.text).toBe(400);
        expect(fieldsOf(answer)).toEqual(['currentPassword']);
        expect(await stateOf(server)).toEqual(before);
      }
    },
  );

  it('changes your own password and email with the current password', async () => {
    const { user, session, password } = await userWith(server, 'Administrator');
    const email = `renamed-${unique()}@example.com`;
    const moved = await rest(server, 'PATCH', `/api/v1/users/${user.id}`, { session }, { email, currentPassword: password });
    expect(moved.status, moved.text).toBe(200);
    const newPassword = `new password ${unique()}`;
    const changed = await rest(server, 'PATCH', `/api/v1/users/${user.id}`, { session }, { password: newPassword, currentPassword: password });
    expect(changed.status, changed.text).toBe(200);
    await signIn(server, email, newPassword);
  });

  it('needs no current password for your own name, nor to give your own unchanged email again', async () => {
    const { user, session, email } = await userWith(server, 'Administrator');
    const answer = await rest(server, 'PATCH', `/api/v1/users/${user.id}`, { session }, { name: `Me ${unique()}`, email: email.toUpperCase() });
    expect(answer.status, answer.text).toBe(200);
  });

  it('lets an administrator change another user’s password and email without theirs', async () => {
    const admin = await userWith(server, 'Administrator');
    const other = await userWith(server, 'Viewer');
    const answer = await rest(
      server,
      'PATCH',
      `/api/v1/users/${other.user.id}`,
      { session: admin.session },
      { email: `reset-${unique()}@example.com`, password: `reset password ${unique()}` },
    );
    expect(answer.status, answer.text).toBe(200);
    const client = await principalWith(server, `user admin ${unique()}`, 'Administrator');
    expect((await rest(server, 'PATCH', `/api/v1/users/${other.user.id}`, { token: client.token }, { password: `again ${unique()}` })).status).toBe(200);
  });

  it('asks the same through GraphQL', async () => {
    const { user, session, password } = await userWith(server, 'Administrator');
    const mutation = 'mutation ($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { id } }';
    const missing = await graphqlAs(session, mutation, { id: user.id, input: { password: `new password ${unique()}` } });
    expect(missing.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', problems: [{ field: 'input.currentPassword' }] });
    const given = await graphqlAs(session, mutation, { id: user.id, input: { password: `new password ${unique()}`, currentPassword: password } });
    expect(given.errors).toBeUndefined();
  });
});
