import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../../../../test/support/databases.js';
import { codesOf, graphqlClient } from '../../../../test/support/graphql.js';
import { actorWith } from '../../../../test/support/oauth.js';
import { rest, signIn, unique, userWith, type Caller, type ConsoleSession } from '../../../../test/support/rest.js';
import { startTestServer, type TestServer } from '../../../../test/support/server.js';

type Outcome = 'ok' | string;

/** The two doors onto the users service, each reduced to what happened: 'ok' or the error's code. */
interface Door {
  update(id: string, input: Record<string, unknown>): Promise<Outcome>;
  delete(id: string): Promise<Outcome>;
}

const REST_CODES: Record<number, string> = { 400: 'BAD_USER_INPUT', 403: 'FORBIDDEN', 404: 'NOT_FOUND', 409: 'CONFLICT' };

/**
 * ASVS 3.3: a password change, disabling a user and deleting one end every session
 * of that user, whichever door the change came through; the rule lives in the users service, in
 * the change's own transaction, so a refused change ends none.
 */
describe.each(testDialects())('ending a user’s sessions, through REST and GraphQL alike, on %s', (dialect) => {
  let server: TestServer;
  let doors: Record<'REST' | 'GraphQL', Door>;

  /** 200 while the session works, 401 once it has ended. */
  const sessionStatus = async (session: ConsoleSession) => (await rest(server, 'GET', '/api/v1/me', { session })).status;
  const sessionRows = async (userId: string) =>
    (await server.services.db.selectFrom('sessions').select('user_id').where('user_id', '=', userId).execute()).length;

  beforeAll(async () => {
    server = await startTestServer(dialect);
    const { token } = await actorWith(server, 'sessions administrator', 'Administrator');
    const admin: Caller = { token };
    const ask = graphqlClient(server, token);
    doors = {
      REST: {
        async update(id, input) {
          const answer = await rest(server, 'PATCH', `/api/v1/users/${id}`, admin, input);
          return answer.status === 200 ? 'ok' : (REST_CODES[answer.status] ?? String(answer.status));
        },
        async delete(id) {
          const answer = await rest(server, 'DELETE', `/api/v1/users/${id}`, admin);
          return answer.status === 204 ? 'ok' : (REST_CODES[answer.status] ?? String(answer.status));
        },
      },
      GraphQL: {
        async update(id, input) {
          const answer = await ask(`mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { id } }`, { id, input });
          return answer.errors.length === 0 ? 'ok' : String(codesOf(answer)[0]);
        },
        async delete(id) {
          const answer = await ask(`mutation($id: ID!) { deleteUser(id: $id) }`, { id });
          return answer.errors.length === 0 ? 'ok' : String(codesOf(answer)[0]);
        },
      },
    };
  });
  afterAll(async () => server?.close());

  describe.each(['REST', 'GraphQL'] as const)('through %s', (door) => {
    it('a password change ends every session of the user: the old cookies are dead, the new password signs in, the old one does not', async () => {
      const { user, session, email, password } = await userWith(server, 'Viewer');
      const second = await signIn(server, email, password);
      expect(await sessionStatus(session)).toBe(200);
      const newPassword = `new password ${unique()}`;
      expect(await doors[door].update(user.id, { password: newPassword })).toBe('ok');
      expect(await sessionStatus(session)).toBe(401);
      expect(await sessionStatus(second)).toBe(401);
      expect(await sessionRows(user.id)).toBe(0);
      await expect(signIn(server, email, password)).rejects.toThrow(/401/);
      expect(await sessionStatus(await signIn(server, email, newPassword))).toBe(200);
    });

    it('disabling a user ends their sessions, and re-enabling them does not bring the old cookie back', async () => {
      const { user, session } = await userWith(server, 'Viewer');
      expect(await doors[door].update(user.id, { enabled: false })).toBe('ok');
      expect(await sessionRows(user.id)).toBe(0);
      expect(await doors[door].update(user.id, { enabled: true })).toBe('ok');
      expect(await sessionStatus(session)).toBe(401);
    });

    it('deleting a user ends their sessions', async () => {
      const { user, session } = await userWith(server, 'Viewer');
      expect(await doors[door].delete(user.id)).toBe('ok');
      expect(await sessionRows(user.id)).toBe(0);
      expect(await sessionStatus(session)).toBe(401);
    });

    it('a change of name or roles leaves the sessions alone', async () => {
      const { user, session } = await userWith(server, 'Viewer');
      expect(await doors[door].update(user.id, { name: `Renamed ${unique()}`, roleIds: [] })).toBe('ok');
      expect(await sessionStatus(session)).toBe(200);
    });

    it('a refused change ends no session: disabling the last enabled Administrator with a new password is 409, and the old password and cookie still work', async () => {
      // The only Administrator *user* of this server (the callers are API clients).
      const { user, session, email, password } = await userWith(server, 'Administrator');
      expect(await doors[door].update(user.id, { enabled: false, password: `new password ${unique()}` })).toBe('CONFLICT');
      expect(await sessionStatus(session)).toBe(200);
      expect(await sessionStatus(await signIn(server, email, password))).toBe(200);
      // The other door's turn needs its own last Administrator; the guard forbids removing this one
      // through the API, so the test removes its row itself.
      await server.services.db.deleteFrom('users').where('id', '=', user.id).execute();
    });
  });
});
