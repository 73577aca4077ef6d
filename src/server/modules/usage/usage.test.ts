import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../actor.js';
import { openDatabase } from '../../db/database.js';
import { pruneExpiredRows } from '../../housekeeping.js';
import { DEFAULT_THROTTLE_LIMITS } from '../../throttling/throttle.service.js';
import type { CreateClientInput } from '../clients/clients.service.js';
import type { ClientUsage, FleetUsage, RefusalList, RefusalReason, UsageBucket } from '../../../shared/schemas/usage.js';
import { movableClock } from '../../../../test/support/clock.js';
import { testDialects } from '../../../../test/support/databases.js';
import { graphqlClient } from '../../../../test/support/graphql.js';
import { accessToken, actorWith, builtInRoleIds, type ClientCredentials } from '../../../../test/support/oauth.js';
import { fieldsOf, rest } from '../../../../test/support/rest.js';
import { startServerProcess } from '../../../../test/support/processes.js';
import { startTestServer, type TestServer } from '../../../../test/support/server.js';
import { createUsageRecorder, NO_CLIENT_ID, RECENT_REFUSALS_KEPT } from './usage.recorder.js';
import { createUsageRepository } from './usage.repository.js';

type Totals = { tokens: number; rest: number; graphql: number; refusals: Record<string, number> };

/** Every bucket added up. */
function totalsOf(buckets: readonly UsageBucket[]): Totals {
  const totals: Totals = { tokens: 0, rest: 0, graphql: 0, refusals: {} };
  for (const bucket of buckets) {
    totals.tokens += bucket.tokens;
    totals.rest += bucket.rest;
    totals.graphql += bucket.graphql;
    for (const [reason, count] of Object.entries(bucket.refusals)) totals.refusals[reason] = (totals.refusals[reason] ?? 0) + (count ?? 0);
  }
  return totals;
}

