import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../actor.js';
import { BadInput } from '../errors.js';
import { SEARCH_MAX_LENGTH } from '../../shared/limits.js';
import { testDialects } from '../../../test/support/databases.js';
import { graphqlClient } from '../../../test/support/graphql.js';
import { actorWith } from '../../../test/support/oauth.js';
import { fieldsOf, rest } from '../../../test/support/rest.js';
import { startTestServer, type TestServer } from '../../../test/support/server.js';

/**
 * A search of SEARCH_MAX_LENGTH characters beyond the BMP: the query schema counts characters and
 * lets it through, the service counts UTF-16 units and refuses it, so the door must rename the
 * service's field.
 */
const WIDE_SEARCH = '\u{1F600}'.repeat(SEARCH_MAX_LENGTH);

/** Services name a bad field after their input's property; each door names it as its caller sent it. */
describe.each(testDialects())('field names at each door on %s', (dialect) => {
  let server: TestServer;
  let token: string;

  beforeAll(async () => {
    server = await startTestServer(dialect);
    token = (await actorWith(server, 'field names admin', 'Administrator')).token;
  });
  afterAll(async () => server?.close());

  it('the services name the search `search`, after their input', async () => {
    for (const list of [
      () => server.services.clients.list(SYSTEM_ACTOR, { search: WIDE_SEARCH }),
      () => server.services.users.list(SYSTEM_ACTOR, { search: WIDE_SEARCH }),
    ]) {
      const error = await list().catch((failure: unknown) => failure);
      expect(error).toBeInstanceOf(BadInput);
      expect((error as BadInput).problems.map((problem) => problem.field)).toEqual(['search']);
    }
  });

  it.each(['/api/v1/clients', '/api/v1/users'])('REST %s names it q, its query parameter', async (path) => {
    const answer = await rest(server, 'GET', `${path}?q=${encodeURIComponent(WIDE_SEARCH)}`, { token });
    expect(answer.status, answer.text).toBe(400);
    expect(fieldsOf(answer)).toEqual(['q']);
  });

  it('GraphQL names the argument: filter.search, filter.roleId', async () => {
    const ask = graphqlClient(server, token);
    const clients = await ask('query ($search: String) { apiClients(filter: { search: $search, roleId: "nope" }) { totalCount } }', { search: WIDE_SEARCH });
    expect(clients.errors[0]!.extensions).toEqual({
      code: 'BAD_USER_INPUT',
      problems: [
        { field: 'filter.search', message: expect.any(String) },
        { field: 'filter.roleId', message: 'must be a UUID' },
      ],
    });
    const users = await ask('query ($search: String) { users(filter: { search: $search }) { totalCount } }', { search: WIDE_SEARCH });
    expect(users.errors[0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', problems: [{ field: 'filter.search', message: expect.any(String) }] });
  });
});
