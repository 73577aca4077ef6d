import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../actor.js';
import type { Clock } from '../../clock.js';
import { openDatabase } from '../../db/database.js';
import { BadInput, NotFound } from '../../errors.js';
import { testDialects } from '../../../../test/support/databases.js';
import { accessToken, builtInRoleIds, type ClientCredentials } from '../../../../test/support/oauth.js';
import { startTestServer, type TestServer } from '../../../../test/support/server.js';
import { withinOneSecond } from '../../../../test/support/eventually.js';

/**
 * A secret's lifecycle as the token endpoint and every bearer request see it: a rotation that
 * keeps the previous secret working for a while, its end (by time, by "End now", by another
 * rotation), a secret's expiry, and the reasons an admin reads afterwards.
 */
const NO_THROTTLE = { perClient: 10_000, perAddress: 100_000, windowSeconds: 60 };
const HOUR = 3600;
const DAY_MS = 86_400_000;

/** Time the services see; each test moves it forward instead of waiting. */
function movableClock(): Clock & { advance(ms: number): void } {
  let offset = 0;
  return { now: () => new Date(Date.now() + offset), advance: (ms) => void (offset += ms) };
}

const problemFields = (error: unknown) => (error instanceof BadInput ? error.problems.map((problem) => problem.field) : []);

