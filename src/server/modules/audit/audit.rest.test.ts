import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../actor.js';
import { testDialects } from '../../../../test/support/databases.js';
import { actorWith } from '../../../../test/support/oauth.js';
import { fieldsOf, rest, unique, userWith } from '../../../../test/support/rest.js';
import { startTestServer, type TestServer } from '../../../../test/support/server.js';
import type { AuditEvent } from './audit.service.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

interface AuditPage {
  items: AuditEvent[];
  nextCursor: string | null;
}

describe.each(testDialects())('REST /api/v1/audit-events on %s', (dialect) => {
  let server: TestServer;
  let auditor: { id: string; token: string };
  let events: (query?: string) => Promise<AuditPage>;

  beforeAll(async () => {
    server = await startTestServer(dialect);
    auditor = await actorWith(server, 'auditor', 'Administrator');
    events = async (query = '') => {
      const answer = await rest<AuditPage>(server, 'GET', `/api/v1/audit-events${query === '' ? '' : `?${query}`}`, { token: auditor.token });
      expect(answer.status, answer.text).toBe(200);
      expect(Object.keys(answer.body).sort()).toEqual(['items', 'nextCursor']);
      return answer.body;
    };
  });
  afterAll(async () => server?.close());

  it('lists what a caller did, newest first, with who, what, when and the details', async () => {
    const created = await rest<{ client: { id: string } }>(server, 'POST', '/api/v1/clients', { token: auditor.token }, { name: 'audited' });
    const id = created.body.client.id;
    await rest(server, 'PATCH', `/api/v1/clients/${id}`, { token: auditor.token }, { name: 'audited again' });
    const { items } = await events(`targetId=${id}`);
    expect(items.map((event) => event.action)).toEqual(['client.renamed', 'client.created']);
    expect(items[0]).toEqual({
      id: expect.stringMatching(/^\d+$/),
      occurredAt: expect.stringMatching(ISO),
      actor: { type: 'client', id: auditor.id, name: 'auditor' },
      action: 'client.renamed',
      target: { type: 'client', id, name: 'audited again' },
      details: { from: 'audited', to: 'audited again' },
    });
    expect(Number(items[0]!.id)).toBeGreaterThan(Number(items[1]!.id));
    expect(items[0]!.occurredAt >= items[1]!.occurredAt).toBe(true);
  });

  it('records a console user as the actor of what they did', async () => {
    const { user, session } = await userWith(server, 'Administrator');
    const role = await rest<{ id: string }>(server, 'POST', '/api/v1/roles', { session }, { name: `by a user ${unique()}` });
    expect(role.status, role.text).toBe(201);
    const [event] = (await events(`targetId=${role.body.id}`)).items;
    expect(event).toMatchObject({ action: 'role.created', actor: { type: 'user', id: user.id, name: user.email } });
  });

  it('walks every event exactly once through nextCursor, newest first, and ends with null', async () => {
    for (let i = 0; i < 5; i += 1) await server.services.roles.create(SYSTEM_ACTOR, { name: `paged ${unique()}`, permissions: [] });
    const everything = await server.services.audit.list(SYSTEM_ACTOR, { limit: 200 });
    expect(everything.nextCursor).toBeNull();
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const page: AuditPage = await events(`limit=3${cursor === null ? '' : `&cursor=${cursor}`}`);
      expect(page.items.length).toBeLessThanOrEqual(3);
      ids.push(...page.items.map((event) => event.id));
      cursor = page.nextCursor;
    } while (cursor !== null && ids.length < 1000);
    expect(ids).toEqual(everything.items.map((event) => event.id));
    expect(ids.map(Number)).toEqual([...ids.map(Number)].sort((a, b) => b - a));
  });

  it('filters by actor, target, action and text, and the filters combine', async () => {
    const other = await actorWith(server, `other actor ${unique()}`, 'Administrator');
    const name = `filtered ${unique()}`;
    const created = await rest<{ id: string }>(server, 'POST', '/api/v1/roles', { token: other.token }, { name });
    await rest(server, 'PATCH', `/api/v1/roles/${created.body.id}`, { token: other.token }, { description: 'changed' });
    await rest(server, 'POST', '/api/v1/roles', { token: auditor.token }, { name: `unrelated ${unique()}` });

    const byActor = (await events(`actorId=${other.id}`)).items;
    expect(byActor.map((event) => event.action)).toEqual(['role.updated', 'role.created']);
    expect(byActor.every((event) => event.actor.id === other.id)).toBe(true);
    expect((await events(`actorId=${other.id}&action=role.created`)).items.map((event) => event.target?.id)).toEqual([created.body.id]);
    expect((await events(`q=${encodeURIComponent(name.toUpperCase())}`)).items.map((event) => event.action)).toEqual(['role.updated', 'role.created']);
    expect((await events(`targetId=${created.body.id}&action=client.deleted`)).items).toEqual([]);
  });

  it('searches non-ASCII names in any case alike on both databases', async () => {
    const name = `ÉCOLE Ünal ${unique()}`;
    const created = await rest<{ id: string }>(server, 'POST', '/api/v1/roles', { token: auditor.token }, { name });
    for (const search of [name.toLowerCase(), name.toUpperCase(), 'école ünal']) {
      expect((await events(`q=${encodeURIComponent(search)}`)).items.map((event) => event.target?.id)).toContain(created.body.id);
    }
  });

  it('matches an actor or target id sent in upper case', async () => {
    const client = await server.services.clients.create(SYSTEM_ACTOR, { name: `upper ${unique()}` });
    const lower = (await events(`targetId=${client.client.id}`)).items;
    expect(lower.map((event) => event.action)).toEqual(['client.created']);
    expect((await events(`targetId=${client.client.id.toUpperCase()}`)).items).toEqual(lower);
  });

  it('never shows a client secret or a password', async () => {
    const created = await server.services.clients.create(SYSTEM_ACTOR, { name: `secretive ${unique()}` });
    const regenerated = await rest<{ clientSecret: string }>(server, 'POST', `/api/v1/clients/${created.client.id}/secret`, { token: auditor.token });
    const password = `never-in-the-log-${unique()}`;
    await rest(server, 'POST', '/api/v1/users', { token: auditor.token }, { email: `logged-${unique()}@example.com`, password });
    const answer = await rest(server, 'GET', '/api/v1/audit-events?limit=200', { token: auditor.token });
    expect(answer.text).toContain('client.secret_regenerated');
    expect(answer.text).toContain('user.created');
    for (const secret of [created.clientSecret, regenerated.body.clientSecret, password]) expect(answer.text).not.toContain(secret);
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=201', 'limit'],
    ['cursor=abc', 'cursor'],
    ['cursor=0', 'cursor'],
    ['actorId=someone', 'actorId'],
    ['targetId=1', 'targetId'],
    ['action=', 'action'],
    [`q=${'x'.repeat(201)}`, 'q'],
    ['sort=oldest', 'sort'],
  ])('answers 400 naming the parameter for ?%s', async (query, field) => {
    const answer = await rest(server, 'GET', `/api/v1/audit-events?${query}`, { token: auditor.token });
    expect(answer.status, answer.text).toBe(400);
    expect(answer.body).toMatchObject({ status: 400, code: 'bad_input' });
    expect(fieldsOf(answer)).toEqual([field]);
  });
});
