import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../actor.js';
import { testDialects } from '../../../test/support/databases.js';
import { graphqlClient } from '../../../test/support/graphql.js';
import { accessToken, actorWith } from '../../../test/support/oauth.js';
import { rest, unique } from '../../../test/support/rest.js';
import { startTestServer, type TestServer } from '../../../test/support/server.js';

/**
 * A UUID is the same id whatever the case of its hex digits (RFC 9562 §4): an id in upper case
 * finds, matches and compares equal to the stored lower-case one, in paths, bodies, bulk lists,
 * GraphQL arguments and the token endpoint's client_id, and never makes a change that is none.
 */
describe.each(testDialects())('UUIDs in any case, on %s', (dialect) => {
  let server: TestServer;
  let admin: { id: string; token: string };
  let viewerRoleId: string;

  beforeAll(async () => {
    server = await startTestServer(dialect);
    admin = await actorWith(server, `uuid admin ${unique()}`, 'Administrator');
    viewerRoleId = (await server.services.roles.list(SYSTEM_ACTOR)).find((role) => role.name === 'Viewer')!.id;
  });
  afterAll(async () => server?.close());

  const upper = (id: string) => id.toUpperCase();

  it('accepts an upper-case roleId when creating and changing a client, and stores the id in lower case', async () => {
    const created = await rest<{ client: { id: string; role: { id: string } } }>(
      server,
      'POST',
      '/api/v1/clients',
      { token: admin.token },
      { name: `upper role ${unique()}`, roleId: upper(viewerRoleId) },
    );
    expect(created.status, created.text).toBe(201);
    expect(created.body.client.role.id).toBe(viewerRoleId);
    const id = created.body.client.id;
    await rest(server, 'PATCH', `/api/v1/clients/${id}`, { token: admin.token }, { roleId: null });
    const changed = await rest<{ role: { id: string } }>(
      server,
      'PATCH',
      `/api/v1/clients/${upper(id)}`,
      { token: admin.token },
      { roleId: upper(viewerRoleId) },
    );
    expect(changed.status, changed.text).toBe(200);
    expect(changed.body.role.id).toBe(viewerRoleId);
  });

  it('records no role change when the same role is given again in another case', async () => {
    const { client } = await server.services.clients.create(SYSTEM_ACTOR, { name: `same role ${unique()}`, roleId: viewerRoleId });
    const answer = await rest(server, 'PATCH', `/api/v1/clients/${client.id}`, { token: admin.token }, { roleId: upper(viewerRoleId) });
    expect(answer.status, answer.text).toBe(200);
    const audit = await server.services.audit.list(SYSTEM_ACTOR, { targetId: client.id });
    expect(audit.items.map((event) => event.action)).toEqual(['client.created']);
  });

  it('finds a client by an upper-case id on every route of a client', async () => {
    const { client } = await server.services.clients.create(SYSTEM_ACTOR, { name: `upper path ${unique()}` });
    const path = `/api/v1/clients/${upper(client.id)}`;
    expect((await rest(server, 'GET', path, { token: admin.token })).body).toMatchObject({ id: client.id });
    expect((await rest(server, 'GET', `${path}/permissions`, { token: admin.token })).status).toBe(200);
    expect((await rest(server, 'PATCH', path, { token: admin.token }, { description: 'found' })).status).toBe(200);
    const regenerated = await rest<{ clientSecret: string }>(server, 'POST', `${path}/secret`, { token: admin.token });
    expect(regenerated.status).toBe(200);
    // The token endpoint takes the client_id in any case too.
    expect(await accessToken(server, { id: upper(client.id), secret: regenerated.body.clientSecret })).toMatch(/^ey/);
    expect((await rest(server, 'DELETE', path, { token: admin.token })).status).toBe(204);
    expect((await rest(server, 'GET', `/api/v1/clients/${client.id}`, { token: admin.token })).status).toBe(404);
  });

  it('matches upper-case ids in a bulk action, each once, reporting them in lower case', async () => {
    const { client } = await server.services.clients.create(SYSTEM_ACTOR, { name: `upper bulk ${unique()}` });
    const answer = await rest(server, 'POST', '/api/v1/clients/bulk', { token: admin.token }, { action: 'disable', ids: [upper(client.id), client.id] });
    expect(answer.body).toMatchObject({ succeeded: [client.id], notFound: [], refused: [] });
    expect((await server.services.clients.get(SYSTEM_ACTOR, client.id)).enabled).toBe(false);
  });

  it('finds roles and users by upper-case ids, and takes upper-case roleIds for a user', async () => {
    expect((await rest(server, 'GET', `/api/v1/roles/${upper(viewerRoleId)}`, { token: admin.token })).body).toMatchObject({ id: viewerRoleId });
    const user = await rest<{ id: string; roles: { id: string }[] }>(
      server,
      'POST',
      '/api/v1/users',
      { token: admin.token },
      { email: `upper-${unique()}@example.com`, password: 'a long enough password', roleIds: [upper(viewerRoleId)] },
    );
    expect(user.status, user.text).toBe(201);
    expect(user.body.roles.map((role) => role.id)).toEqual([viewerRoleId]);
    expect((await rest(server, 'GET', `/api/v1/users/${upper(user.body.id)}`, { token: admin.token })).body).toMatchObject({ id: user.body.id });
  });

  it('takes upper-case ids in GraphQL arguments', async () => {
    const { client } = await server.services.clients.create(SYSTEM_ACTOR, { name: `upper graphql ${unique()}` });
    const answer = await graphqlClient(server, admin.token)<{ apiClient: { id: string }; updateApiClient: { role: { id: string } } }>(
      'mutation ($id: ID!, $roleId: ID!) { updateApiClient(id: $id, input: { roleId: $roleId }) { role { id } } }',
      { id: upper(client.id), roleId: upper(viewerRoleId) },
    );
    expect(answer.errors).toEqual([]);
    expect(answer.data?.updateApiClient.role.id).toBe(viewerRoleId);
  });
});
