import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { SYSTEM_ACTOR } from '../actor.js';
import { testDialects } from '../../../test/support/databases.js';
import { startOidcIssuer } from '../../../test/support/oidc-issuer.js';
import { startTestServer, type TestServer } from '../../../test/support/server.js';

// A window far longer than the burst takes even on a loaded machine; the recovery test uses a short one.
const LIMITS = { perClient: 10, perAddress: 10_000, windowSeconds: 120 };
const SHORT = { ...LIMITS, windowSeconds: 2 };
const PASSWORD = 'a long and right password';

async function tokenRequest(server: TestServer, clientId: string, secret: string, from?: string) {
  const response = await fetch(`${server.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(from === undefined ? {} : { 'x-forwarded-for': from }) },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret }),
  });
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body: (await response.json()) as { error?: string; access_token?: string },
  };
}

/** An RFC 8693 token exchange of a workload's token for a token of `clientId`. */
async function exchangeRequest(server: TestServer, clientId: string, subjectToken: string, from: string) {
  const response = await fetch(`${server.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': from },
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      client_id: clientId,
      subject_token: subjectToken,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    }),
  });
  return { status: response.status, body: (await response.json()) as { error?: string; access_token?: string } };
}

async function signInRequest(server: TestServer, email: string, password: string, from?: string) {
  const response = await fetch(`${server.url}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(from === undefined ? {} : { 'x-forwarded-for': from }) },
    body: JSON.stringify({ email, password }),
  });
  await response.arrayBuffer();
  return { status: response.status, retryAfter: response.headers.get('retry-after') };
}

/** A secret check compares the presented secret with the current and the previous one (or a dummy), always: two entries. */
const COMPARISONS_PER_CHECK = 2;

/** Counts the secrets the token endpoint checks, on every given instance. */
function countSecretChecks(...servers: TestServer[]): () => number {
  let checks = 0;
  for (const server of servers) {
    const matchesAny = server.services.hasher.matchesAny.bind(server.services.hasher);
    server.services.hasher.matchesAny = (presented, stored) => {
      expect(stored).toHaveLength(COMPARISONS_PER_CHECK);
      checks += 1;
      return matchesAny(presented, stored);
    };
  }
  return () => checks;
}

/** Counts the passwords the console compares (each an argon2 verification). */
function countPasswordChecks(...servers: TestServer[]): () => number {
  let checks = 0;
  for (const server of servers) {
    const check = server.services.users.checkCredentials.bind(server.services.users);
    server.services.users.checkCredentials = (email, password) => {
      checks += 1;
      return check(email, password);
    };
  }
  return () => checks;
}

const tally = (statuses: number[]) => statuses.reduce<Record<number, number>>((counts, status) => ({ ...counts, [status]: (counts[status] ?? 0) + 1 }), {});

describe.each(testDialects())('brute-force throttling of client authentication on %s', (dialect) => {
  let server: TestServer;
  let second: TestServer | undefined;

  beforeAll(async () => {
    server = await startTestServer(dialect, { services: { throttleLimits: LIMITS } });
    // On PostgreSQL the counters are shared: a second instance on the same database counts with the first.
    if (dialect === 'postgres') second = await startTestServer(dialect, { database: server.database, services: { throttleLimits: LIMITS } });
  });
  afterAll(async () => {
    await second?.close();
    await server.close();
  });

  it('lets no more than the limit of 200 parallel wrong guesses be answered, and answers the rest 429 with Retry-After', async () => {
    const { client } = await server.services.clients.create(SYSTEM_ACTOR, { name: 'under attack' });
    const instances = second === undefined ? [server] : [server, second];
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, n) => tokenRequest(instances[n % instances.length]!, client.id, `koios_cs_wrong-guess-${n}`)),
    );
    const answered = results.filter((result) => result.status === 401);
    const throttled = results.filter((result) => result.status === 429);
    expect(answered.length).toBe(LIMITS.perClient);
    expect(throttled.length).toBe(200 - LIMITS.perClient);
    for (const result of answered) expect(result.body.error).toBe('invalid_client');
    for (const result of throttled) expect(Number(result.retryAfter)).toBeGreaterThanOrEqual(1);
  });

  it('compares no more secrets than the limit when 40 guesses arrive at once, the right one last, on every instance together', async () => {
    const { client, clientSecret } = await server.services.clients.create(SYSTEM_ACTOR, { name: 'parallel guesses' });
    const instances = second === undefined ? [server] : [server, second];
    const checks = countSecretChecks(...instances);
    const secrets = [...Array.from({ length: 39 }, (_, n) => `koios_cs_wrong-${n}`), clientSecret];
    const results = await Promise.all(secrets.map((secret, n) => tokenRequest(instances[n % instances.length]!, client.id, secret)));
    const counts = tally(results.map((result) => result.status));
    expect(checks()).toBe(LIMITS.perClient);
    // Every compared secret was answered for what it was; every other one 429 without a look.
    expect((counts[401] ?? 0) + (counts[200] ?? 0)).toBe(LIMITS.perClient);
    expect(counts[429]).toBe(40 - LIMITS.perClient);
    expect(counts[200] ?? 0).toBeLessThanOrEqual(1);
    // The right secret succeeds only if it was among the first `limit` reserved.
    if (results.at(-1)!.status === 200) expect(counts[401]).toBeLessThan(LIMITS.perClient);
  });

  it('answers every one of the real client’s 60 parallel requests at the start of a window, however low the limit', async () => {
    const { client, clientSecret } = await server.services.clients.create(SYSTEM_ACTOR, { name: 'busy and right' });
    const instances = second === undefined ? [server] : [server, second];
    const results = await Promise.all(Array.from({ length: 60 }, (_, n) => tokenRequest(instances[n % instances.length]!, client.id, clientSecret)));
    expect(tally(results.map((result) => result.status))).toEqual({ 200: 60 });
  });

  it('throttles the client for the window only, never for good, and successes do not count', async () => {
    const server = await startTestServer(dialect, { services: { throttleLimits: SHORT } });
    onTestFinished(() => server.close());
    const { client, clientSecret } = await server.services.clients.create(SYSTEM_ACTOR, { name: 'recovers' });
    for (let n = 0; n < 30; n += 1) expect((await tokenRequest(server, client.id, clientSecret)).status).toBe(200);
    for (let n = 0; n < SHORT.perClient; n += 1) expect((await tokenRequest(server, client.id, 'koios_cs_nope')).status).toBe(401);
    const blocked = await tokenRequest(server, client.id, clientSecret);
    expect(blocked.status).toBe(429);
    await new Promise((resolve) => setTimeout(resolve, Number(blocked.retryAfter) * 1000 + 100));
    const after = await tokenRequest(server, client.id, clientSecret);
    expect(after.status).toBe(200);
    expect(after.body.access_token).toBeTypeOf('string');
    const reasons = await server.services.failures.countsFor(client.id);
    expect(reasons.find((row) => row.reason === 'bad_secret')?.count).toBe(SHORT.perClient);
    expect(reasons.find((row) => row.reason === 'throttled')?.count).toBeGreaterThanOrEqual(1);
  });

  it('writes nothing on the success path once a pair holds its slot', async () => {
    const { client, clientSecret } = await server.services.clients.create(SYSTEM_ACTOR, { name: 'steady' });
    expect((await tokenRequest(server, client.id, clientSecret)).status).toBe(200);
    const rowsBefore = await server.services.db.selectFrom('auth_throttle').selectAll().where('key', 'like', `token:%${client.id}%`).orderBy('key').execute();
    for (let n = 0; n < 20; n += 1) expect((await tokenRequest(server, client.id, clientSecret)).status).toBe(200);
    const rowsAfter = await server.services.db.selectFrom('auth_throttle').selectAll().where('key', 'like', `token:%${client.id}%`).orderBy('key').execute();
    expect(rowsAfter).toEqual(rowsBefore);
    expect(rowsAfter.every((row) => row.pending === 0 && row.failures === 0)).toBe(true);
  });
});

describe.each(testDialects())('who a throttle may lock out, on %s', (dialect) => {
  let server: TestServer;

  beforeAll(async () => {
    // Behind a configured proxy, so each test can speak from the addresses it needs.
    server = await startTestServer(dialect, {
      env: { KOIOS_TRUST_PROXY: '127.0.0.1', KOIOS_FEDERATION_ALLOW_LOOPBACK_HTTP: 'true' },
      services: { throttleLimits: { perClient: 5, perAddress: 8, windowSeconds: 120 }, signInLimits: { perClient: 5, perAddress: 8, windowSeconds: 120 } },
    });
  });
  afterAll(async () => server.close());

  it('answers the real client’s right secret from an address that has not failed while a guesser has spent the client’s limit', async () => {
    const { client, clientSecret } = await server.services.clients.create(SYSTEM_ACTOR, { name: 'guessed at' });
    const guesses = await Promise.all(Array.from({ length: 12 }, (_, n) => tokenRequest(server, client.id, `koios_cs_guess-${n}`, '198.51.100.7')));
    expect(tally(guesses.map((guess) => guess.status))).toEqual({ 401: 5, 429: 7 });
    // The guesser itself, holding the right secret now, is still throttled: its address failed.
    expect((await tokenRequest(server, client.id, clientSecret, '198.51.100.7')).status).toBe(429);
    for (let n = 0; n < 3; n += 1) expect((await tokenRequest(server, client.id, clientSecret, '203.0.113.20')).status).toBe(200);
  });

  it('counts only failures from an address: many clients behind one address succeed, and a failing one there blocks only itself', async () => {
    const clients = await Promise.all(Array.from({ length: 12 }, (_, n) => server.services.clients.create(SYSTEM_ACTOR, { name: `behind one address ${n}` })));
    for (const { client, clientSecret } of clients) expect((await tokenRequest(server, client.id, clientSecret, '192.0.2.50')).status).toBe(200);
    for (const { client, clientSecret } of clients) expect((await tokenRequest(server, client.id, clientSecret, '192.0.2.50')).status).toBe(200);
  });

  it('answers 200 to many valid clients behind one address in parallel, at every window start and across rollovers', async () => {
    // An address limit far below the number of clients, and windows short enough to roll over.
    const limits = { perClient: 5, perAddress: 10, windowSeconds: 1 };
    const nat = await startTestServer(dialect, { env: { KOIOS_TRUST_PROXY: '127.0.0.1' }, services: { throttleLimits: limits } });
    onTestFinished(() => nat.close());
    const clients = await Promise.all(Array.from({ length: 60 }, (_, n) => nat.services.clients.create(SYSTEM_ACTOR, { name: `behind a NAT ${n}` })));
    const rounds: Record<number, number>[] = [];
    for (let round = 0; round < 3; round += 1) {
      const results = await Promise.all(clients.map(({ client, clientSecret }) => tokenRequest(nat, client.id, clientSecret, '192.0.2.77')));
      rounds.push(tally(results.map((result) => result.status)));
      // Past the end of this window, so the next round starts a fresh one.
      await new Promise((resolve) => setTimeout(resolve, limits.windowSeconds * 1000 + 100));
    }
    expect(rounds).toEqual([{ 200: 60 }, { 200: 60 }, { 200: 60 }]);
  });

  it('blocks an address for the window once its failures, not its pending checks, reach the limit', async () => {
    const clients = await Promise.all(
      Array.from({ length: 12 }, (_, n) => server.services.clients.create(SYSTEM_ACTOR, { name: `guessed from one address ${n}` })),
    );
    const guesses = await Promise.all(clients.map(({ client }) => tokenRequest(server, client.id, 'koios_cs_wrong', '192.0.2.78')));
    expect(tally(guesses.map((guess) => guess.status))).toEqual({ 401: 8, 429: 4 });
    expect((await tokenRequest(server, clients[0]!.client.id, clients[0]!.clientSecret, '192.0.2.78')).status).toBe(429);
  });

  it('counts bad subject tokens of token exchanges per address as wrong secrets, and exchanges a good one from another address meanwhile', async () => {
    const issuer = await startOidcIssuer();
    onTestFinished(() => issuer.close());
    const audience = 'https://koios.example.com';
    const { client } = await server.services.clients.create(SYSTEM_ACTOR, { name: 'federated, forged at' });
    await server.services.federation.add(SYSTEM_ACTOR, client.id, { name: 'ci', issuer: await issuer.add('throttled'), audience, subject: 'ci' });
    const good = await issuer.mint('throttled', { sub: 'ci', aud: audience });
    const [header, payload] = good.split('.');
    const forged = `${header}.${payload}.${(await issuer.mint('throttled', { sub: 'someone else', aud: audience })).split('.')[2]}`;
    const attempts = await Promise.all(Array.from({ length: 12 }, () => exchangeRequest(server, client.id, forged, '198.51.100.9')));
    expect(tally(attempts.map((attempt) => attempt.status))).toEqual({ 400: 8, 429: 4 });
    // The address is spent for the window, as after wrong secrets: a good token, a secret from there are refused.
    expect((await exchangeRequest(server, client.id, good, '198.51.100.9')).status).toBe(429);
    expect((await tokenRequest(server, client.id, 'koios_cs_wrong', '198.51.100.9')).status).toBe(429);
    // The workload elsewhere is not held back by them.
    expect((await exchangeRequest(server, client.id, good, '203.0.113.21')).body.access_token).toBeTruthy();
    const reasons = new Map((await server.services.failures.countsFor(client.id)).map((row) => [row.reason, Number(row.count)]));
    expect(reasons.get('federation_bad_token')).toBe(8);
  });

  it('signs the real user in from an address that has not failed while a guesser has spent the account’s limit', async () => {
    await server.services.users.create(SYSTEM_ACTOR, { email: 'target@koios.test', password: PASSWORD, name: 'Target' });
    const guesses = await Promise.all(Array.from({ length: 9 }, (_, n) => signInRequest(server, 'target@koios.test', `wrong password ${n}`, '198.51.100.8')));
    expect(tally(guesses.map((guess) => guess.status))).toEqual({ 401: 5, 429: 4 });
    expect((await signInRequest(server, 'target@koios.test', PASSWORD, '198.51.100.8')).status).toBe(429);
    expect((await signInRequest(server, 'target@koios.test', PASSWORD, '203.0.113.21')).status).toBe(200);
  });
});

describe.each(testDialects())('console sign-in under parallel guessing on %s', (dialect) => {
  const SIGN_IN = { perClient: 10, perAddress: 10_000, windowSeconds: 120 };
  let server: TestServer;
  let second: TestServer | undefined;

  beforeAll(async () => {
    server = await startTestServer(dialect, { services: { signInLimits: SIGN_IN } });
    if (dialect === 'postgres') second = await startTestServer(dialect, { database: server.database, services: { signInLimits: SIGN_IN } });
  });
  afterAll(async () => {
    await second?.close();
    await server.close();
  });

  it('checks no more passwords than the limit when 150 sign-ins arrive at once, the right one last, on every instance together', async () => {
    await server.services.users.create(SYSTEM_ACTOR, { email: 'parallel@koios.test', password: PASSWORD, name: 'Parallel' });
    const instances = second === undefined ? [server] : [server, second];
    const checks = countPasswordChecks(...instances);
    const passwords = [...Array.from({ length: 149 }, (_, n) => `wrong password number ${n}`), PASSWORD];
    const results = await Promise.all(passwords.map((password, n) => signInRequest(instances[n % instances.length]!, 'parallel@koios.test', password)));
    const counts = tally(results.map((result) => result.status));
    expect(checks()).toBe(SIGN_IN.perClient);
    expect((counts[401] ?? 0) + (counts[200] ?? 0)).toBe(SIGN_IN.perClient);
    expect(counts[429]).toBe(150 - SIGN_IN.perClient);
    expect(counts[200] ?? 0).toBeLessThanOrEqual(1);
    for (const result of results.filter((result) => result.status === 429)) expect(Number(result.retryAfter)).toBeGreaterThanOrEqual(1);
  });
});

describe.each(testDialects())('the one-time setup link under guessing on %s', (dialect) => {
  it('throttles wrong setup tokens per address only, so the holder of the right link is never locked out by others', async () => {
    const server = await startTestServer(dialect, { env: { KOIOS_TRUST_PROXY: '127.0.0.1' }, services: { setupLimits: { perAddress: 5 } } });
    onTestFinished(() => server.close());
    const token = await server.services.users.issueSetupToken();
    expect(token).toBeTypeOf('string');
    const setup = async (presented: string, from: string) => {
      const response = await fetch(`${server.url}/api/v1/setup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': from },
        body: JSON.stringify({ token: presented, email: 'first@koios.test', password: PASSWORD }),
      });
      await response.arrayBuffer();
      return response.status;
    };
    const guesses: number[] = [];
    for (let n = 0; n < 20; n += 1) guesses.push(await setup(`wrong-${n}`, `198.51.100.${n % 2 === 0 ? 30 : 31}`));
    expect(tally(guesses)).toEqual({ 403: 10, 429: 10 });
    expect(await setup(token!, '203.0.113.40')).toBe(201);
  });
});