describe.each(testDialects())('secret rotation and expiry on %s', (dialect) => {
  let server: TestServer;
  let other: TestServer;
  let viewer: string;
  const clock = movableClock();

  beforeAll(async () => {
    server = await startTestServer(dialect, { services: { clock, throttleLimits: NO_THROTTLE } });
    // A second instance on the same database, with its own connections, caches and change feed.
    const { config, location } = server.database;
    const handle = openDatabase(config, dialect === 'postgres' ? { schema: location } : {});
    other = await startTestServer(dialect, { database: { ...server.database, handle }, services: { clock, throttleLimits: NO_THROTTLE } });
    viewer = (await builtInRoleIds(server)).viewer;
  });

  afterAll(async () => {
    await other?.close();
    await other?.database.handle.close();
    await server?.close();
  });

  const create = async (name: string, secretExpiresAt?: string): Promise<ClientCredentials> => {
    const { client, clientSecret } = await server.services.clients.create(SYSTEM_ACTOR, {
      name,
      roleId: viewer,
      ...(secretExpiresAt ? { secretExpiresAt } : {}),
    });
    return { id: client.id, secret: clientSecret };
  };
  const rotate = async (client: ClientCredentials, input: { keepPreviousFor?: number; expiresAt?: string } = {}): Promise<ClientCredentials> => ({
    id: client.id,
    secret: (await server.services.clients.regenerateSecret(SYSTEM_ACTOR, client.id, input)).clientSecret,
  });
  const tokenAnswer = async (target: TestServer, client: ClientCredentials) => {
    const response = await fetch(`${target.url}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.id, client_secret: client.secret }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const me = (target: TestServer, token: string) => fetch(`${target.url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
  const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number; iat: number; gen: number };
  const reasons = async (clientId: string) =>
    Object.fromEntries((await server.services.failures.countsFor(clientId)).map((row) => [row.reason, Number(row.count)]));

  it('without an overlap, a regeneration kills the old secret and its tokens at once', async () => {
    const first = await create('no overlap');
    const oldToken = await accessToken(server, first);
    const second = await rotate(first);
    expect((await tokenAnswer(server, first)).body.error).toBe('invalid_client');
    expect(await me(server, oldToken)).toBe(401);
    expect(await me(server, await accessToken(server, second))).toBe(200);
    expect((await server.services.clients.get(SYSTEM_ACTOR, first.id)).previousSecret).toBeNull();
  });

  it('during an overlap both secrets authenticate and tokens minted with either stay valid, until the overlap ends', async () => {
    const first = await create('overlap');
    const before = await accessToken(server, first);
    const second = await rotate(first, { keepPreviousFor: 600 });
    const withOld = await accessToken(server, first);
    const withNew = await accessToken(server, second);
    expect(claimsOf(withOld).gen).toBe(claimsOf(withNew).gen - 1);
    for (const token of [before, withOld, withNew]) expect(await me(server, token)).toBe(200);

    const shown = await server.services.clients.get(SYSTEM_ACTOR, first.id);
    expect(shown.previousSecret).toMatchObject({ hint: first.secret.slice(-4) });
    expect(Date.parse(shown.previousSecret!.expiresAt) - clock.now().getTime()).toBeGreaterThan(540_000);
    expect(shown.previousSecret!.lastUsedAt).not.toBeNull();
    // A token minted with the previous secret never outlives the overlap.
    expect(claimsOf(withOld).exp * 1000).toBeLessThanOrEqual(Date.parse(shown.previousSecret!.expiresAt));

    clock.advance(601_000);
    expect((await tokenAnswer(server, first)).body.error).toBe('invalid_client');
    for (const token of [before, withOld]) expect(await me(server, token)).toBe(401);
    expect(await me(server, withNew)).toBe(200);
    expect(await reasons(first.id)).toMatchObject({ stale_secret: expect.any(Number) });
    expect((await server.services.clients.get(SYSTEM_ACTOR, first.id)).previousSecret).toBeNull();
  });

  it('End now kills the previous secret and its tokens on the next request, on every instance', async () => {
    const first = await create('end now');
    const second = await rotate(first, { keepPreviousFor: 7 * 24 * HOUR });
    const withOld = await accessToken(other, first);
    expect(await me(other, withOld)).toBe(200);
    expect(await me(other, await accessToken(other, second))).toBe(200);

    await server.services.clients.endPreviousSecret(SYSTEM_ACTOR, first.id);
    expect(await withinOneSecond(() => me(other, withOld), 401)).toBe(401);
    expect(await withinOneSecond(async () => (await tokenAnswer(other, first)).status, 401)).toBe(401);
    expect(await me(other, await accessToken(other, second))).toBe(200);
    await expect(server.services.clients.endPreviousSecret(SYSTEM_ACTOR, first.id)).rejects.toBeInstanceOf(NotFound);

    const audit = await server.services.audit.list(SYSTEM_ACTOR, { limit: 5 });
    expect(audit.items.map((event) => event.action)).toContain('client.previous_secret_ended');
  });

  it('a rotation on one instance lets the other accept both secrets on its next request', async () => {
    const first = await create('two instances');
    expect(await me(other, await accessToken(other, first))).toBe(200);
    const second = await rotate(first, { keepPreviousFor: HOUR });
    expect(await withinOneSecond(async () => (await tokenAnswer(other, second)).status, 200)).toBe(200);
    expect((await tokenAnswer(other, first)).status).toBe(200);
  });

  it('a second rotation during an overlap ends the first overlap', async () => {
    const first = await create('twice');
    const oldToken = await accessToken(server, first);
    const second = await rotate(first, { keepPreviousFor: HOUR });
    const third = await rotate(second, { keepPreviousFor: HOUR });
    expect((await tokenAnswer(server, first)).status).toBe(401);
    expect(await me(server, oldToken)).toBe(401);
    expect((await tokenAnswer(server, second)).status).toBe(200);
    expect((await tokenAnswer(server, third)).status).toBe(200);
    expect((await server.services.clients.get(SYSTEM_ACTOR, first.id)).previousSecret?.hint).toBe(second.secret.slice(-4));
  });

  it('an expired secret is refused like a wrong one, with the reason expired, and its tokens never outlive it', async () => {
    const expiresAt = new Date(clock.now().getTime() + 10 * 60_000).toISOString();
    const client = await create('expiring', expiresAt);
    expect((await server.services.clients.get(SYSTEM_ACTOR, client.id)).secretExpiresAt).toBe(expiresAt);
    const answer = await tokenAnswer(server, client);
    expect(answer.status).toBe(200);
    // The server's TTL is an hour; the secret has ten minutes left.
    expect(answer.body.expires_in).toBeLessThanOrEqual(600);
    const token = answer.body.access_token as string;
    expect(claimsOf(token).exp * 1000).toBeLessThanOrEqual(Date.parse(expiresAt));

    clock.advance(11 * 60_000);
    const refused = await tokenAnswer(server, client);
    const wrong = await tokenAnswer(server, { id: client.id, secret: `koios_cs_${'x'.repeat(43)}` });
    expect(refused).toEqual(wrong);
    expect(refused.status).toBe(401);
    expect(await reasons(client.id)).toMatchObject({ expired: 1, bad_secret: 1 });

    // A token minted before an expiry moved earlier dies with the secret.
    const later = await create('expiry moved earlier');
    const laterToken = await accessToken(server, later);
    await server.services.clients.update(SYSTEM_ACTOR, later.id, { secretExpiresAt: new Date(clock.now().getTime() + 60_000).toISOString() });
    expect(await me(server, laterToken)).toBe(200);
    clock.advance(61_000);
    expect(await me(server, laterToken)).toBe(401);
    expect(await reasons(later.id)).toMatchObject({ expired: 1 });
  });

  it('the overlap never outlasts the replaced secret’s own expiry', async () => {
    const client = await create('short-lived', new Date(clock.now().getTime() + 60_000).toISOString());
    await rotate(client, { keepPreviousFor: HOUR });
    const shown = await server.services.clients.get(SYSTEM_ACTOR, client.id);
    expect(Date.parse(shown.previousSecret!.expiresAt)).toBeLessThanOrEqual(clock.now().getTime() + 60_000);
  });

  it('refuses bad lifecycle input naming the field, and records the regeneration with its choices', async () => {
    const client = await create('bad input');
    for (const keepPreviousFor of [-1, 2_592_001, 1.5]) {
      const error = await rotate(client, { keepPreviousFor }).catch((caught: unknown) => caught);
      expect(problemFields(error)).toEqual(['keepPreviousFor']);
    }
    const past = new Date(clock.now().getTime() - 1000).toISOString();
    expect(problemFields(await rotate(client, { expiresAt: past }).catch((caught: unknown) => caught))).toEqual(['expiresAt']);
    expect(problemFields(await rotate(client, { expiresAt: 'tomorrow' }).catch((caught: unknown) => caught))).toEqual(['expiresAt']);
    expect(problemFields(await create('past expiry', past).catch((caught: unknown) => caught))).toEqual(['secretExpiresAt']);

    const expiresAt = new Date(clock.now().getTime() + 30 * DAY_MS).toISOString();
    await rotate(client, { keepPreviousFor: 60, expiresAt });
    const audit = await server.services.audit.list(SYSTEM_ACTOR, { limit: 1 });
    expect(audit.items[0]).toMatchObject({ action: 'client.secret_regenerated', details: { keepPreviousFor: 60, expiresAt } });
  });
});

describe.each(testDialects())('the maximum secret lifetime on %s', (dialect) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer(dialect, { env: { KOIOS_SECRET_MAX_LIFETIME_DAYS: '30' } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('gives new secrets an expiry within the maximum and refuses a later one naming the field', async () => {
    const startMs = Date.now();
    const { client } = await server.services.clients.create(SYSTEM_ACTOR, { name: 'bounded' });
    const expiresMs = Date.parse(client.secretExpiresAt!);
    expect(expiresMs).toBeGreaterThanOrEqual(startMs + 30 * DAY_MS);
    expect(expiresMs).toBeLessThanOrEqual(Date.now() + 30 * DAY_MS);

    const tooLate = new Date(Date.now() + 31 * DAY_MS).toISOString();
    const refusals = await Promise.all([
      server.services.clients.create(SYSTEM_ACTOR, { name: 'too late', secretExpiresAt: tooLate }).catch((caught: unknown) => caught),
      server.services.clients.regenerateSecret(SYSTEM_ACTOR, client.id, { expiresAt: tooLate }).catch((caught: unknown) => caught),
      server.services.clients.update(SYSTEM_ACTOR, client.id, { secretExpiresAt: null }).catch((caught: unknown) => caught),
    ]);
    expect(refusals.map(problemFields)).toEqual([['secretExpiresAt'], ['expiresAt'], ['secretExpiresAt']]);
    const rotated = await server.services.clients.regenerateSecret(SYSTEM_ACTOR, client.id);
    expect(rotated.client.secretExpiresAt).not.toBeNull();
  });
});
