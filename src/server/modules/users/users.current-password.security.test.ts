import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../../../../test/support/databases.js';
import { actorWith } from '../../../../test/support/oauth.js';
import { fieldsOf, rest, signIn, stateOf, unique, userWith, type ConsoleSession } from '../../../../test/support/rest.js';
import { startTestServer, type TestServer } from '../../../../test/support/server.js';
import { SYSTEM_ACTOR } from '../../actor.js';

/** The sign-in throttle's default failures per account and window. */
const SIGN_IN_PER_ACCOUNT = 10;

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
        // A wrong password is audited as a failed attempt; nothing else changes.
        const after = await stateOf(server);
        expect({ ...after, auditEvents: 0 }).toEqual({ ...before, auditEvents: 0 });
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
    const client = await actorWith(server, `user admin ${unique()}`, 'Administrator');
    expect((await rest(server, 'PATCH', `/api/v1/users/${other.user.id}`, { token: client.token }, { password: `again ${unique()}` })).status).toBe(200);
  });

  it('throttles guesses of the current password with the account’s sign-ins, answering 429 through REST and GraphQL, and audits them', async () => {
    const { user, session, password } = await userWith(server, 'Administrator');
    const change = () => ({ password: `new password ${unique()}` });
    const before = await stateOf(server);
    for (let n = 0; n < SIGN_IN_PER_ACCOUNT; n += 1) {
      const answer = await rest(server, 'PATCH', `/api/v1/users/${user.id}`, { session }, { ...change(), currentPassword: `guess ${n}` });
      expect(answer.status, answer.text).toBe(400);
    }
    // Spent: even the right password is not checked now, and the account cannot be taken.
    const refused = await rest(server, 'PATCH', `/api/v1/users/${user.id}`, { session }, { ...change(), currentPassword: password });
    expect(refused.status, refused.text).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((refused.body as { code?: string }).code).toBe('too_many_requests');
    const mutation = 'mutation ($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { id } }';
    const viaGraphql = await graphqlAs(session, mutation, { id: user.id, input: { ...change(), currentPassword: password } });
    expect(viaGraphql.errors?.[0]?.extensions.code).toBe('TOO_MANY_REQUESTS');
    expect((await stateOf(server)).users).toEqual(before.users);
    // The same throttle as sign-in: the account's sign-in from this address is refused too.
    const signInAnswer = await rest(server, 'POST', '/api/v1/session', null, { email: user.email, password });
    expect(signInAnswer.status).toBe(429);
    const { items } = await server.services.audit.list(SYSTEM_ACTOR, { action: 'user.sign_in_failed', limit: 200 });
    const entry = items.find((item) => item.target?.id === user.id);
    expect(entry?.details).toMatchObject({ count: SIGN_IN_PER_ACCOUNT, reason: 'bad_current_password' });
    expect(JSON.stringify(entry)).not.toContain('guess ');
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
