import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../actor.js';
import { openDatabase } from '../../db/database.js';
import { testDialects } from '../../../../test/support/databases.js';
import { graphqlClient } from '../../../../test/support/graphql.js';
import { accessToken, builtInRoleIds, actorWith, type ClientCredentials } from '../../../../test/support/oauth.js';
import { fieldsOf, rest, type ProblemBody } from '../../../../test/support/rest.js';
import { startTestServer, type TestServer } from '../../../../test/support/server.js';
import { withinOneSecond } from '../../../../test/support/eventually.js';

/**
 * Where a client may call from: its allowlist of CIDR ranges, checked at the token endpoint and
 * on every bearer request against the caller's address as the trusted proxies give it.
 */
describe.each(testDialects())('client address allowlists on %s', (dialect) => {
  let server: TestServer;
  /** A second instance on the same database, with its own caches and change feed. */
  let other: TestServer;
  /** An instance behind a trusted proxy on loopback: X-Forwarded-For names the caller. */
  let proxied: TestServer;
  let admin: { id: string; token: string };
  let viewer: string;

  beforeAll(async () => {
    server = await startTestServer(dialect);
    const { config, location } = server.database;
    const handle = () => openDatabase(config, dialect === 'postgres' ? { schema: location } : {});
    other = await startTestServer(dialect, { database: { ...server.database, handle: handle() } });
    proxied = await startTestServer(dialect, { database: { ...server.database, handle: handle() }, env: { KOIOS_TRUST_PROXY: '127.0.0.1' } });
    admin = await actorWith(server, 'allowlist admin', 'Administrator');
    viewer = (await builtInRoleIds(server)).viewer;
  });
  afterAll(async () => {
    for (const instance of [proxied, other]) {
      await instance?.close();
      await instance?.database.handle.close();
    }
    await server?.close();
  });

  const create = async (name: string, allowedCidrs: string[]): Promise<ClientCredentials> => {
    const { client, clientSecret } = await server.services.clients.create(SYSTEM_ACTOR, { name, roleId: viewer, allowedCidrs });
    return { id: client.id, secret: clientSecret };
  };
  const tokenAnswer = async (target: TestServer, client: ClientCredentials, headers: Record<string, string> = {}) => {
    const response = await fetch(`${target.url}/oauth/token`, {
      method: 'POST',
      headers,
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.id, client_secret: client.secret }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const me = (target: TestServer, token: string, headers: Record<string, string> = {}) =>
    fetch(`${target.url}/api/v1/me`, { headers: { authorization: `Bearer ${token}`, ...headers } }).then((response) => response.status);
  const reasons = async (clientId: string) =>
    Object.fromEntries((await server.services.failures.countsFor(clientId)).map((row) => [row.reason, Number(row.count)]));
  const setAllowed = (id: string, allowedCidrs: string[]) => rest(server, 'PATCH', `/api/v1/clients/${id}`, admin, { allowedCidrs });

  it('stores ranges canonically through REST and GraphQL, shows them on the client and audits a change', async () => {
    const created = await rest<{ client: { id: string; allowedCidrs: string[] } }>(server, 'POST', '/api/v1/clients', admin, {
      name: 'Office only',
      allowedCidrs: ['10.0.0.0/8', '2001:DB8:0:0::/32', '192.168.1.7', '::1', '10.0.0.0/8'],
    });
    expect(created.status).toBe(201);
    expect(created.body.client.allowedCidrs).toEqual(['10.0.0.0/8', '2001:db8::/32', '192.168.1.7/32', '::1/128']);
    const id = created.body.client.id;

    const patched = await setAllowed(id, ['172.16.0.0/12']);
    expect(patched.status).toBe(200);
    expect(patched.body['allowedCidrs']).toEqual(['172.16.0.0/12']);
    const cleared = await setAllowed(id, []);
    expect(cleared.body['allowedCidrs']).toEqual([]);

    const ask = graphqlClient(server, admin.token);
    const answer = await ask<{ updateApiClient: { allowedCidrs: string[] } }>(
      'mutation Limit($id: ID!, $input: UpdateApiClientInput!) { updateApiClient(id: $id, input: $input) { allowedCidrs } }',
      { id, input: { allowedCidrs: ['fd00::/8'] } },
    );
    expect(answer.errors).toEqual([]);
    expect(answer.data!.updateApiClient.allowedCidrs).toEqual(['fd00::/8']);

    const audit = await server.services.audit.list(SYSTEM_ACTOR, { targetId: id });
    const changes = audit.items.filter((event) => event.action === 'client.updated').map((event) => event.details);
    expect(changes).toContainEqual({ allowedCidrs: { from: ['10.0.0.0/8', '2001:db8::/32', '192.168.1.7/32', '::1/128'], to: ['172.16.0.0/12'] } });
    expect(changes).toContainEqual({ allowedCidrs: { from: [], to: ['fd00::/8'] } });
  });

  it('refuses an invalid range with a 400 naming the entry, and changes nothing', async () => {
    const { id } = await create('Unchanged', ['10.0.0.0/8']);
    const answer = await setAllowed(id, ['10.0.0.0/8', '10.0.0.0/33', '::1/129', 'office', '10.0.0.1/8']);
    expect(answer.status).toBe(400);
    expect(fieldsOf(answer)).toEqual(['allowedCidrs[1]', 'allowedCidrs[2]', 'allowedCidrs[3]', 'allowedCidrs[4]']);
    expect((answer.body as unknown as ProblemBody).errors!.at(-1)!.message).toContain('did you mean 10.0.0.0/8');
    expect((await server.services.clients.get(SYSTEM_ACTOR, id)).allowedCidrs).toEqual(['10.0.0.0/8']);

    const tooMany = await rest(server, 'POST', '/api/v1/clients', admin, {
      name: 'Too many',
      allowedCidrs: Array.from({ length: 101 }, (_, i) => `10.0.${i}.0/24`),
    });
    expect(tooMany.status).toBe(400);
    expect(fieldsOf(tooMany)).toEqual(['allowedCidrs']);

    const ask = graphqlClient(server, admin.token);
    const bad = await ask('mutation Create($input: CreateApiClientInput!) { createApiClient(input: $input) { clientSecret } }', {
      input: { name: 'Bad range', allowedCidrs: ['::1/129'] },
    });
    expect(bad.errors[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    expect(bad.errors[0]?.message).toContain('input.allowedCidrs[0]');
  });

  it('refuses a caller outside the list at the token endpoint with invalid_client, recording address_not_allowed', async () => {
    const elsewhere = await create('Elsewhere', ['10.0.0.0/8', '2001:db8::/32']);
    const refused = await tokenAnswer(server, elsewhere);
    expect(refused.status).toBe(401);
    // The same answer as a wrong secret: nothing tells the caller its secret was right.
    const wrongSecret = await tokenAnswer(server, { id: elsewhere.id, secret: `${elsewhere.secret}x` });
    expect(refused.body).toEqual(wrongSecret.body);
    expect(refused.body['error']).toBe('invalid_client');
    expect(await reasons(elsewhere.id)).toMatchObject({ address_not_allowed: 1, bad_secret: 1 });

    const loopback = await create('Loopback', ['127.0.0.0/8']);
    expect((await tokenAnswer(server, loopback)).status).toBe(200);
  });

  it('refuses a token on the next REST and GraphQL request once its client’s list leaves the caller out, on every instance', async () => {
    const client = await create('Narrowed', []);
    const token = await accessToken(server, client);
    // Each instance has its own issuer here, so each checks tokens it minted.
    const otherToken = await accessToken(other, client);
    expect(await me(server, token)).toBe(200);
    expect(await me(other, otherToken)).toBe(200);

    expect((await setAllowed(client.id, ['10.0.0.0/8'])).status).toBe(200);
    expect(await me(server, token)).toBe(401);
    expect(await withinOneSecond(() => me(other, otherToken), 401)).toBe(401);
    expect((await graphqlClient(server, token)('{ me { id } }')).status).toBe(401);
    expect((await tokenAnswer(other, client)).status).toBe(401);
    await other.services.failures.flush();
    expect((await reasons(client.id))['address_not_allowed']).toBeGreaterThanOrEqual(4);

    expect((await setAllowed(client.id, ['10.0.0.0/8', '127.0.0.1'])).status).toBe(200);
    expect(await withinOneSecond(() => me(other, otherToken), 200)).toBe(200);
    expect(await me(server, token)).toBe(200);
  });

  it('takes the caller from X-Forwarded-For only behind a trusted proxy, IPv4-mapped IPv6 addresses matching IPv4 ranges', async () => {
    const office = await create('Behind the proxy', ['10.0.0.0/8']);
    const forwarded = { 'x-forwarded-for': '10.1.2.3' };
    // Not trusted: the header is the caller's own claim, and the caller is on loopback.
    expect((await tokenAnswer(server, office, forwarded)).status).toBe(401);
    const answer = await tokenAnswer(proxied, office, forwarded);
    expect(answer.status).toBe(200);
    const token = answer.body['access_token'] as string;
    expect(await me(proxied, token, forwarded)).toBe(200);
    expect(await me(proxied, token, { 'x-forwarded-for': '::ffff:10.9.8.7' })).toBe(200);
    expect(await me(proxied, token, { 'x-forwarded-for': '11.1.2.3' })).toBe(401);
    expect(await me(proxied, token)).toBe(401);
    expect(await me(server, token, forwarded)).toBe(401);

    const v6 = await create('IPv6 office', ['2001:db8::/32']);
    expect((await tokenAnswer(proxied, v6, { 'x-forwarded-for': '2001:db8:5::1' })).status).toBe(200);
    expect((await tokenAnswer(proxied, v6, { 'x-forwarded-for': '2001:db9::1' })).status).toBe(401);
  });
});
