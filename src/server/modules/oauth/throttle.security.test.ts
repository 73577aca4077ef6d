import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { SYSTEM_ACTOR } from '../../actor.js';
import { testDialects } from '../../../../test/support/databases.js';
import { startTestServer, type TestServer } from '../../../../test/support/server.js';

// A window far longer than the burst takes even on a loaded machine; the recovery test uses a short one.
const LIMITS = { perClient: 10, perAddress: 10_000, windowSeconds: 120 };
const SHORT = { ...LIMITS, windowSeconds: 2 };

async function tokenRequest(server: TestServer, clientId: string, secret: string) {
  const response = await fetch(`${server.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret }),
  });
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body: (await response.json()) as { error?: string; access_token?: string },
  };
}

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
});
