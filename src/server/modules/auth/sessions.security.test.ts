import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../actor.js';
import { testDialects } from '../../../../test/support/databases.js';
import { startTestServer, type TestServer } from '../../../../test/support/server.js';

const PASSWORD = 'a long and right password';
const MANY = { perClient: 1000, perAddress: 1000, windowSeconds: 120 };

async function signIn(server: TestServer, email: string, password: string, from: string): Promise<number> {
  const response = await fetch(`${server.url}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': from },
    body: JSON.stringify({ email, password }),
  });
  await response.arrayBuffer();
  return response.status;
}

describe.each(testDialects())('auditing failed console sign-ins on %s', (dialect) => {
  let server: TestServer;
  let second: TestServer | undefined;

  const failedEntries = async () => {
    const { items } = await server.services.audit.list(SYSTEM_ACTOR, { action: 'user.sign_in_failed', limit: 200 });
    return items;
  };

  beforeAll(async () => {
    const options = { env: { KOIOS_TRUST_PROXY: '127.0.0.1' }, services: { signInLimits: MANY } };
    server = await startTestServer(dialect, options);
    if (dialect === 'postgres') second = await startTestServer(dialect, { ...options, database: server.database });
  });
  afterAll(async () => {
    await second?.close();
    await server.close();
  });

  it('writes one entry per account and window, counting every failed attempt with the email tried, the addresses and the reasons', async () => {
    const user = await server.services.users.create(SYSTEM_ACTOR, { email: 'audited@koios.test', password: PASSWORD, name: 'Audited' });
    const instances = second === undefined ? [server] : [server, second];
    // In parallel and over both instances: still one entry, and no attempt lost.
    const statuses = await Promise.all(
      Array.from({ length: 30 }, (_, n) =>
        signIn(instances[n % instances.length]!, n % 3 === 0 ? ' Audited@Koios.test ' : 'audited@koios.test', `wrong ${n}`, `198.51.100.${n % 2}`),
      ),
    );
    expect(new Set(statuses)).toEqual(new Set([401]));
    const entries = (await failedEntries()).filter((entry) => entry.target?.id === user.id);
    expect(entries).toHaveLength(1);
    const [entry] = entries;
    expect(entry!.actor).toEqual({ type: 'user', id: user.id, name: 'audited@koios.test' });
    expect(entry!.details).toMatchObject({ count: 30, email: 'audited@koios.test', reason: 'bad_password', reasonCounts: { bad_password: 30 } });
    expect([...(entry!.details.addresses as string[])].sort()).toEqual(['198.51.100.0', '198.51.100.1']);
    // Never the password tried.
    expect(JSON.stringify(entry)).not.toContain('wrong ');
    // A success is not a failure and adds nothing.
    expect(await signIn(server, 'audited@koios.test', PASSWORD, '203.0.113.9')).toBe(200);
    expect((await failedEntries()).filter((entry) => entry.target?.id === user.id)[0]!.details.count).toBe(30);
  });

  it('says a disabled account was tried, and gathers unknown emails into one entry however many are tried', async () => {
    const user = await server.services.users.create(SYSTEM_ACTOR, { email: 'disabled@koios.test', password: PASSWORD, name: 'Disabled' });
    await server.services.users.update(SYSTEM_ACTOR, user.id, { enabled: false });
    expect(await signIn(server, 'disabled@koios.test', PASSWORD, '198.51.100.5')).toBe(401);
    const disabled = (await failedEntries()).find((entry) => entry.target?.id === user.id);
    expect(disabled?.details).toMatchObject({ count: 1, reason: 'disabled', address: '198.51.100.5' });

    // Users often type their password into the email field: what matched no account is never kept.
    for (let n = 0; n < 25; n += 1) expect(await signIn(server, `typed-password-${n}`, 'whatever it is', '198.51.100.6')).toBe(401);
    const unknown = (await failedEntries()).filter((entry) => entry.target === null);
    expect(unknown).toHaveLength(1);
    expect(unknown[0]!.actor).toEqual({ type: 'system', id: null, name: 'anonymous' });
    expect(unknown[0]!.details).toMatchObject({ count: 25, reason: 'unknown_email', address: '198.51.100.6' });
    expect(unknown[0]!.details).not.toHaveProperty('email');
    expect(unknown[0]!.details).not.toHaveProperty('emails');
    expect(JSON.stringify(unknown[0])).not.toContain('typed-password');
  });
});
