import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../actor.js';
import { openDatabase } from '../db/database.js';
import { testDialects } from '../../../test/support/databases.js';
import { withinOneSecond } from '../../../test/support/eventually.js';
import { codesOf, graphqlClient } from '../../../test/support/graphql.js';
import { accessToken, actorWith, answerOf, builtInRoleIds, type ClientCredentials } from '../../../test/support/oauth.js';
import { fieldsOf, rest } from '../../../test/support/rest.js';
import { startTestServer, type TestServer } from '../../../test/support/server.js';
import type { ClientUsage } from '../../shared/schemas/usage.js';
import { RATE_LIMIT_WINDOW_MS } from './rate-limiter.js';

/**
 * A clock that only moves forward: `freshWindow()` jumps to just after the next minute starts, so a
 * test's requests never straddle two windows by chance.
 */
function windowClock() {
  let offset = 0;
  const now = () => Date.now() + offset;
  return {
    now: () => new Date(now()),
    freshWindow: () => {
      offset += RATE_LIMIT_WINDOW_MS - (now() % RATE_LIMIT_WINDOW_MS) + 100;
    },
  };
}

/**
 * Per-client rate limits through every door: set in REST, GraphQL (and the CLI, in cli.test.ts),
 * enforced on the token endpoint (tokensPerMinute) and on REST and GraphQL calls
 * (requestsPerMinute) with 429, Retry-After and the RateLimit fields of
 * draft-ietf-httpapi-ratelimit-headers, each refusal recorded as rate_limited, and one limit held
 * across two instances on one database within the stated tolerance.
 */
