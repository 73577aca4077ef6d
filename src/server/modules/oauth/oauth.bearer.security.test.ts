import { createHmac, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../actor.js';
import { testDialects } from '../../../../test/support/databases.js';
import { startTestServer, type TestServer } from '../../../../test/support/server.js';

/**
 * Bearer authentication at the Koios APIs, attacked the way resource servers get attacked:
 * RFC 6750 §2 and §3.1, RFC 9068 §4 (CVE-2022-23540 for `none`,
 * the HS256-with-the-public-key confusion, cross-issuer and cross-audience replay).
 */
const INSECURE = { [oauth.allowInsecureRequests]: true } as const;

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

/** A compact JWS over any header and claims, signed with any Ed25519 key. */
function signEd25519(header: Record<string, unknown>, claims: Record<string, unknown>, key: KeyObject): string {
  const input = `${b64url(header)}.${b64url(claims)}`;
  return `${input}.${sign(null, Buffer.from(input, 'ascii'), key).toString('base64url')}`;
}

describe.each(testDialects())('bearer tokens at /api/v1/me (RFC 6750, RFC 9068) on %s', (dialect) => {
  let server: TestServer;
  let client: { id: string; secret: string };
  /** A genuine token, and its header and claims, to forge variants of. */
  let genuine: string;
  let genuineHeader: Record<string, unknown>;
  let genuineClaims: Record<string, unknown>;
  let realKey: { kid: string; privateKey: KeyObject };

  const me = async (authorization?: string, query = '') => {
    const response = await fetch(`${server.url}/api/v1/me${query}`, { headers: authorization === undefined ? {} : { authorization } });
    const text = await response.text();
    return { status: response.status, challenge: response.headers.get('www-authenticate'), text };
  };

  const expectInvalidToken = async (authorization: string, what: string) => {
    const answer = await me(authorization);
    expect(answer.status, what).toBe(401);
    expect(answer.challenge, what).toMatch(/^Bearer\b/);
    expect(answer.challenge, what).toMatch(/error="invalid_token"/);
    expect(answer.text, what).not.toContain(client.id);
  };

  /** The genuine token's claims with some changed, signed with the server's own key: only the change can make it fail. */
  const resigned = (changes: Record<string, unknown>) => signEd25519(genuineHeader, { ...genuineClaims, ...changes }, realKey.privateKey);

  beforeAll(async () => {
    server = await startTestServer(dialect);
    const roles = await server.services.roles.list(SYSTEM_ACTOR);
    const created = await server.services.clients.create(SYSTEM_ACTOR, { name: 'bearer target', roleId: roles.find((role) => role.name === 'Viewer')!.id });
    client = { id: created.client.id, secret: created.clientSecret };
    const as: oauth.AuthorizationServer = { issuer: server.url, token_endpoint: `${server.url}/oauth/token` };
    const response = await oauth.processClientCredentialsResponse(
      as,
      { client_id: client.id },
      await oauth.clientCredentialsGrantRequest(as, { client_id: client.id }, oauth.ClientSecretBasic(client.secret), new URLSearchParams(), INSECURE),
    );
    genuine = response.access_token;
    genuineHeader = decodeProtectedHeader(genuine) as Record<string, unknown>;
    genuineClaims = decodeJwt(genuine) as Record<string, unknown>;
    const current = server.services.signingKeys.current();
    expect(current.kid).toBe(genuineHeader['kid']);
    realKey = { kid: current.kid, privateKey: current.privateKey };
  });
  afterAll(async () => server?.close());

  it('accepts the genuine token, and a re-signed copy of it (so the forgeries below fail for their change alone)', async () => {
    const answer = await me(`Bearer ${genuine}`);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toMatchObject({ type: 'client', id: client.id, name: 'bearer target' });
    expect((await me(`Bearer ${resigned({})}`)).status).toBe(200);
    expect((await me(`bearer ${genuine}`)).status).toBe(200); // RFC 7235 §2.1: the scheme is case-insensitive
  });

  it('answers a request without credentials 401 with a Bearer challenge carrying a realm and no error (RFC 6750 §3.1)', async () => {
    const answer = await me();
    expect(answer.status).toBe(401);
    expect(answer.challenge).toMatch(/^Bearer realm="[^"]*"/);
    expect(answer.challenge).not.toMatch(/error=/);
  });

  it('answers another scheme (Basic) 401 with a Bearer challenge and no error code (RFC 6750 §3.1)', async () => {
    const answer = await me(`Basic ${Buffer.from('someone:something').toString('base64')}`);
    expect(answer.status).toBe(401);
    expect(answer.challenge).toMatch(/^Bearer realm="[^"]*"/);
    expect(answer.challenge).not.toMatch(/error=/);
  });

  it.each([
    ['"Bearer" alone', 'Bearer'],
    ['a token with spaces in it', 'Bearer abc def'],
    ['the genuine token with a trailing word', 'Bearer __GENUINE__ extra'],
    ['a token of characters outside b64token', 'Bearer abc$def{}'],
    ['two Bearer schemes', 'Bearer Bearer __GENUINE__'],
  ])('answers a malformed Authorization header (%s) 401 invalid_token', async (what, header) => {
    await expectInvalidToken(header.replace('__GENUINE__', genuine), what);
  });

  it('refuses a token signed by another Ed25519 key under the real kid', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    await expectInvalidToken(`Bearer ${signEd25519(genuineHeader, genuineClaims, privateKey)}`, 'foreign key, real kid');
  });

  it('refuses alg "none" (CVE-2022-23540), with or without a signature part', async () => {
    for (const alg of ['none', 'None', 'NONE']) {
      const header = b64url({ ...genuineHeader, alg });
      const payload = b64url(genuineClaims);
      await expectInvalidToken(`Bearer ${header}.${payload}.`, `${alg}, empty signature`);
      await expectInvalidToken(`Bearer ${header}.${payload}.${genuine.split('.')[2]}`, `${alg}, genuine signature`);
    }
  });

  it('refuses HS256 tokens keyed with the public key (algorithm confusion)', async () => {
    const jwk = ((await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string; x: string }[] }).keys.find(
      (key) => key.kid === realKey.kid,
    )!;
    const header = { alg: 'HS256', typ: 'at+jwt', kid: realKey.kid };
    const input = `${b64url(header)}.${b64url(genuineClaims)}`;
    for (const secret of [jwk.x, Buffer.from(jwk.x, 'base64url'), JSON.stringify(jwk)]) {
      const mac = createHmac('sha256', secret).update(input).digest('base64url');
      await expectInvalidToken(`Bearer ${input}.${mac}`, 'HS256');
    }
  });

  it('refuses a genuine signature over altered claims (a widened scope)', async () => {
    const [header, , signature] = genuine.split('.');
    const widened = b64url({ ...genuineClaims, scope: 'clients:read clients:create clients:delete users:write' });
    await expectInvalidToken(`Bearer ${header}.${widened}.${signature}`, 'altered payload');
  });

  /** Claim changes as functions of now (seconds), the issuer and an id of no client. */
  type ClaimChanges = (now: number, issuer: string, nobody: string) => Record<string, unknown>;
  it.each<[string, ClaimChanges]>([
    ['another issuer', () => ({ iss: 'https://issuer.example' })],
    ['the issuer with a trailing slash', (_now, issuer) => ({ iss: `${issuer}/` })],
    ['another audience', () => ({ aud: 'https://other-api.example' })],
    ['an audience list without ours', () => ({ aud: ['https://other-api.example'] })],
    ['an expired exp', (now) => ({ iat: now - 3660, exp: now - 60 })],
    ['no exp', () => ({ exp: undefined })],
    ['a string exp', (now) => ({ exp: String(now + 3600) })],
    ['no iss', () => ({ iss: undefined })],
    ['no aud', () => ({ aud: undefined })],
    ['no sub', () => ({ sub: undefined })],
    ['a sub that is not the client_id', (_now, _issuer, nobody) => ({ sub: nobody })],
    ['a client that does not exist', (_now, _issuer, nobody) => ({ sub: nobody, client_id: nobody })],
    ['an iat far in the future', (now) => ({ iat: now + 3600, exp: now + 7200 })],
  ])('refuses a token signed with the real key but with %s', async (what, changes) => {
    const claims: Record<string, unknown> = { ...genuineClaims, ...changes(Math.floor(Date.now() / 1000), server.url, randomUUID()) };
    for (const [claim, value] of Object.entries(claims)) if (value === undefined) delete claims[claim];
    await expectInvalidToken(`Bearer ${signEd25519(genuineHeader, claims, realKey.privateKey)}`, what);
  });

  it.each([
    ['typ "JWT"', { typ: 'JWT' }],
    ['no typ', { typ: undefined }],
    ['typ "application/jwt"', { typ: 'application/jwt' }],
    ['an unknown kid', { kid: 'not-a-key-we-have' }],
    ['a crit header', { crit: ['exp'] }],
  ])('refuses a token signed with the real key but with %s in the header', async (what, changes) => {
    const header: Record<string, unknown> = { ...genuineHeader, ...changes };
    for (const [name, value] of Object.entries(header)) if (value === undefined) delete header[name];
    await expectInvalidToken(`Bearer ${signEd25519(header, genuineClaims, realKey.privateKey)}`, what);
  });

  it('takes tokens only from the Authorization header, never from the query string (RFC 6750 §2)', async () => {
    const answer = await me(undefined, `?access_token=${encodeURIComponent(genuine)}`);
    expect(answer.status).toBe(401);
    expect(answer.challenge).toMatch(/^Bearer\b/);
    const form = await fetch(`${server.url}/api/v1/me`, {
      method: 'GET',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-access-token': genuine, cookie: `access_token=${genuine}` },
    });
    expect(form.status).toBe(401);
  });
});

