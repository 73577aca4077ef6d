import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../actor.js';
import { testDialects } from '../../../../test/support/databases.js';
import { codesOf, graphqlClient } from '../../../../test/support/graphql.js';
import { accessToken, actorWith } from '../../../../test/support/oauth.js';
import { rest, stateOf, unique } from '../../../../test/support/rest.js';
import { startTestServer, type TestServer } from '../../../../test/support/server.js';

/**
 * Acting on a client is acting with its role: whoever may rename, enable, disable or delete an
 * Administrator client can revive its leaked token or silence it. So each of those needs every
 * permission of the client's role, as regenerating its secret does, through every door.
 */
describe.each(testDialects())('acting on a client needs every permission of its role, on %s', (dialect) => {
  let server: TestServer;
  let administratorRoleId: string;
  let viewerRoleId: string;
  /** A client whose role holds only clients:update and clients:delete (and clients:read, to see). */
  let operator: { id: string; token: string };

  beforeAll(async () => {
    server = await startTestServer(dialect);
    const roles = await server.services.roles.list(SYSTEM_ACTOR);
    administratorRoleId = roles.find((role) => role.name === 'Administrator')!.id;
    viewerRoleId = roles.find((role) => role.name === 'Viewer')!.id;
    operator = await actorWith(server, `operator ${unique()}`, ['clients:read', 'clients:update', 'clients:delete']);
  });
  afterAll(async () => server?.close());

  async function administratorClient(enabled = true) {
    const created = await server.services.clients.create(SYSTEM_ACTOR, { name: `admin client ${unique()}`, roleId: administratorRoleId });
    const token = await accessToken(server, { id: created.client.id, secret: created.clientSecret });
    if (!enabled) await server.services.clients.update(SYSTEM_ACTOR, created.client.id, { enabled: false });
    return { id: created.client.id, token };
  }

  it.each([
    ['re-enable it', { enabled: true }, false],
    ['disable it', { enabled: false }, true],
    ['rename it', { name: 'renamed by an operator' }, true],
    ['change its description', { description: 'changed by an operator' }, true],
  ])('a client with clients:update cannot %s when it holds the Administrator role: 403, nothing changes', async (_what, patch, enabled) => {
    const target = await administratorClient(enabled);
    const before = await stateOf(server);
    const answer = await rest(server, 'PATCH', `/api/v1/clients/${target.id}`, { token: operator.token }, patch);
    expect(answer.status, answer.text).toBe(403);
    expect(answer.body['detail']).toContain('Administrator');
    expect(await stateOf(server)).toEqual(before);
  });

  it('the leaked token of a disabled Administrator client stays dead after an operator tries to re-enable it', async () => {
    const target = await administratorClient(false);
    await rest(server, 'PATCH', `/api/v1/clients/${target.id}`, { token: operator.token }, { enabled: true });
    expect((await rest(server, 'GET', '/api/v1/users', { token: target.token })).status).toBe(401);
  });

  it('a client with clients:delete cannot delete an Administrator client: 403, it remains', async () => {
    const target = await administratorClient();
    const before = await stateOf(server);
    const answer = await rest(server, 'DELETE', `/api/v1/clients/${target.id}`, { token: operator.token });
    expect(answer.status, answer.text).toBe(403);
    expect(await stateOf(server)).toEqual(before);
  });

  it('bulk enable, disable and delete leave clients with a stronger role unchanged and report them as refused, with the reason', async () => {
    const strong = await administratorClient(false);
    const plain = (await server.services.clients.create(SYSTEM_ACTOR, { name: `plain ${unique()}` })).client.id;
    const missing = '5e1c5b33-0000-4000-8000-00000000dead';
    for (const action of ['enable', 'disable', 'delete'] as const) {
      const answer = await rest(server, 'POST', '/api/v1/clients/bulk', { token: operator.token }, { action, ids: [strong.id, plain, missing] });
      expect(answer.status, answer.text).toBe(200);
      expect(answer.body).toMatchObject({ action, succeeded: [plain], notFound: [missing] });
      const refused = answer.body['refused'] as { id: string; reason: string }[];
      expect(refused.map((refusal) => refusal.id)).toEqual([strong.id]);
      expect(refused[0]!.reason).toContain('Administrator');
      expect(refused[0]!.reason).toContain('users:write');
    }
    const stillThere = await server.services.clients.get(SYSTEM_ACTOR, strong.id);
    expect(stillThere.enabled).toBe(false);
    const audit = await server.services.audit.list(SYSTEM_ACTOR, { targetId: strong.id });
    expect(audit.items.map((event) => event.action)).toEqual(['client.disabled', 'client.created']);
  });

  it('GraphQL bulk mutations report the same refusals', async () => {
    const strong = await administratorClient();
    const plain = (await server.services.clients.create(SYSTEM_ACTOR, { name: `plain ${unique()}` })).client.id;
    const graphql = graphqlClient(server, operator.token);
    const disabled = await graphql<{ setApiClientsEnabled: { succeeded: string[]; refused: { id: string; reason: string }[] } }>(
      'mutation ($ids: [ID!]!) { setApiClientsEnabled(ids: $ids, enabled: false) { succeeded notFound refused { id reason } } }',
      { ids: [strong.id, plain] },
    );
    expect(disabled.errors).toEqual([]);
    expect(disabled.data?.setApiClientsEnabled.succeeded).toEqual([plain]);
    expect(disabled.data?.setApiClientsEnabled.refused.map((refusal) => refusal.id)).toEqual([strong.id]);
    const deleted = await graphql<{ deleteApiClients: { succeeded: string[]; refused: { id: string }[] } }>(
      'mutation ($ids: [ID!]!) { deleteApiClients(ids: $ids) { succeeded refused { id } } }',
      { ids: [strong.id] },
    );
    expect(deleted.data?.deleteApiClients).toEqual({ succeeded: [], refused: [{ id: strong.id }] });
    const updated = await graphql('mutation ($id: ID!) { updateApiClient(id: $id, input: { enabled: false }) { id } }', { id: strong.id });
    expect(codesOf(updated)).toEqual(['FORBIDDEN']);
    expect((await server.services.clients.get(SYSTEM_ACTOR, strong.id)).enabled).toBe(true);
  });

  it('acting on a client whose role the caller holds entirely still works (the refusals are the rule, not a broken caller)', async () => {
    const caller = await actorWith(server, `viewer operator ${unique()}`, [
      'clients:read',
      'clients:update',
      'clients:delete',
      'roles:read',
      'users:read',
      'audit:read',
    ]);
    const target = (await server.services.clients.create(SYSTEM_ACTOR, { name: `viewer client ${unique()}`, roleId: viewerRoleId })).client.id;
    const renamed = await rest(server, 'PATCH', `/api/v1/clients/${target}`, { token: caller.token }, { name: `renamed ${unique()}`, enabled: false });
    expect(renamed.status, renamed.text).toBe(200);
    const bulk = await rest(server, 'POST', '/api/v1/clients/bulk', { token: caller.token }, { action: 'enable', ids: [target] });
    expect(bulk.body).toMatchObject({ succeeded: [target], refused: [] });
    expect((await rest(server, 'DELETE', `/api/v1/clients/${target}`, { token: caller.token })).status).toBe(204);
  });
});
