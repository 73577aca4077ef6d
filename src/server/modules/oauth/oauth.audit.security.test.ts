import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../actor.js';
import { testDialects } from '../../../../test/support/databases.js';
import { startTestServer, type TestServer } from '../../../../test/support/server.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
// The real `koios` command; global setup rebuilds dist/ when src/ is newer.
const CLI_ENTRY = fileURLToPath(new URL('../../../../bin/koios.js', import.meta.url));
const run = promisify(execFile);

/** This process's environment without anything that configures Koios, plus `overrides`. */
function cleanEnv(overrides: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('KOIOS_') && !key.startsWith('VITEST') && !key.startsWith('NODE_')),
  );
  return { ...env, KOIOS_LOG_LEVEL: 'silent', ...overrides };
}

describe.each(testDialects())('the audit trail of signing keys and revocations on %s', (dialect) => {
  let server: TestServer;

  const entries = async (action: string) => (await server.services.audit.list(SYSTEM_ACTOR, { action, limit: 200 })).items;

  beforeAll(async () => {
    server = await startTestServer(dialect);
  });
  afterAll(async () => server.close());

  it('audits a key rotation with who rotated, the new key and the keys it retired', async () => {
    const before = server.services.signingKeys.current().kid;
    const kid = await server.services.signingKeys.rotate(SYSTEM_ACTOR);
    const [entry, ...more] = await entries('keys.rotated');
    expect(more).toHaveLength(0);
    expect(entry!.actor).toEqual({ type: 'system', id: null, name: 'system' });
    expect(entry!.target).toEqual({ type: 'system', id: null, name: 'token signing keys' });
    expect(entry!.details).toEqual({ kid, retired: [before] });
    // Never key material.
    expect(JSON.stringify(entry)).not.toMatch(/PRIVATE KEY|"d":/);
  });

  it('audits `koios keys rotate` run by the operator as keys.rotated by the system actor', async () => {
    const { stdout } = await run(process.execPath, [CLI_ENTRY, 'keys', 'rotate', '--json'], { env: cleanEnv(server.database.env), timeout: 60_000 });
    const { kid } = JSON.parse(stdout) as { kid: string };
    const entry = (await entries('keys.rotated')).find((candidate) => candidate.details.kid === kid);
    expect(entry?.actor).toEqual({ type: 'system', id: null, name: 'system' });
  });

  it('writes one token.revoked entry however many times the same token is revoked', async () => {
    const { client, clientSecret } = await server.services.clients.create(SYSTEM_ACTOR, { name: 'revokes twice' });
    const credentials = { client_id: client.id, client_secret: clientSecret };
    const issued = await fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      headers: FORM,
      body: new URLSearchParams({ grant_type: 'client_credentials', ...credentials }),
    });
    const token = ((await issued.json()) as { access_token: string }).access_token;
    expect(decodeProtectedHeader(token).kid).toBeTypeOf('string');
    for (let n = 0; n < 3; n += 1) {
      const answer = await fetch(`${server.url}/oauth/revoke`, { method: 'POST', headers: FORM, body: new URLSearchParams({ token, ...credentials }) });
      expect(answer.status).toBe(200);
    }
    const revoked = (await entries('token.revoked')).filter((entry) => entry.target?.id === client.id);
    expect(revoked).toHaveLength(1);
    expect(revoked[0]!.actor).toMatchObject({ type: 'client', id: client.id });
  });
});