describe.each(testDialects())('configured audience and token lifetime on %s', (dialect) => {
  const AUDIENCE = 'https://api.koios.example';
  /** The services' clock, moved forward to let tokens expire without waiting. */
  const clock = { offsetMs: 0, now: () => new Date(Date.now() + clock.offsetMs) };
  let server: TestServer;
  let client: { id: string; secret: string };

  const token = async () => {
    const response = await fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.id, client_secret: client.secret }),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as { access_token: string; expires_in: number };
  };
  const meStatus = async (accessToken: string) => (await fetch(`${server.url}/api/v1/me`, { headers: { authorization: `Bearer ${accessToken}` } })).status;

  beforeAll(async () => {
    server = await startTestServer(dialect, { env: { KOIOS_AUDIENCE: AUDIENCE, KOIOS_ACCESS_TOKEN_TTL: '60' }, services: { clock } });
    const created = await server.services.clients.create(SYSTEM_ACTOR, { name: 'audience and lifetime' });
    client = { id: created.client.id, secret: created.clientSecret };
  });
  afterAll(async () => server?.close());

  it('puts KOIOS_AUDIENCE, not the issuer, in aud, and refuses a token whose aud is the issuer', async () => {
    const { access_token, expires_in } = await token();
    expect(expires_in).toBe(60);
    const claims = decodeJwt(access_token);
    expect(claims.iss).toBe(server.url);
    expect(claims.aud === AUDIENCE || (Array.isArray(claims.aud) && claims.aud.length === 1 && claims.aud[0] === AUDIENCE)).toBe(true);
    expect(claims.exp).toBe(claims.iat! + 60);
    expect(await meStatus(access_token)).toBe(200);

    const key = server.services.signingKeys.current();
    const asIfForTheIssuer = signEd25519(decodeProtectedHeader(access_token) as Record<string, unknown>, { ...claims, aud: server.url }, key.privateKey);
    expect(await meStatus(asIfForTheIssuer)).toBe(401);
  });

  it('refuses a token once its lifetime has passed, and introspection calls it inactive', async () => {
    const { access_token } = await token();
    expect(await meStatus(access_token)).toBe(200);
    clock.offsetMs = 61_000;
    try {
      expect(await meStatus(access_token)).toBe(401);
      const introspection = await fetch(`${server.url}/oauth/introspect`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: access_token, client_id: client.id, client_secret: client.secret }),
      });
      expect(await introspection.json()).toEqual({ active: false });
      // A new token, minted at the moved time, works.
      expect(await meStatus((await token()).access_token)).toBe(200);
    } finally {
      clock.offsetMs = 0;
    }
  });
});