/** Usage counted per client and hour, written coalesced, read back exactly through REST. */
describe.each(testDialects())('usage figures on %s', (dialect) => {
  let server: TestServer;
  /** A second instance on the same database, with its own recorder: both count into the same rows. */
  let other: TestServer;
  let admin: { id: string; token: string };
  let viewerRole: string;
  /** Time both instances see: a test moves it forward (a secret's expiry, a fresh rate-limit minute) instead of waiting. */
  const clock = movableClock();

  beforeAll(async () => {
    server = await startTestServer(dialect, { services: { clock } });
    const { config, location } = server.database;
    const handle = openDatabase(config, dialect === 'postgres' ? { schema: location } : {});
    other = await startTestServer(dialect, { database: { ...server.database, handle }, services: { clock } });
    admin = await actorWith(server, 'usage admin', 'Administrator');
    viewerRole = (await builtInRoleIds(server)).viewer;
  });
  afterAll(async () => {
    await other?.close();
    await other?.database.handle.close();
    await server?.close();
  });

  const create = async (name: string, settings: Pick<CreateClientInput, 'allowedCidrs' | 'secretExpiresAt' | 'rateLimit'> = {}): Promise<ClientCredentials> => {
    const { client, clientSecret } = await server.services.clients.create(SYSTEM_ACTOR, { name, roleId: viewerRole, ...settings });
    return { id: client.id, secret: clientSecret };
  };
  const instances = () => [server, other];
  const flushAll = () => Promise.all(instances().map((instance) => instance.services.usageRecorder.flush()));
  const usageOf = async (id: string, query = '') => {
    const answer = await rest<ClientUsage>(server, 'GET', `/api/v1/clients/${id}/usage${query}`, admin);
    expect(answer.status, answer.text).toBe(200);
    return answer.body;
  };
  const tokenRequest = (target: TestServer, client: ClientCredentials) =>
    fetch(`${target.url}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.id, client_secret: client.secret }),
    }).then((response) => response.status);

  it('counts every token, REST and GraphQL request exactly under concurrent load, on every instance into the same rows', async () => {
    const client = await create('Busy');
    const targets = instances();
    const tokens = await Promise.all(targets.map((target) => accessToken(target, client)));
    const perInstance = { tokens: 9, rest: 40, graphql: 15 };
    const load = targets.flatMap((target, index) => [
      ...Array.from({ length: perInstance.tokens }, () => tokenRequest(target, client).then((status) => expect(status).toBe(200))),
      ...Array.from({ length: perInstance.rest }, () =>
        fetch(`${target.url}/api/v1/me`, { headers: { authorization: `Bearer ${tokens[index]}` } }).then((response) => expect(response.status).toBe(200)),
      ),
      ...Array.from({ length: perInstance.graphql }, () =>
        graphqlClient(target, tokens[index]!)('{ me { id } }').then((answer) => expect(answer.status).toBe(200)),
      ),
    ]);
    // Flushes while the load runs: a count taken during a write lands in the next one.
    const flushes = Array.from({ length: 5 }, (_, i) => new Promise((resolve) => setTimeout(resolve, i * 20)).then(flushAll));
    await Promise.all([...load, ...flushes]);
    await flushAll();

    const usage = await usageOf(client.id);
    expect(usage.granularity).toBe('hour');
    expect(totalsOf(usage.buckets)).toEqual({
      tokens: targets.length * (perInstance.tokens + 1),
      rest: targets.length * perInstance.rest,
      graphql: targets.length * perInstance.graphql,
      refusals: {},
    });
    // Every client shows its requests of the last 7 days.
    const shown = await rest<{ requests7d: number }>(server, 'GET', `/api/v1/clients/${client.id}`, admin);
    expect(shown.body.requests7d).toBe(targets.length * (perInstance.rest + perInstance.graphql));
  });

  it('counts refusals by reason, keeps the latest with time and address, and counts unknown ids in the totals only', async () => {
    const client = await create('Refused');
    const token = await accessToken(server, client);
    const before = totalsOf((await rest<FleetUsage>(server, 'GET', '/api/v1/usage', admin)).body.buckets);

    expect(await tokenRequest(server, { id: client.id, secret: `${client.secret}x` })).toBe(401);
    // An authenticated client refused by a permission check: REST 403 and a GraphQL FORBIDDEN.
    expect((await rest(server, 'POST', '/api/v1/clients', { token }, { name: 'not allowed' })).status).toBe(403);
    const forbidden = await graphqlClient(server, token)('mutation { deleteApiClients(ids: ["00000000-0000-4000-8000-000000000000"]) { notFound } }');
    expect(forbidden.errors[0]?.extensions?.['code']).toBe('FORBIDDEN');
    expect(await tokenRequest(server, { id: '6f1c2f8e-0000-4000-8000-000000000001', secret: 'koios_cs_unknown' })).toBe(401);
    // Every door reports through the one failure recorder (as per-client rate limits do).
    server.services.failures.record(client.id, 'rate_limited', '192.0.2.7');
    expect((await rest(server, 'PATCH', `/api/v1/clients/${client.id}`, admin, { enabled: false })).status).toBe(200);
    expect((await rest(server, 'GET', '/api/v1/me', { token })).status).toBe(401);

    const usage = await usageOf(client.id);
    expect(totalsOf(usage.buckets).refusals).toEqual({ bad_secret: 1, insufficient_scope: 2, rate_limited: 1, disabled: 1 });

    const refusals = await rest<RefusalList>(server, 'GET', `/api/v1/clients/${client.id}/refusals?limit=3`, admin);
    expect(refusals.status).toBe(200);
    expect(refusals.body.items.map((item) => item.reason)).toEqual(['disabled', 'rate_limited', 'insufficient_scope']);
    expect(refusals.body.items[1]!.address).toBe('192.0.2.7');
    expect(refusals.body.items[0]!.address).toBe('127.0.0.1');
    expect(Date.parse(refusals.body.items[0]!.at)).toBeGreaterThanOrEqual(Date.parse(refusals.body.items[2]!.at));

    const fleet = await rest<FleetUsage>(server, 'GET', '/api/v1/usage', admin);
    expect(fleet.status).toBe(200);
    const after = totalsOf(fleet.body.buckets);
    expect((after.refusals['unknown_client'] ?? 0) - (before.refusals['unknown_client'] ?? 0)).toBe(1);
    expect((after.refusals['insufficient_scope'] ?? 0) - (before.refusals['insufficient_scope'] ?? 0)).toBe(2);
    expect(fleet.body.top.find((entry) => entry.client.id === client.id)).toEqual({ client: { id: client.id, name: 'Refused' }, requests: 2, refusals: 5 });
    // The unknown id has no row of its own to show.
    expect(fleet.body.top.some((entry) => entry.client.id === NO_CLIENT_ID)).toBe(false);
  });

  it('lists the clients refused more in the range than in the span before it, busy or not, through REST and GraphQL', async () => {
    // A day of its own, long past, so that no other test's counts fall in it or the day before.
    const range = { from: '2026-02-02T00:00:00Z', to: '2026-02-03T00:00:00Z' };
    const busy = await Promise.all(Array.from({ length: 10 }, (_, index) => create(`Rising busy ${index}`)));
    const quiet = await create('Rising quiet');
    const falling = await create('Falling');
    const steady = await create('Steady');
    const edge = await create('Rising at the edges');
    const at = (hour: string, client: ClientCredentials, kind: string, count: number) => ({
      client_id: client.id,
      hour: `2026-${hour}:00:00.000Z`,
      kind,
      count,
    });
    await createUsageRepository(server.database.handle.db).addCounts([
      // Ten busy clients fill `top`; one of them is refused more now, and their requests are no refusals.
      ...busy.flatMap((client, index) => [at('02-01T10', client, 'rest', 50), at('02-02T10', client, 'rest', 100 + index)]),
      at('02-02T11', busy[3]!, 'graphql', 7),
      at('02-02T12', busy[3]!, 'throttled', 2),
      // No request at all, its every call refused: the client an admin must see first.
      at('02-01T03', quiet, 'bad_secret', 1),
      at('02-02T05', quiet, 'bad_secret', 3),
      at('02-02T23', quiet, 'disabled', 2),
      at('02-01T04', falling, 'expired', 4),
      at('02-02T04', falling, 'expired', 1),
      at('02-01T06', steady, 'address_not_allowed', 2),
      at('02-02T06', steady, 'address_not_allowed', 2),
      // The range's first hour counts; the hour before the span before and the hour after the range do not.
      at('02-02T00', edge, 'rate_limited', 1),
      at('01-31T23', edge, 'rate_limited', 7),
      at('02-03T00', edge, 'rate_limited', 9),
    ]);
    const expected = [
      { client: { id: quiet.id, name: 'Rising quiet' }, refusals: 5, previousRefusals: 1 },
      { client: { id: busy[3]!.id, name: 'Rising busy 3' }, refusals: 2, previousRefusals: 0 },
      { client: { id: edge.id, name: 'Rising at the edges' }, refusals: 1, previousRefusals: 0 },
    ];
    const fleet = await rest<FleetUsage>(server, 'GET', `/api/v1/usage?from=${range.from}&to=${range.to}`, admin);
    expect(fleet.status, fleet.text).toBe(200);
    expect(fleet.body.top).toHaveLength(10);
    expect(fleet.body.top.some((entry) => entry.client.id === quiet.id)).toBe(false);
    expect(fleet.body.risingRefusals).toEqual(expected);
    expect(expected.map(({ client }) => client.id)).not.toContain(falling.id);
    expect(expected.map(({ client }) => client.id)).not.toContain(steady.id);

    const answer = await graphqlClient(
      server,
      admin.token,
    )<{ usage: Pick<FleetUsage, 'risingRefusals'> }>(
      `{ usage(from: "${range.from}", to: "${range.to}") { risingRefusals { client { id name } refusals previousRefusals } } }`,
    );
    expect(answer.errors).toEqual([]);
    expect(answer.data?.usage.risingRefusals).toEqual(expected);
  });

  it('counts each refusal reason where it happens, in the client’s figures and its latest refusals', async () => {
    const me = (token: string) => fetch(`${server.url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } }).then((response) => response.status);

    const refused = await create('Refused four ways');
    expect(await tokenRequest(server, { id: refused.id, secret: `${refused.secret}x` })).toBe(401);
    const token = await accessToken(server, refused);
    expect((await rest(server, 'POST', '/api/v1/clients', { token }, { name: 'not allowed' })).status).toBe(403);
    const revocation = await fetch(`${server.url}/oauth/revoke`, {
      method: 'POST',
      body: new URLSearchParams({ token, client_id: refused.id, client_secret: refused.secret }),
    });
    expect(revocation.status).toBe(200);
    expect(await me(token)).toBe(401);
    const stale = await accessToken(server, refused);
    await server.services.clients.regenerateSecret(SYSTEM_ACTOR, refused.id);
    expect(await me(stale)).toBe(401);

    const disabled = await create('Refused while disabled');
    await server.services.clients.setEnabled(SYSTEM_ACTOR, disabled.id, false);
    expect(await tokenRequest(server, disabled)).toBe(401);

    const expiring = await create('Refused once expired', { secretExpiresAt: new Date(clock.now().getTime() + 60_000).toISOString() });
    clock.advance(61_000);
    expect(await tokenRequest(server, expiring)).toBe(401);

    const fenced = await create('Refused from here', { allowedCidrs: ['192.0.2.0/24'] });
    expect(await tokenRequest(server, fenced)).toBe(401);

    const guessed = await create('Refused after guesses');
    const guesses: number[] = [];
    for (let i = 0; i <= DEFAULT_THROTTLE_LIMITS.perClient; i++) guesses.push(await tokenRequest(server, { id: guessed.id, secret: 'koios_cs_guess' }));
    expect(guesses.at(-1)).toBe(429);

    const limited = await create('Refused over its limit', { rateLimit: { tokensPerMinute: 1 } });
    // Just after a minute starts, so that the three requests fall in one window.
    clock.advance(60_000 - (clock.now().getTime() % 60_000) + 100);
    expect([await tokenRequest(server, limited), await tokenRequest(server, limited), await tokenRequest(server, limited)]).toEqual([200, 429, 429]);

    // Every pinned reason but unknown_client, which names no client (counted in the totals, above).
    const expected: [ClientCredentials, Partial<Record<RefusalReason, number>>][] = [
      [refused, { bad_secret: 1, insufficient_scope: 1, revoked_token: 1, stale_secret: 1 }],
      [disabled, { disabled: 1 }],
      [expiring, { expired: 1 }],
      [fenced, { address_not_allowed: 1 }],
      [guessed, { bad_secret: DEFAULT_THROTTLE_LIMITS.perClient, throttled: 1 }],
      [limited, { rate_limited: 2 }],
    ];
    for (const [client, refusals] of expected) {
      expect(totalsOf((await usageOf(client.id)).buckets).refusals, JSON.stringify(refusals)).toEqual(refusals);
      const latest = await rest<RefusalList>(server, 'GET', `/api/v1/clients/${client.id}/refusals?limit=100`, admin);
      const reasons = Object.entries(refusals).flatMap(([reason, count]) => Array.from({ length: count }, () => reason));
      expect(latest.body.items.map((item) => item.reason).sort()).toEqual(reasons.sort());
      expect(latest.body.items.every((item) => item.address === '127.0.0.1')).toBe(true);
    }
    const covered = new Set(expected.flatMap(([, refusals]) => Object.keys(refusals)));
    expect(
      ['bad_secret', 'disabled', 'expired', 'address_not_allowed', 'throttled', 'rate_limited', 'revoked_token', 'stale_secret', 'insufficient_scope'].filter(
        (reason) => !covered.has(reason),
      ),
    ).toEqual([]);
  });

  it('shows on a first page of clients each one’s requests of the last 7 days, written and still pending alike', async () => {
    const client = await create('Listed with its requests');
    for (let i = 0; i < 3; i++) server.services.usageRecorder.requested(client.id, 'rest');
    await server.services.usageRecorder.flush();
    // Written by another instance (or an hour that has left the window): only the 7 days count.
    await sql`insert into client_usage (client_id, hour, kind, count) values (${client.id}, '2000-01-01T00:00:00.000Z', 'rest', 100)`.execute(
      server.database.handle.db,
    );
    server.services.usageRecorder.requested(client.id, 'graphql');
    server.services.usageRecorder.requested(client.id, 'graphql');
    const page = await rest<{ items: { id: string; requests7d: number }[] }>(server, 'GET', '/api/v1/clients?limit=5', admin);
    expect(page.status, page.text).toBe(200);
    expect(page.body.items.find((item) => item.id === client.id)?.requests7d).toBe(5);
    const shown = await rest<{ requests7d: number }>(server, 'GET', `/api/v1/clients/${client.id}`, admin);
    expect(shown.body.requests7d).toBe(5);
  });

  it('sorts the client list by the last 7 days’ requests, page after page, through REST and GraphQL', async () => {
    const ranked = await Promise.all([3, 0, 5, 1].map((requests, index) => create(`Ranked ${index}`).then((client) => ({ client, requests }))));
    for (const { client, requests } of ranked) {
      // Counted straight into the recorder: the sort must see what is still pending.
      for (let i = 0; i < requests; i++) server.services.usageRecorder.requested(client.id, i % 2 === 0 ? 'rest' : 'graphql');
    }
    const expected = [...ranked].sort((a, b) => b.requests - a.requests || (a.client.id < b.client.id ? 1 : -1)).map(({ client }) => client.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const path: string = `/api/v1/clients?q=Ranked&sort=-requests7d&limit=1${cursor === null ? '' : `&cursor=${cursor}`}`;
      const page = await rest<{ items: { id: string; requests7d: number }[]; nextCursor: string | null }>(server, 'GET', path, admin);
      expect(page.status, page.text).toBe(200);
      seen.push(...page.body.items.map((item) => item.id));
      cursor = page.body.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual(expected);
    const ascending = await rest<{ items: { requests7d: number }[] }>(server, 'GET', '/api/v1/clients?q=Ranked&sort=requests7d', admin);
    expect(ascending.body.items.map((item) => item.requests7d)).toEqual([0, 1, 3, 5]);

    const ask = graphqlClient(server, admin.token);
    const first = await ask<{ apiClients: { edges: { cursor: string; node: { requests7d: number } }[] } }>(
      '{ apiClients(first: 2, filter: { search: "Ranked" }, orderBy: REQUESTS_7D_DESC) { edges { cursor node { requests7d } } } }',
    );
    expect(first.data?.apiClients.edges.map((edge) => edge.node.requests7d)).toEqual([5, 3]);
    const after = await ask<{ apiClients: { edges: { node: { requests7d: number } }[] } }>(
      'query Next($after: String) { apiClients(first: 5, after: $after, filter: { search: "Ranked" }, orderBy: REQUESTS_7D_DESC) { edges { node { requests7d } } } }',
      { after: first.data!.apiClients.edges[1]!.cursor },
    );
    expect(after.data?.apiClients.edges.map((edge) => edge.node.requests7d)).toEqual([1, 0]);
  });

  it('answers the same figures and refusals through GraphQL as through REST', async () => {
    const client = await create('Asked twice');
    const token = await accessToken(server, client);
    expect((await rest(server, 'GET', '/api/v1/roles', { token })).status).toBe(200);
    expect((await rest(server, 'POST', '/api/v1/roles', { token }, { name: 'nope', permissions: [] })).status).toBe(403);
    const range = 'from: "2026-01-01T00:00:00Z", to: "2099-01-01T00:00:00Z", granularity: DAY';
    const restRange = '?from=2026-01-01T00:00:00Z&to=2099-01-01T00:00:00Z&granularity=day';
    const tooLong = await rest(server, 'GET', `/api/v1/clients/${client.id}/usage${restRange}`, admin);
    expect(fieldsOf(tooLong)).toEqual(['from']);
    const ask = graphqlClient(server, admin.token);
    const answer = await ask<{
      apiClient: { requests7d: number; usage: { granularity: string; buckets: UsageBucket[] }; recentRefusals: { reason: string; address: string }[] };
    }>(
      `query One($id: ID!) { apiClient(id: $id) { requests7d
        usage(granularity: HOUR) { granularity buckets { start tokens rest graphql refusals { insufficient_scope bad_secret } } }
        recentRefusals(limit: 5) { at reason address } } }`,
      { id: client.id },
    );
    expect(answer.errors).toEqual([]);
    const restUsage = await usageOf(client.id);
    expect(answer.data?.apiClient.usage.granularity).toBe('HOUR');
    expect(answer.data?.apiClient.usage.buckets.map((bucket) => bucket.start)).toEqual(restUsage.buckets.map((bucket) => bucket.start));
    expect(
      totalsOf(
        answer.data!.apiClient.usage.buckets.map((bucket) => ({ ...bucket, refusals: { insufficient_scope: bucket.refusals.insufficient_scope ?? 0 } })),
      ),
    ).toEqual({
      ...totalsOf(restUsage.buckets),
      refusals: { insufficient_scope: 1 },
    });
    expect(answer.data?.apiClient.requests7d).toBe(2);
    expect(answer.data?.apiClient.recentRefusals).toEqual([{ at: expect.any(String), reason: 'INSUFFICIENT_SCOPE', address: '127.0.0.1' }]);

    const fleet = await ask<{ usage: { granularity: string; buckets: unknown[]; top: { client: { id: string; name: string }; requests: number }[] } }>(
      `{ usage(${range.replace('2099-01-01', '2026-12-31')}) { granularity buckets { start } top { client { id name } requests refusals } } }`,
    );
    expect(fleet.errors).toEqual([]);
    expect(fleet.data?.usage.granularity).toBe('DAY');
    const bad = await ask(`{ usage(${range}) { granularity } }`);
    expect(bad.errors[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    expect(bad.errors[0]?.message).toContain('from');
  });

  it('answers every bucket of the range, empty ones as zeros, by hour or by UTC day', async () => {
    const client = await create('Quiet');
    const byDay = await usageOf(client.id, '?from=2026-01-01&to=2026-01-04T00:00:00Z&granularity=day');
    expect(byDay).toEqual({
      granularity: 'day',
      buckets: ['2026-01-01', '2026-01-02', '2026-01-03'].map((day) => ({ start: `${day}T00:00:00.000Z`, tokens: 0, rest: 0, graphql: 0, refusals: {} })),
    });
    const byHour = await usageOf(client.id, '?from=2026-01-01T10:30:00Z&to=2026-01-01T13:00:00%2B01:00');
    expect(byHour.buckets.map((bucket) => bucket.start)).toEqual(['2026-01-01T10:00:00.000Z', '2026-01-01T11:00:00.000Z']);
    // Without a range: the last 24 hours, the current one included.
    expect((await usageOf(client.id)).buckets).toHaveLength(24);
  });

  it('refuses a bad range naming the field, an unknown client with 404, and a caller without clients:read with 403', async () => {
    const client = await create('Ranged');
    const bad = async (path: string) => {
      const answer = await rest(server, 'GET', path, admin);
      expect(answer.status, answer.text).toBe(400);
      return fieldsOf(answer);
    };
    expect(await bad(`/api/v1/clients/${client.id}/usage?from=yesterday`)).toEqual(['from']);
    expect(await bad(`/api/v1/clients/${client.id}/usage?to=2026-13-45T00:00:00Z`)).toEqual(['to']);
    expect(await bad(`/api/v1/clients/${client.id}/usage?granularity=week`)).toEqual(['granularity']);
    expect(await bad('/api/v1/usage?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z')).toEqual(['from']);
    expect(await bad('/api/v1/usage?from=2025-01-01T00:00:00Z&to=2026-01-01T00:00:00Z&granularity=hour')).toEqual(['from']);
    expect(await bad(`/api/v1/clients/${client.id}/refusals?limit=0`)).toEqual(['limit']);
    expect((await rest(server, 'GET', '/api/v1/clients/6f1c2f8e-0000-4000-8000-000000000002/usage', admin)).status).toBe(404);
    expect((await rest(server, 'GET', '/api/v1/clients/6f1c2f8e-0000-4000-8000-000000000002/refusals', admin)).status).toBe(404);
    const nobody = await actorWith(server, 'no permissions', []);
    expect((await rest(server, 'GET', '/api/v1/usage', { token: nobody.token })).status).toBe(403);
    expect((await rest(server, 'GET', `/api/v1/clients/${client.id}/usage`, { token: nobody.token })).status).toBe(403);
    expect((await rest(server, 'GET', `/api/v1/clients/${client.id}/refusals`, { token: nobody.token })).status).toBe(403);
    const denied = await graphqlClient(server, nobody.token)('{ usage { granularity } }');
    expect(denied.data?.['usage'] ?? null).toBeNull();
    expect(denied.errors.map((error) => error.extensions?.['code'])).toEqual(['FORBIDDEN']);
  });

  it('keeps the counts of a failed write for the next one, and each client’s newest refusals only', async () => {
    const client = await create('Retried');
    const { db } = server.database.handle;
    const recorder = createUsageRecorder(db, server.services.clock, undefined, 3_600_000);
    try {
      for (let i = 0; i < RECENT_REFUSALS_KEPT + 30; i++) recorder.refused(client.id, 'bad_secret', `192.0.2.${i % 250}`);
      recorder.requested(client.id, 'rest');
      // The table is away: the write fails as a lost database would, and nothing is dropped.
      await sql`alter table client_usage rename to client_usage_away`.execute(db);
      try {
        await recorder.flush();
      } finally {
        await sql`alter table client_usage_away rename to client_usage`.execute(db);
      }
      recorder.requested(client.id, 'rest');
      await recorder.flush();
    } finally {
      await recorder.stop();
    }
    expect(totalsOf((await usageOf(client.id)).buckets)).toMatchObject({ rest: 2, refusals: { bad_secret: RECENT_REFUSALS_KEPT + 30 } });
    const kept = await db
      .selectFrom('client_refusals')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('client_id', '=', client.id)
      .executeTakeFirstOrThrow();
    expect(Number(kept.n)).toBe(RECENT_REFUSALS_KEPT);
    const newest = await rest<RefusalList>(server, 'GET', `/api/v1/clients/${client.id}/refusals`, admin);
    expect(newest.body.items).toHaveLength(20);
    expect(newest.body.items[0]!.address).toBe(`192.0.2.${(RECENT_REFUSALS_KEPT + 29) % 250}`);
  });

  it.runIf(dialect === 'postgres')(
    'adds its counts in one order, so that another instance adding to the same rows meanwhile never deadlocks with it',
    async () => {
      const [first, second] = ['6f1c2f8e-0000-4000-8000-0000000000c1', '6f1c2f8e-0000-4000-8000-0000000000c2'];
      const { db } = server.database.handle;
      const hour = `${server.services.clock.now().toISOString().slice(0, 13)}:00:00.000Z`;
      const row = (clientId: string) => ({ client_id: clientId, hour, kind: 'rest', count: 1 });
      const recorder = createUsageRecorder(db, server.services.clock, undefined, 3_600_000);
      // Counted here in the other order than the other instance adds them in below.
      recorder.requested(second, 'rest');
      recorder.requested(first, 'rest');
      let flushed: Promise<void> | undefined;
      try {
        await db.transaction().execute(async (trx) => {
          const otherInstance = createUsageRepository(trx);
          await otherInstance.addCounts([row(first)]);
          const pid = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx)).rows[0]!.pid;
          flushed = recorder.flush();
          // The flush waits for this transaction's row before this transaction goes on.
          for (;;) {
            const waiting = await sql<{ n: number | string }>`select count(*) as n from pg_stat_activity where ${pid} = any(pg_blocking_pids(pid))`.execute(db);
            if (Number(waiting.rows[0]!.n) > 0) break;
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          await otherInstance.addCounts([row(second)]);
        });
        await flushed;
        // Written by that one flush, not put back for the next after a deadlock.
        const counts = await db
          .selectFrom('client_usage')
          .select(['client_id', 'count'])
          .where('client_id', 'in', [first, second])
          .orderBy('client_id')
          .execute();
        expect(counts.map((entry) => [entry.client_id, Number(entry.count)])).toEqual([
          [first, 2],
          [second, 2],
        ]);
      } finally {
        await recorder.stop();
      }
    },
  );

  it('writes many clients’ counts and latest refusals in three statements, however many requests they made', async () => {
    const clients = await Promise.all(Array.from({ length: 30 }, (_, index) => create(`Coalesced ${index}`)));
    const { db } = server.database.handle;
    // Each already holds as many refusals as are kept, all older than the new ones.
    await createUsageRepository(db).insertRefusals(
      clients.flatMap((client) =>
        Array.from({ length: RECENT_REFUSALS_KEPT }, (_, index) => ({
          client_id: client.id,
          at: `2026-01-01T00:00:${String(index % 60).padStart(2, '0')}.000Z`,
          reason: 'bad_secret',
          address: '192.0.2.1',
        })),
      ),
    );
    const statements: string[] = [];
    const counted = db.withPlugin({
      transformQuery: (args) => {
        statements.push(args.node.kind);
        return args.node;
      },
      transformResult: async (args) => args.result,
    });
    const recorder = createUsageRecorder(counted, server.services.clock, undefined, 3_600_000);
    try {
      for (const client of clients) {
        recorder.tokenIssued(client.id);
        for (let i = 0; i < 40; i++) recorder.requested(client.id, i % 2 === 0 ? 'rest' : 'graphql');
        for (let i = 0; i < 5; i++) recorder.refused(client.id, 'expired', '198.51.100.7');
      }
      await recorder.flush();
    } finally {
      await recorder.stop();
    }
    // The counters' additive upsert, the new refusals, and one prune for every client.
    expect(statements).toEqual(['InsertQueryNode', 'InsertQueryNode', 'DeleteQueryNode']);
    expect(totalsOf((await usageOf(clients[7]!.id)).buckets)).toEqual({ tokens: 1, rest: 20, graphql: 20, refusals: { expired: 5 } });
    const kept = await db
      .selectFrom('client_refusals')
      .select(['client_id', 'address', (eb) => eb.fn.countAll<number | string>().as('n')])
      .where(
        'client_id',
        'in',
        clients.map((client) => client.id),
      )
      .groupBy(['client_id', 'address'])
      .execute();
    // Each client keeps its newest hundred: its five new refusals and 95 of the old.
    expect(kept.map((row) => [row.address, Number(row.n)]).sort()).toEqual(
      clients
        .flatMap(() => [
          ['192.0.2.1', RECENT_REFUSALS_KEPT - 5],
          ['198.51.100.7', 5],
        ])
        .sort(),
    );
  });

  it.each([
    [90, '6f1c2f8e-0000-4000-8000-0000000000aa'],
    [30, '6f1c2f8e-0000-4000-8000-0000000000ab'],
  ])('prunes counters and refusals older than a retention of %i days (KOIOS_USAGE_RETENTION_DAYS)', async (days, id) => {
    const { db } = server.database.handle;
    const repository = createUsageRepository(db);
    const now = server.services.clock.now().getTime();
    const hour = (daysAgo: number) => new Date(now - daysAgo * 86_400_000 - (now % 3_600_000)).toISOString();
    await repository.addCounts([
      { client_id: id, hour: hour(days + 1), kind: 'rest', count: 5 },
      { client_id: id, hour: hour(days - 1), kind: 'rest', count: 7 },
    ]);
    await repository.insertRefusals([
      { client_id: id, at: hour(days + 1), reason: 'disabled', address: '192.0.2.1' },
      { client_id: id, at: hour(days - 1), reason: 'disabled', address: '192.0.2.2' },
    ]);
    await pruneExpiredRows({ db, clock: server.services.clock, usageRetentionDays: days });
    expect(await repository.countsBetween(id, hour(100), hour(0))).toEqual([{ hour: hour(days - 1), kind: 'rest', count: 7 }]);
    expect((await repository.recentRefusals(id, 10)).map((row) => row.address)).toEqual(['192.0.2.2']);
  });

  it('writes the pending counts of a real server process before exiting 0 on SIGTERM', async () => {
    const client = await create('Counted at shutdown');
    const child = await startServerProcess({ env: server.database.env });
    try {
      const token = await accessToken(child.url, client);
      for (let i = 0; i < 3; i++) expect((await fetch(`${child.url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    } finally {
      expect(await child.stop('SIGTERM'), child.output()).toBe(0);
    }
    // Written at shutdown, long before the 5-second flush interval.
    expect(totalsOf((await usageOf(client.id)).buckets)).toMatchObject({ tokens: 1, rest: 3 });
  });
});
