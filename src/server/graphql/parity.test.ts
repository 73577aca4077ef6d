import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../actor.js';
import { testDialects } from '../../../test/support/databases.js';
import { graphqlClient } from '../../../test/support/graphql.js';
import { actorWith } from '../../../test/support/oauth.js';
import { startTestServer, type TestServer } from '../../../test/support/server.js';

/**
 * REST and GraphQL are two doors onto one service: the same scenario through
 * either ends in the same database and the same audit trail.
 */
interface Door {
  create(name: string, description: string): Promise<string>;
  rename(id: string, name: string): Promise<void>;
  assignRole(id: string, roleId: string): Promise<void>;
  disable(id: string): Promise<void>;
  regenerate(id: string): Promise<void>;
  bulkDelete(ids: string[]): Promise<{ succeeded: string[]; notFound: string[] }>;
}

function restDoor(server: TestServer, token: string): Door {
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${server.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    expect(response.status, `${method} ${path}`).toBeLessThan(300);
    return response.status === 204 ? null : ((await response.json()) as Record<string, unknown>);
  };
  return {
    create: async (name, description) => ((await call('POST', '/clients', { name, description }))!['client'] as { id: string }).id,
    rename: async (id, name) => void (await call('PATCH', `/clients/${id}`, { name })),
    assignRole: async (id, roleId) => void (await call('PATCH', `/clients/${id}`, { roleId })),
    disable: async (id) => void (await call('PATCH', `/clients/${id}`, { enabled: false })),
    regenerate: async (id) => void (await call('POST', `/clients/${id}/secret`)),
    bulkDelete: async (ids) => {
      const { succeeded, notFound } = (await call('POST', '/clients/bulk', { action: 'delete', ids })) as { succeeded: string[]; notFound: string[] };
      return { succeeded, notFound };
    },
  };
}

function graphqlDoor(server: TestServer, token: string): Door {
  const ask = graphqlClient(server, token);
  const run = async <T>(query: string, variables: Record<string, unknown>) => {
    const answer = await ask<T>(query, variables);
    expect(answer.errors).toEqual([]);
    return answer.data!;
  };
  const update = (id: string, input: Record<string, unknown>) =>
    run('mutation Update($id: ID!, $input: UpdateApiClientInput!) { updateApiClient(id: $id, input: $input) { id } }', { id, input }).then(() => undefined);
  return {
    create: async (name, description) =>
      (
        await run<{ createApiClient: { apiClient: { id: string } } }>(
          'mutation Create($input: CreateApiClientInput!) { createApiClient(input: $input) { apiClient { id } clientSecret } }',
          { input: { name, description } },
        )
      ).createApiClient.apiClient.id,
    rename: (id, name) => update(id, { name }),
    assignRole: (id, roleId) => update(id, { roleId }),
    disable: (id) => update(id, { enabled: false }),
    regenerate: (id) => run('mutation Regenerate($id: ID!) { regenerateApiClientSecret(id: $id) { clientSecret } }', { id }).then(() => undefined),
    bulkDelete: async (ids) =>
      (
        await run<{ deleteApiClients: { succeeded: string[]; notFound: string[] } }>(
          'mutation Delete($ids: [ID!]!) { deleteApiClients(ids: $ids) { succeeded notFound } }',
          { ids },
        )
      ).deleteApiClients,
  };
}

const UNKNOWN_ID = '7d3f1a52-6b1e-4c8e-9f0a-2b4c6d8e0f12';

/** Create, rename, assign a role, disable, regenerate, bulk delete: what the console does all day. */
async function scenario(server: TestServer, door: Door) {
  const viewer = (await server.services.roles.list(SYSTEM_ACTOR)).find((role) => role.name === 'Viewer')!;
  const alpha = await door.create('alpha', 'the first');
  const beta = await door.create('beta', 'the second');
  const gamma = await door.create('gamma', '');
  await door.rename(alpha, 'alpha prime');
  await door.assignRole(alpha, viewer.id);
  await door.disable(beta);
  await door.regenerate(gamma);
  await door.regenerate(alpha);
  const result = await door.bulkDelete([beta, gamma, UNKNOWN_ID]);
  expect(result).toEqual({ succeeded: [beta, gamma], notFound: [UNKNOWN_ID] });
}

/** The clients table without what differs by nature (ids, times, secrets), roles by name. */
async function clientsTable(server: TestServer) {
  const rows = await server.services.db
    .selectFrom('api_clients')
    .leftJoin('roles', 'roles.id', 'api_clients.role_id')
    .select([
      'api_clients.name',
      'api_clients.name_key',
      'api_clients.description',
      'api_clients.enabled',
      'api_clients.secret_generation',
      'roles.name as role',
    ])
    .orderBy('api_clients.name_key')
    .execute();
  return rows.map((row) => ({ ...row, enabled: Number(row.enabled), secret_generation: Number(row.secret_generation) }));
}

/** The audit trail, oldest first, with ids (which differ between databases) masked. */
async function auditTrail(server: TestServer) {
  const { items } = await server.services.audit.list(SYSTEM_ACTOR, { limit: 200 });
  const mask = (value: unknown) =>
    JSON.parse(JSON.stringify(value).replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<id>')) as unknown;
  return items
    .reverse()
    .map((event) => ({ action: event.action, actor: [event.actor.type, event.actor.name], target: event.target?.name ?? null, details: mask(event.details) }));
}

describe.each(testDialects())('REST and GraphQL parity on %s', (dialect) => {
  let rest: TestServer;
  let graphql: TestServer;

  beforeAll(async () => {
    [rest, graphql] = await Promise.all([startTestServer(dialect), startTestServer(dialect)]);
  });
  afterAll(async () => {
    await Promise.all([rest?.close(), graphql?.close()]);
  });

  it('ends in the same clients table and the same audit trail whichever door the scenario used', async () => {
    await scenario(rest, restDoor(rest, (await actorWith(rest, 'operator', 'Administrator')).token));
    await scenario(graphql, graphqlDoor(graphql, (await actorWith(graphql, 'operator', 'Administrator')).token));

    const table = await clientsTable(graphql);
    expect(table).toEqual([
      { name: 'alpha prime', name_key: 'alpha prime', description: 'the first', enabled: 1, secret_generation: 2, role: 'Viewer' },
      { name: 'operator', name_key: 'operator', description: null, enabled: 1, secret_generation: 1, role: 'Administrator' },
    ]);
    expect(await clientsTable(rest)).toEqual(table);

    const trail = await auditTrail(graphql);
    expect(trail.map((event) => event.action)).toEqual([
      'client.created',
      'client.created',
      'client.created',
      'client.created',
      'client.renamed',
      'client.role_changed',
      'client.disabled',
      'client.secret_regenerated',
      'client.secret_regenerated',
      'client.deleted',
      'client.deleted',
    ]);
    expect(await auditTrail(rest)).toEqual(trail);
  });
});
