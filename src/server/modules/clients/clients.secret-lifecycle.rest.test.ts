import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../../../../test/support/databases.js';
import { codesOf, graphqlClient } from '../../../../test/support/graphql.js';
import { actorWith } from '../../../../test/support/oauth.js';
import { rest } from '../../../../test/support/rest.js';
import { startTestServer, type TestServer } from '../../../../test/support/server.js';

/**
 * Rotation with an overlap and a secret's expiry through the doors: REST (and its OpenAPI
 * document) and GraphQL take the same choices, refuse bad input naming the field, and audit it.
 */
interface Client {
  id: string;
  secretHint: string;
  secretExpiresAt: string | null;
  previousSecret: { hint: string; expiresAt: string; lastUsedAt: string | null } | null;
}
interface Problem {
  errors?: { field: string; message: string }[];
}

const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

describe.each(testDialects())('secret lifecycle through REST and GraphQL on %s', (dialect) => {
  let server: TestServer;
  let admin: { token: string };

  beforeAll(async () => {
    server = await startTestServer(dialect);
    admin = await actorWith(server, 'lifecycle admin', 'Administrator');
  });
  afterAll(async () => {
    await server?.close();
  });

  const createClient = async (body: Record<string, unknown> = {}) => {
    const answer = await rest<{ client: Client; clientSecret: string }>(server, 'POST', '/api/v1/clients', admin, { name: `client ${Math.random()}`, ...body });
    expect(answer.status).toBe(201);
    return answer.body;
  };
  const fieldsOf = (body: unknown) => ((body as Problem).errors ?? []).map((error) => error.field);
  const latestAudit = async (clientId: string) => {
    const answer = await rest<{ items: { action: string; target: { id: string } | null; details: Record<string, unknown> }[] }>(
      server,
      'GET',
      '/api/v1/audit-events?limit=20',
      admin,
    );
    return answer.body.items.filter((event) => event.target?.id === clientId);
  };

  it('regenerates with an overlap, shows the previous secret, and ends it with DELETE …/previous-secret', async () => {
    const expiresAt = inDays(60);
    const { client, clientSecret } = await createClient({ secretExpiresAt: expiresAt });
    expect(client).toMatchObject({ secretExpiresAt: expiresAt, previousSecret: null });

    const newExpiry = inDays(90);
    const rotated = await rest<{ client: Client; clientSecret: string }>(server, 'POST', `/api/v1/clients/${client.id}/secret`, admin, {
      keepPreviousFor: 86_400,
      expiresAt: newExpiry,
    });
    expect(rotated.status).toBe(200);
    expect(rotated.body.client.secretExpiresAt).toBe(newExpiry);
    expect(rotated.body.client.previousSecret).toMatchObject({ hint: clientSecret.slice(-4), lastUsedAt: null });
    const shown = await rest<Client>(server, 'GET', `/api/v1/clients/${client.id}`, admin);
    expect(shown.body.previousSecret).toEqual(rotated.body.client.previousSecret);

    expect((await rest(server, 'DELETE', `/api/v1/clients/${client.id}/previous-secret`, admin)).status).toBe(204);
    expect((await rest<Client>(server, 'GET', `/api/v1/clients/${client.id}`, admin)).body.previousSecret).toBeNull();
    const again = await rest(server, 'DELETE', `/api/v1/clients/${client.id}/previous-secret`, admin);
    expect(again.status).toBe(404);
    expect(again.headers.get('content-type')).toContain('application/problem+json');

    const actions = (await latestAudit(client.id)).map((event) => event.action);
    expect(actions).toEqual(expect.arrayContaining(['client.previous_secret_ended', 'client.secret_regenerated']));
    const regenerated = (await latestAudit(client.id)).find((event) => event.action === 'client.secret_regenerated');
    expect(regenerated?.details).toMatchObject({ keepPreviousFor: 86_400, expiresAt: newExpiry });
  });

  it('regenerates without a body as before: no overlap', async () => {
    const { client } = await createClient();
    const rotated = await rest<{ client: Client }>(server, 'POST', `/api/v1/clients/${client.id}/secret`, admin);
    expect(rotated.status).toBe(200);
    expect(rotated.body.client.previousSecret).toBeNull();
  });

  it('changes the expiry by PATCH (null clears it) and audits it as client.updated', async () => {
    const { client } = await createClient();
    const expiresAt = inDays(10);
    const patched = await rest<Client>(server, 'PATCH', `/api/v1/clients/${client.id}`, admin, { secretExpiresAt: expiresAt });
    expect(patched.body.secretExpiresAt).toBe(expiresAt);
    const cleared = await rest<Client>(server, 'PATCH', `/api/v1/clients/${client.id}`, admin, { secretExpiresAt: null });
    expect(cleared.body.secretExpiresAt).toBeNull();
    const updates = (await latestAudit(client.id)).filter((event) => event.action === 'client.updated');
    expect(updates.map((event) => event.details)).toEqual([
      { secretExpiresAt: { from: expiresAt, to: null } },
      { secretExpiresAt: { from: null, to: expiresAt } },
    ]);
  });

  it.each([
    ['a negative overlap', 'POST', 'secret', { keepPreviousFor: -1 }, 'keepPreviousFor'],
    ['an overlap over 30 days', 'POST', 'secret', { keepPreviousFor: 2_592_001 }, 'keepPreviousFor'],
    ['a fractional overlap', 'POST', 'secret', { keepPreviousFor: 1.5 }, 'keepPreviousFor'],
    ['an overlap as text', 'POST', 'secret', { keepPreviousFor: '1h' }, 'keepPreviousFor'],
    ['an expiry in the past', 'POST', 'secret', { expiresAt: '2020-01-01T00:00:00Z' }, 'expiresAt'],
    ['an expiry that is no time', 'POST', 'secret', { expiresAt: 'next week' }, 'expiresAt'],
    ['a past expiry by PATCH', 'PATCH', '', { secretExpiresAt: '2020-01-01T00:00:00Z' }, 'secretExpiresAt'],
  ])('refuses %s with a 400 naming the field, changing nothing', async (_what, method, tail, body, field) => {
    const { client } = await createClient();
    const answer = await rest(server, method, `/api/v1/clients/${client.id}${tail === '' ? '' : `/${tail}`}`, admin, body);
    expect(answer.status).toBe(400);
    expect(fieldsOf(answer.body)).toEqual([field]);
    expect((await rest<Client>(server, 'GET', `/api/v1/clients/${client.id}`, admin)).body.secretHint).toBe(client.secretHint);
  });

  it('refuses a past expiry at creation naming the field', async () => {
    const answer = await rest(server, 'POST', '/api/v1/clients', admin, { name: 'past', secretExpiresAt: '2020-01-01T00:00:00Z' });
    expect(answer.status).toBe(400);
    expect(fieldsOf(answer.body)).toEqual(['secretExpiresAt']);
  });

  it('filters the list by secrets expiring within N days and by expired secrets, in REST and GraphQL', async () => {
    const tag = `expiry-filter-${Math.random().toString(36).slice(2)}`;
    const soon = (await createClient({ name: `${tag} soon`, secretExpiresAt: inDays(2) })).client;
    await createClient({ name: `${tag} later`, secretExpiresAt: inDays(20) });
    await createClient({ name: `${tag} never` });
    const gone = (await createClient({ name: `${tag} gone`, secretExpiresAt: inDays(1) })).client;
    // Time cannot be moved in this server: the expiry is set in the past behind the service's back.
    await server.database.handle.db.updateTable('api_clients').set({ secret_expires_at: '2020-01-01T00:00:00.000Z' }).where('id', '=', gone.id).execute();

    const names = async (query: string) => {
      const answer = await rest<{ items: Client[]; total: number }>(server, 'GET', `/api/v1/clients?q=${tag}&${query}`, admin);
      expect(answer.status).toBe(200);
      expect(answer.body.total).toBe(answer.body.items.length);
      return answer.body.items.map((item) => item.id);
    };
    expect(await names('expiringWithin=7d')).toEqual([soon.id]);
    expect(await names('expired=true')).toEqual([gone.id]);
    const bad = await rest(server, 'GET', `/api/v1/clients?expiringWithin=7`, admin);
    expect(bad.status).toBe(400);
    expect(fieldsOf(bad.body)).toEqual(['expiringWithin']);

    const graphql = graphqlClient(server, admin.token);
    const listed = await graphql<{ apiClients: { edges: { node: { id: string } }[]; totalCount: number } }>(
      `
        query ($search: String) {
          apiClients(filter: { search: $search, expiringWithin: "7d" }) {
            edges {
              node {
                id
              }
            }
            totalCount
          }
        }
      `,
      { search: tag },
    );
    expect(listed.data?.apiClients.edges.map((edge) => edge.node.id)).toEqual([soon.id]);
    const expired = await graphql<{ apiClients: { totalCount: number } }>(
      `
        query ($search: String) {
          apiClients(filter: { search: $search, expired: true }) {
            totalCount
          }
        }
      `,
      { search: tag },
    );
    expect(expired.data?.apiClients.totalCount).toBe(1);
    const wrong = await graphql(`
      {
        apiClients(filter: { expiringWithin: "soon" }) {
          totalCount
        }
      }
    `);
    expect(codesOf(wrong)).toEqual(['BAD_USER_INPUT']);
    expect(JSON.stringify(wrong.errors[0])).toContain('filter.expiringWithin');
  });

  it('describes the new body, fields and route in the OpenAPI document', async () => {
    type Operation = { requestBody?: unknown; responses: Record<string, unknown> };
    const document = (
      await rest<{ paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, { properties: Record<string, unknown> }> } }>(
        server,
        'GET',
        '/api/v1/openapi.json',
        null,
      )
    ).body;
    expect(JSON.stringify(document.paths['/api/v1/clients/{id}/secret']!['post']!.requestBody)).toContain('keepPreviousFor');
    expect(document.paths['/api/v1/clients/{id}/previous-secret']!['delete']!.responses).toHaveProperty('204');
    expect(Object.keys(document.components.schemas['ApiClient']!.properties)).toEqual(expect.arrayContaining(['secretExpiresAt', 'previousSecret']));
  });

  it('offers the same through GraphQL, naming a bad argument', async () => {
    const graphql = graphqlClient(server, admin.token);
    const { client, clientSecret } = await createClient();
    const rotated = await graphql<{ regenerateApiClientSecret: { apiClient: Client } }>(
      `
        mutation ($id: ID!) {
          regenerateApiClientSecret(id: $id, keepPreviousFor: 3600) {
            apiClient {
              id
              secretExpiresAt
              previousSecret {
                hint
                expiresAt
                lastUsedAt
              }
            }
            clientSecret
          }
        }
      `,
      { id: client.id },
    );
    expect(rotated.errors).toEqual([]);
    expect(rotated.data?.regenerateApiClientSecret.apiClient.previousSecret?.hint).toBe(clientSecret.slice(-4));

    const bad = await graphql(
      `
        mutation ($id: ID!) {
          regenerateApiClientSecret(id: $id, keepPreviousFor: -5) {
            clientSecret
          }
        }
      `,
      { id: client.id },
    );
    expect(codesOf(bad)).toEqual(['BAD_USER_INPUT']);
    expect(JSON.stringify(bad.errors[0])).toContain('keepPreviousFor');

    const ended = await graphql<{ endApiClientPreviousSecret: Client }>(
      `
        mutation ($id: ID!) {
          endApiClientPreviousSecret(id: $id) {
            id
            previousSecret {
              hint
            }
          }
        }
      `,
      { id: client.id },
    );
    expect(ended.data?.endApiClientPreviousSecret.previousSecret).toBeNull();
    const again = await graphql(
      `
        mutation ($id: ID!) {
          endApiClientPreviousSecret(id: $id) {
            id
          }
        }
      `,
      { id: client.id },
    );
    expect(codesOf(again)).toEqual(['NOT_FOUND']);

    const expiresAt = inDays(5);
    const updated = await graphql<{ updateApiClient: Client }>(
      `
        mutation ($id: ID!, $at: String) {
          updateApiClient(id: $id, input: { secretExpiresAt: $at }) {
            secretExpiresAt
          }
        }
      `,
      { id: client.id, at: expiresAt },
    );
    expect(updated.data?.updateApiClient.secretExpiresAt).toBe(expiresAt);
    const past = await graphql(
      `
        mutation ($id: ID!) {
          updateApiClient(id: $id, input: { secretExpiresAt: "2020-01-01T00:00:00Z" }) {
            id
          }
        }
      `,
      { id: client.id },
    );
    expect(JSON.stringify(past.errors[0])).toContain('input.secretExpiresAt');
  });
});