describe.each(testDialects())('per-client rate limits on %s', (dialect) => {
  const clock = windowClock();
  let server: TestServer;
  /** A second instance on the same database, with its own caches, counters and change feed. */
  let other: TestServer;
  let admin: { id: string; token: string };
  let viewer: string;

  beforeAll(async () => {
    // Counts are shared when the test says (sync()), so the interleaving of two instances is known.
    const services = { clock, rateLimitSyncMs: 0 };
    server = await startTestServer(dialect, { services });
    const { config, location } = server.database;
    const handle = openDatabase(config, dialect === 'postgres' ? { schema: location } : {});
    other = await startTestServer(dialect, { database: { ...server.database, handle }, services });
    admin = await actorWith(server, 'rate-limit admin', 'Administrator');
    viewer = (await builtInRoleIds(server)).viewer;
  });
  afterAll(async () => {
    await other?.close();
    await other?.database.handle.close();
    await server?.close();
  });

  const create = async (name: string, rateLimit: { requestsPerMinute?: number | null; tokensPerMinute?: number | null }): Promise<ClientCredentials> => {
    const { client, clientSecret } = await server.services.clients.create(SYSTEM_ACTOR, { name, roleId: viewer, rateLimit });
    return { id: client.id, secret: clientSecret };
  };
  const tokenRequest = async (target: TestServer, client: ClientCredentials) =>
    answerOf(
      await fetch(`${target.url}/oauth/token`, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.id, client_secret: client.secret }),
      }),
    );
  const me = (target: TestServer, token: string) => rest(target, 'GET', '/api/v1/me', { token });
  const rateLimited = async (clientId: string) => {
    const counts = await server.services.failures.countsFor(clientId);
    return Number(counts.find((row) => row.reason === 'rate_limited')?.count ?? 0);
  };
  /** The client's rate_limited refusals as an admin reads them in its usage figures, both instances' counts written. */
  const rateLimitedInUsage = async (clientId: string) => {
    await Promise.all([server.services.usageRecorder.flush(), other.services.usageRecorder.flush()]);
    const usage = await rest<ClientUsage>(server, 'GET', `/api/v1/clients/${clientId}/usage`, admin);
    expect(usage.status, usage.text).toBe(200);
    return usage.body.buckets.reduce((sum, bucket) => sum + (bucket.refusals.rate_limited ?? 0), 0);
  };

  it('sets, changes one limit at a time, clears and audits rate limits through REST and GraphQL', async () => {
    const created = await rest<{ client: { id: string; rateLimit: unknown } }>(server, 'POST', '/api/v1/clients', admin, {
      name: 'Limited export',
      rateLimit: { requestsPerMinute: 600 },
    });
    expect(created.status).toBe(201);
    expect(created.body.client.rateLimit).toEqual({ requestsPerMinute: 600, tokensPerMinute: null });
    const id = created.body.client.id;

    const patched = await rest(server, 'PATCH', `/api/v1/clients/${id}`, admin, { rateLimit: { tokensPerMinute: 10 } });
    expect(patched.status).toBe(200);
    // A limit left out keeps its value.
    expect(patched.body['rateLimit']).toEqual({ requestsPerMinute: 600, tokensPerMinute: 10 });
    const cleared = await rest(server, 'PATCH', `/api/v1/clients/${id}`, admin, { rateLimit: { requestsPerMinute: null } });
    expect(cleared.body['rateLimit']).toEqual({ requestsPerMinute: null, tokensPerMinute: 10 });

    const ask = graphqlClient(server, admin.token);
    const answer = await ask<{ updateApiClient: { rateLimit: unknown } }>(
      'mutation Limit($id: ID!, $input: UpdateApiClientInput!) { updateApiClient(id: $id, input: $input) { rateLimit { requestsPerMinute tokensPerMinute } } }',
      { id, input: { rateLimit: { requestsPerMinute: 120, tokensPerMinute: null } } },
    );
    expect(answer.errors).toEqual([]);
    expect(answer.data!.updateApiClient.rateLimit).toEqual({ requestsPerMinute: 120, tokensPerMinute: null });

    const audit = await server.services.audit.list(SYSTEM_ACTOR, { targetId: id });
    const details = audit.items.map((event) => event.details);
    expect(details).toContainEqual(expect.objectContaining({ rateLimit: { requestsPerMinute: 600, tokensPerMinute: null } }));
    expect(details).toContainEqual({ rateLimit: { tokensPerMinute: { from: null, to: 10 } } });
    expect(details).toContainEqual({ rateLimit: { requestsPerMinute: { from: 600, to: null } } });
    expect(details).toContainEqual({ rateLimit: { requestsPerMinute: { from: null, to: 120 } } });
    expect(details).toContainEqual({ rateLimit: { tokensPerMinute: { from: 10, to: null } } });
  });

  it('refuses a bad limit with a 400 naming the field, in REST and GraphQL, and changes nothing', async () => {
    const { id } = await create('Unchanged limits', { requestsPerMinute: 60 });
    for (const [rateLimit, field] of [
      [{ requestsPerMinute: 0 }, 'rateLimit.requestsPerMinute'],
      [{ requestsPerMinute: 1.5 }, 'rateLimit.requestsPerMinute'],
      [{ tokensPerMinute: 10_001 }, 'rateLimit.tokensPerMinute'],
      [{ tokensPerMinute: '10' }, 'rateLimit.tokensPerMinute'],
      [{ perHour: 10 }, 'rateLimit.perHour'],
    ] as const) {
      const answer = await rest(server, 'PATCH', `/api/v1/clients/${id}`, admin, { rateLimit });
      expect(answer.status, JSON.stringify(rateLimit)).toBe(400);
      expect(fieldsOf(answer)).toEqual([field]);
    }
    expect((await server.services.clients.get(SYSTEM_ACTOR, id)).rateLimit).toEqual({ requestsPerMinute: 60, tokensPerMinute: null });

    const bad = await graphqlClient(server, admin.token)('mutation Create($input: CreateApiClientInput!) { createApiClient(input: $input) { clientSecret } }', {
      input: { name: 'Bad limit', rateLimit: { tokensPerMinute: 0 } },
    });
    expect(codesOf(bad)).toEqual(['BAD_USER_INPUT']);
    expect(bad.errors[0]?.message).toContain('input.rateLimit.tokensPerMinute');
  });

  it('answers token requests over tokensPerMinute 429 with an OAuth error, Retry-After and the RateLimit fields, recording rate_limited', async () => {
    clock.freshWindow();
    const client = await create('Token hungry', { tokensPerMinute: 2 });
    const first = await tokenRequest(server, client);
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-policy')).toBe('"per-client";q=2;w=60');
    expect(first.headers.get('ratelimit')).toMatch(/^"per-client";r=1;t=(59|60)$/);
    expect((await tokenRequest(server, client)).headers.get('ratelimit')).toMatch(/^"per-client";r=0;t=/);

    const refused = await tokenRequest(server, client);
    expect(refused.status).toBe(429);
    expect(refused.json).toEqual({ error: 'too_many_requests', error_description: expect.stringContaining('2 token requests a minute') });
    expect(refused.headers.get('cache-control')).toBe('no-store');
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.headers.get('ratelimit')).toBe(`"per-client";r=0;t=${retryAfter}`);
    expect(refused.headers.get('ratelimit-policy')).toBe('"per-client";q=2;w=60');
    // A wrong secret is not a token request of this client: it neither counts nor is rate_limited.
    expect((await tokenRequest(server, { id: client.id, secret: `${client.secret}x` })).status).toBe(401);
    expect(await rateLimited(client.id)).toBe(1);
    expect(await rateLimitedInUsage(client.id)).toBe(1);

    // Its API calls have no limit: no RateLimit fields there.
    const token = first.json['access_token'] as string;
    const call = await me(server, token);
    expect(call.status).toBe(200);
    expect(call.headers.get('ratelimit')).toBeNull();
  });

  it('answers REST and GraphQL calls over requestsPerMinute 429 (a problem body, a GraphQL error), with the RateLimit fields on every answer', async () => {
    clock.freshWindow();
    const client = await create('Chatty', { requestsPerMinute: 3 });
    const token = await accessToken(server, client);
    const answers = [await me(server, token), await me(server, token)];
    expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
    expect(answers.map((answer) => answer.headers.get('ratelimit')?.split(';')[1])).toEqual(['r=2', 'r=1']);
    expect(answers[0]!.headers.get('ratelimit-policy')).toBe('"per-client";q=3;w=60');

    const ask = graphqlClient(server, token);
    const allowed = await ask('{ me { id } }');
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('ratelimit')).toMatch(/^"per-client";r=0;t=/);

    const refused = await me(server, token);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(refused.body).toMatchObject({ status: 429, code: 'too_many_requests', detail: expect.stringContaining('3 requests a minute') });
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(refused.headers.get('ratelimit')).toBe(`"per-client";r=0;t=${retryAfter}`);

    const refusedGraphql = await ask('{ me { id } }');
    expect(refusedGraphql.status).toBe(429);
    expect(codesOf(refusedGraphql)).toEqual(['TOO_MANY_REQUESTS']);
    expect(refusedGraphql.headers.get('retry-after')).not.toBeNull();
    expect(refusedGraphql.headers.get('ratelimit-policy')).toBe('"per-client";q=3;w=60');
    expect(await rateLimited(client.id)).toBe(2);
    expect(await rateLimitedInUsage(client.id)).toBe(2);

    // Its token requests have no limit; a client without limits gets no RateLimit fields.
    expect((await tokenRequest(server, client)).headers.get('ratelimit')).toBeNull();
    expect((await me(server, admin.token)).headers.get('ratelimit')).toBeNull();
  });

  it('applies a new limit, and its removal, on the next request on every instance', async () => {
    clock.freshWindow();
    const client = await create('Limited later', {});
    const token = await accessToken(other, client);
    const policy = async () => (await me(other, token)).headers.get('ratelimit-policy');
    expect(await policy()).toBeNull();
    expect((await rest(server, 'PATCH', `/api/v1/clients/${client.id}`, admin, { rateLimit: { requestsPerMinute: 100 } })).status).toBe(200);
    expect(await withinOneSecond(policy, '"per-client";q=100;w=60')).toBe('"per-client";q=100;w=60');
    expect((await rest(server, 'PATCH', `/api/v1/clients/${client.id}`, admin, { rateLimit: { requestsPerMinute: null } })).status).toBe(200);
    expect(await withinOneSecond(policy, null)).toBeNull();
  });

  it('holds one limit across two instances: of 100 calls split between them, the 429s leave at most the limit plus one instance’s two sync intervals admitted', async () => {
    clock.freshWindow();
    const limit = 40;
    const perSync = 5;
    const client = await create('Spread out', { requestsPerMinute: limit });
    const callers = [
      { instance: server, token: await accessToken(server, client) },
      { instance: other, token: await accessToken(other, client) },
    ];
    let tooMany = 0;
    for (let round = 0; round < 10; round += 1) {
      for (const { instance, token } of callers) {
        for (let i = 0; i < perSync; i += 1) if ((await me(instance, token)).status === 429) tooMany += 1;
      }
      // What each instance's timer does every second.
      await server.services.rateLimits.sync();
      await other.services.rateLimits.sync();
    }
    const admitted = 100 - tooMany;
    expect(admitted).toBeGreaterThanOrEqual(limit);
    // README: the overshoot is at most (instances − 1) × what one instance admits in two sync intervals.
    expect(admitted).toBeLessThanOrEqual(limit + (2 - 1) * 2 * perSync);
    await other.services.failures.flush();
    expect(await rateLimited(client.id)).toBe(tooMany);
    // Each instance counted its own refusals; the figures add them up.
    expect(await rateLimitedInUsage(client.id)).toBe(tooMany);
  });
});
