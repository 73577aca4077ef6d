import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../actor.js';
import { BadInput } from '../../errors.js';
import { testDialects } from '../../../../test/support/databases.js';
import { graphqlClient } from '../../../../test/support/graphql.js';
import { actorWith } from '../../../../test/support/oauth.js';
import { fieldsOf, rest } from '../../../../test/support/rest.js';
import { startTestServer, type TestServer } from '../../../../test/support/server.js';

const DAY_MS = 86_400_000;

/** A clock the test sets: uses are recorded "days ago" without waiting for them. */
function settableClock(start: Date) {
  let now = start.getTime();
  return {
    now: () => new Date(now),
    set(at: number) {
      now = at;
    },
  };
}

interface Listed {
  items: { id: string; lastUsedAt: string | null }[];
  total: number;
  nextCursor: string | null;
}

describe.each(testDialects())('stale client filters on %s', (dialect) => {
  const start = new Date();
  const clock = settableClock(start);
  let server: TestServer;
  let admin: { id: string; token: string };
  let neverUsed: string;
  let usedLongAgo: string;
  let usedRecently: string;
  let usedJustNow: string;

  /** Records a use of `id` as if it happened `days` ago, through the service's own coalesced recorder. */
  const useDaysAgo = (id: string, days: number) => {
    clock.set(start.getTime() - days * DAY_MS);
    server.services.clients.recordUse(id);
    clock.set(start.getTime());
  };

  beforeAll(async () => {
    server = await startTestServer(dialect, { services: { clock, lastUsedFlushMs: 60_000 } });
    admin = await actorWith(server, 'stale admin', 'Administrator');
    const create = async (name: string) => (await server.services.clients.create(SYSTEM_ACTOR, { name })).client.id;
    neverUsed = await create('never used');
    usedLongAgo = await create('used 120 days ago');
    usedRecently = await create('used 10 days ago');
    usedJustNow = await create('used just now, not yet written');
    useDaysAgo(usedLongAgo, 120);
    useDaysAgo(usedRecently, 10);
    await server.services.lastUsed.flush();
    // Pending (written every minute here): the list must still see it.
    useDaysAgo(usedJustNow, 0);
  });
  afterAll(async () => {
    await server?.close();
  });

  const ids = (page: Listed) => page.items.map((item) => item.id).sort();

  it('lists the clients never used, or not used for N days, through REST with a matching total', async () => {
    const unused90 = await rest<Listed>(server, 'GET', '/api/v1/clients?unusedFor=90d', admin);
    expect(unused90.status).toBe(200);
    expect(ids(unused90.body)).toEqual([neverUsed, usedLongAgo].sort());
    expect(unused90.body.total).toBe(2);

    const unused5 = await rest<Listed>(server, 'GET', '/api/v1/clients?unusedFor=5d', admin);
    expect(ids(unused5.body)).toEqual([neverUsed, usedLongAgo, usedRecently].sort());
    expect(unused5.body.total).toBe(3);

    const never = await rest<Listed>(server, 'GET', '/api/v1/clients?neverUsed=true', admin);
    expect(ids(never.body)).toEqual([neverUsed]);
    expect(never.body.total).toBe(1);
  });

  it('combines the filters with the others and pages through them with the lastUsedAt sort', async () => {
    await server.services.clients.setEnabled(SYSTEM_ACTOR, usedLongAgo, false);
    const disabledUnused = await rest<Listed>(server, 'GET', '/api/v1/clients?unusedFor=90d&status=disabled', admin);
    expect(ids(disabledUnused.body)).toEqual([usedLongAgo]);
    await server.services.clients.setEnabled(SYSTEM_ACTOR, usedLongAgo, true);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `/api/v1/clients?unusedFor=5d&sort=-lastUsedAt&limit=1${cursor === null ? '' : `&cursor=${cursor}`}`;
      const page: Listed = (await rest<Listed>(server, 'GET', query, admin)).body;
      expect(page.total).toBe(3);
      seen.push(...page.items.map((item) => item.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(seen.slice(0, 2)).toEqual([usedRecently, usedLongAgo]);
    expect(seen.sort()).toEqual([neverUsed, usedLongAgo, usedRecently].sort());
  });

  it('refuses a malformed duration with a 400 naming the query parameter', async () => {
    for (const bad of ['90', '0d', '90h', '-1d', '123456d', 'ninety']) {
      const answer = await rest(server, 'GET', `/api/v1/clients?unusedFor=${encodeURIComponent(bad)}`, admin);
      expect(answer.status, bad).toBe(400);
      expect(fieldsOf(answer), bad).toEqual(['unusedFor']);
    }
    const notBoolean = await rest(server, 'GET', '/api/v1/clients?neverUsed=maybe', admin);
    expect(notBoolean.status).toBe(400);
    expect(fieldsOf(notBoolean)).toEqual(['neverUsed']);
  });

  it('offers the same filters as GraphQL filter arguments, naming a bad one as sent', async () => {
    const ask = graphqlClient(server, admin.token);
    const query = 'query Stale($filter: ApiClientFilter) { apiClients(first: 50, filter: $filter) { totalCount edges { node { id lastUsedAt } } } }';
    type Answer = { apiClients: { totalCount: number; edges: { node: { id: string } }[] } };
    const unused = await ask<Answer>(query, { filter: { unusedFor: '90d' } });
    expect(unused.errors).toEqual([]);
    expect(unused.data!.apiClients.edges.map((edge) => edge.node.id).sort()).toEqual([neverUsed, usedLongAgo].sort());
    expect(unused.data!.apiClients.totalCount).toBe(2);
    const never = await ask<Answer>(query, { filter: { neverUsed: true } });
    expect(never.data!.apiClients.edges.map((edge) => edge.node.id)).toEqual([neverUsed]);

    const bad = await ask(query, { filter: { unusedFor: '90 days' } });
    expect(bad.errors[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    expect(bad.errors[0]?.message).toContain('filter.unusedFor');
  });

  it('selects every match across pages and disables them in bulk: the stale ones stop, the used ones keep working', async () => {
    const matching: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Listed = await server.services.clients.list(SYSTEM_ACTOR, { unusedFor: '90d', limit: 1, cursor });
      matching.push(...page.items.map((item) => item.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    const result = await rest<{ changed: string[] }>(server, 'POST', '/api/v1/clients/bulk', admin, { action: 'disable', ids: matching });
    expect(result.status).toBe(200);
    expect(result.body.changed.sort()).toEqual([neverUsed, usedLongAgo].sort());
    expect((await server.services.clients.get(SYSTEM_ACTOR, usedRecently)).enabled).toBe(true);
    expect((await server.services.clients.get(SYSTEM_ACTOR, usedJustNow)).enabled).toBe(true);
    const audit = await server.services.audit.list(SYSTEM_ACTOR, { targetId: neverUsed });
    expect(audit.items.map((event) => event.action)).toContain('client.disabled');
  });

  it('names the field in the service’s own words for the CLI', async () => {
    const error = await server.services.clients.list(SYSTEM_ACTOR, { unusedFor: '3w' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BadInput);
    expect((error as BadInput).problems.map((problem) => problem.field)).toEqual(['unusedFor']);
  });
});
