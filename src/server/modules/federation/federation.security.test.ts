import { createHmac, createPublicKey } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../actor.js';
import type { Clock } from '../../clock.js';
import { openDatabase } from '../../db/database.js';
import { testDialects } from '../../../../test/support/databases.js';
import { withinOneSecond } from '../../../../test/support/eventually.js';
import { startOidcIssuer, type OidcIssuer } from '../../../../test/support/oidc-issuer.js';
import { accessToken, answerOf, builtInRoleIds, INSECURE, newClient } from '../../../../test/support/oauth.js';
import { rest } from '../../../../test/support/rest.js';
import { codesOf, graphqlClient } from '../../../../test/support/graphql.js';
import { freePort, startTestServer, type TestServer } from '../../../../test/support/server.js';
import { issuerProblem } from './issuer-url.js';

/**
 * Workload identity federation against a real OIDC issuer on loopback: a CI job or a pod exchanges
 * its own token (RFC 8693) for a client's token, with no secret; every rule and every refusal.
 */
const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
const AUDIENCE = 'https://koios.example.com';
const NO_THROTTLE = { perClient: 10_000, perAddress: 100_000, windowSeconds: 60 };

/** The server's clock, moved forward by tests of caching and of the unknown-kid limit. */
function movableClock(): Clock & { advance(seconds: number): void } {
  let offsetMs = 0;
  return { now: () => new Date(Date.now() + offsetMs), advance: (seconds) => (offsetMs += seconds * 1000) };
}

describe('the installation-wide issuer allowlist', () => {
  it('admits only the issuers KOIOS_FEDERATION_ISSUERS lists, and any https issuer without it', () => {
    const github = 'https://token.actions.githubusercontent.com';
    expect(issuerProblem(github, { allowLoopbackHttp: false, issuers: [github] })).toBeNull();
    expect(issuerProblem('https://gitlab.com', { allowLoopbackHttp: false, issuers: [github] })).toMatch(/KOIOS_FEDERATION_ISSUERS/);
    expect(issuerProblem('https://gitlab.com', { allowLoopbackHttp: false, issuers: null })).toBeNull();
    expect(issuerProblem('http://127.0.0.1:1/x', { allowLoopbackHttp: false, issuers: null })).toBe('must use https://');
    expect(issuerProblem('http://10.0.0.1/x', { allowLoopbackHttp: true, issuers: null })).toBe('must use https://');
  });
});

describe.each(testDialects())('workload identity federation on %s', (dialect) => {
  let server: TestServer;
  /** A second instance on the same database, with its own caches, change feed and issuer keys; its fetches wait long. */
  let other: TestServer;
  let issuer: OidcIssuer;
  let as: oauth.AuthorizationServer;
  let viewerRoleId: string;
  const clock = movableClock();

  beforeAll(async () => {
    issuer = await startOidcIssuer({ now: () => clock.now() });
    server = await startTestServer(dialect, {
      env: { KOIOS_FEDERATION_ALLOW_LOOPBACK_HTTP: 'true' },
      services: { clock, throttleLimits: NO_THROTTLE, issuerFetchTimeoutMs: 1500 },
    });
    const { config, location } = server.database;
    const handle = openDatabase(config, dialect === 'postgres' ? { schema: location } : {});
    other = await startTestServer(dialect, {
      database: { ...server.database, handle },
      // Instances of one installation share its issuer, the `iss` of the tokens either mints.
      env: { KOIOS_FEDERATION_ALLOW_LOOPBACK_HTTP: 'true', KOIOS_ISSUER: server.url },
      services: { clock, throttleLimits: NO_THROTTLE, issuerFetchTimeoutMs: 60_000 },
    });
    as = { issuer: server.url, token_endpoint: `${server.url}/oauth/token` };
    viewerRoleId = (await builtInRoleIds(server)).viewer;
  });
  afterAll(async () => {
    await other?.close();
    await other?.database.handle.close();
    await server?.close();
    await issuer?.close();
  });

  /** A Viewer client with one federated credential for `subject` at the named test issuer. */
  async function federatedClient(issuerName: string, subject: string, conditions?: Record<string, string>, label = '') {
    const client = await newClient(server, `federated ${issuerName} ${subject} ${label}`.trim(), viewerRoleId);
    const credential = await server.services.federation.add(SYSTEM_ACTOR, client.id, {
      name: 'ci',
      issuer: await issuerUrl(issuerName),
      audience: AUDIENCE,
      subject,
      ...(conditions === undefined ? {} : { conditions }),
    });
    return { clientId: client.id, credential };
  }

  const issuerUrls = new Map<string, string>();
  async function issuerUrl(name: string, options?: Parameters<OidcIssuer['add']>[1]): Promise<string> {
    let url = issuerUrls.get(name);
    if (url === undefined) issuerUrls.set(name, (url = await issuer.add(name, options)));
    return url;
  }

  /** The exchange as a client library makes it (oauth4webapi's generic grant). */
  async function exchange(clientId: string, subjectToken: string, scope?: string) {
    const response = await oauth.genericTokenEndpointRequest(
      as,
      { client_id: clientId },
      oauth.None(),
      EXCHANGE,
      { subject_token: subjectToken, subject_token_type: JWT_TYPE, ...(scope === undefined ? {} : { scope }) },
      INSECURE,
    );
    return oauth.processGenericTokenEndpointResponse(as, { client_id: clientId }, response);
  }

  /** Where an instance listens (its `url` is the issuer the two instances share). */
  const addressOf = (instance: TestServer) => `http://${instance.config.host}:${instance.config.port}`;

  /** The raw answer of an exchange at `at` (default the first instance). */
  const rawExchange = async (clientId: string, subjectToken: string, at: TestServer = server) =>
    answerOf(
      await fetch(`${addressOf(at)}/oauth/token`, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: EXCHANGE, client_id: clientId, subject_token: subjectToken, subject_token_type: JWT_TYPE }),
      }),
    );

  /** The raw answer of a refused exchange, and the reasons recorded for the client's admins. */
  async function refusal(clientId: string, subjectToken: string, at: TestServer = server) {
    const answer = await rawExchange(clientId, subjectToken, at);
    const counts = await at.services.failures.countsFor(clientId);
    return { status: answer.status, error: answer.json['error'], reasons: counts.map((row) => row.reason) };
  }

  const me = async (token: string, at: TestServer = server) => {
    const response = await fetch(`${addressOf(at)}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
    return { status: response.status, body: (await response.json()) as { id: string; permissions: string[] } };
  };

  it('exchanges a workload token for a token of the client, with its role and no secret', async () => {
    const { clientId, credential } = await federatedClient('ok', 'repo:acme/api:ref:refs/heads/main');
    const token = await issuer.mint('ok', { sub: 'repo:acme/api:ref:refs/heads/main', aud: AUDIENCE });
    const answer = await exchange(clientId, token);
    expect(answer.token_type).toBe('bearer');
    expect(answer['issued_token_type']).toBe('urn:ietf:params:oauth:token-type:access_token');
    const caller = await me(answer.access_token);
    expect(caller.status).toBe(200);
    expect(caller.body.id).toBe(clientId);
    expect(caller.body.permissions).toContain('clients:read');
    // scope narrows, never widens
    const narrowed = await exchange(clientId, token, 'roles:read');
    expect(narrowed.scope).toBe('roles:read');
    await expect(exchange(clientId, token, 'clients:delete')).rejects.toMatchObject({ error: 'invalid_scope' });
    // The credential's last use is written coalesced, and shown before it is.
    const [listed] = await server.services.federation.list(SYSTEM_ACTOR, clientId);
    expect(listed!.id).toBe(credential.id);
    expect(listed!.lastUsedAt).not.toBeNull();
  });

  it.each([
    ['a wrong audience', { aud: 'https://someone-else.example' }, {}, 'federation_no_match'],
    ['another subject', { sub: 'repo:acme/other:ref:refs/heads/main' }, {}, 'federation_no_match'],
    ['a failed condition', { environment: 'staging' }, {}, 'federation_no_match'],
    ['an issuer the client does not trust', { iss: 'https://token.actions.githubusercontent.com' }, {}, 'federation_no_match'],
    ['an expired token', {}, { issuedAt: -3600 }, 'federation_bad_token'],
    ['a token issued in the future', {}, { issuedAt: 600 }, 'federation_bad_token'],
  ] as const)('refuses %s with invalid_grant and tells the admins why', async (_what, claims, options, reason) => {
    const name = `refusal-${reason}-${Object.keys(claims).join('') || 'time'}-${'issuedAt' in options ? options.issuedAt : 0}`;
    const { clientId } = await federatedClient(name, 'repo:acme/api:ref:refs/heads/main', { environment: 'production' });
    const good = { sub: 'repo:acme/api:ref:refs/heads/main', aud: AUDIENCE, environment: 'production' };
    expect((await exchange(clientId, await issuer.mint(name, good))).access_token).toBeTruthy();
    const shifted = 'issuedAt' in options ? { issuedAt: Math.floor(clock.now().getTime() / 1000) + options.issuedAt } : {};
    const answer = await refusal(clientId, await issuer.mint(name, { ...good, ...claims }, shifted));
    expect(answer).toEqual({ status: 400, error: 'invalid_grant', reasons: [reason] });
  });

  it.each([
    ['accepts a token expired less than the skew ago', { expiresAt: -30 }, null],
    ['refuses a token expired more than the skew ago', { expiresAt: -120 }, 'federation_bad_token'],
    ['accepts a token valid from less than the skew ahead', { notBefore: 30 }, null],
    ['refuses a token valid only from more than the skew ahead', { notBefore: 120 }, 'federation_bad_token'],
    ['accepts a token issued less than the skew ahead, without nbf', { issuedAt: 30, notBefore: null }, null],
    ['refuses a token issued more than the skew ahead, without nbf', { issuedAt: 120, notBefore: null }, 'federation_bad_token'],
    ['refuses a token without exp', { expiresAt: null }, 'federation_bad_token'],
    ['refuses a token without iat', { issuedAt: null }, 'federation_bad_token'],
  ] as const)('%s', async (what, shift, reason) => {
    // Times relative to the server's clock, in seconds; null leaves the claim out.
    const nowSeconds = Math.floor(clock.now().getTime() / 1000);
    const at = (seconds: number | null | undefined) => (seconds === undefined ? undefined : seconds === null ? null : nowSeconds + seconds);
    const options = Object.fromEntries(Object.entries(shift).map(([claim, seconds]) => [claim, at(seconds)]));
    const { clientId } = await federatedClient('skew', 'ci', undefined, what);
    const token = await issuer.mint('skew', { sub: 'ci', aud: AUDIENCE }, options);
    if (reason === null) expect((await exchange(clientId, token)).access_token).toBeTruthy();
    else expect(await refusal(clientId, token)).toEqual({ status: 400, error: 'invalid_grant', reasons: [reason] });
  });

  describe('forged subject tokens', () => {
    const claims = { sub: 'ci', aud: AUDIENCE };
    const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    /** A token with any header, signed (or not) as the attacker likes. */
    const craft = (header: Record<string, unknown>, payload: Record<string, unknown>, sign: (input: string) => string) => {
      const input = `${base64url(header)}.${base64url(payload)}`;
      return `${input}.${sign(input)}`;
    };
    const hs256 = (secret: Buffer | string) => (input: string) => createHmac('sha256', secret).update(input).digest('base64url');
    const payloadOf = async (name: string) => {
      const nowSeconds = Math.floor(clock.now().getTime() / 1000);
      return { ...claims, iss: await issuerUrl(name), iat: nowSeconds, exp: nowSeconds + 300 };
    };

    it('refuses a token signed by another trusted issuer under this issuer’s kid', async () => {
      const client = await newClient(server, 'trusts two issuers', viewerRoleId);
      for (const name of ['mix-victim', 'mix-attacker'])
        await server.services.federation.add(SYSTEM_ACTOR, client.id, { name, issuer: await issuerUrl(name), audience: AUDIENCE, subject: 'ci' });
      expect((await exchange(client.id, await issuer.mint('mix-victim', claims))).access_token).toBeTruthy();
      const sameKid = await issuer.mint('mix-victim', claims, { signWith: 'mix-attacker', kid: issuer.currentKid('mix-victim') });
      const ownKid = await issuer.mint('mix-victim', claims, { signWith: 'mix-attacker' });
      expect(await refusal(client.id, sameKid)).toMatchObject({ status: 400, error: 'invalid_grant', reasons: ['federation_bad_token'] });
      expect(await refusal(client.id, ownKid)).toMatchObject({ status: 400, error: 'invalid_grant', reasons: ['federation_bad_token'] });
    });

    it('refuses alg none, and HS256 keyed with the issuer’s JWKS, its key or its PEM', async () => {
      const url = await issuerUrl('confusion');
      const { clientId } = await federatedClient('confusion', 'ci');
      expect((await exchange(clientId, await issuer.mint('confusion', claims))).access_token).toBeTruthy();
      const kid = issuer.currentKid('confusion');
      const jwksText = await (await fetch(`${url}/jwks`)).text();
      const jwk = (JSON.parse(jwksText) as { keys: Record<string, unknown>[] }).keys[0]!;
      const pem = createPublicKey({ key: jwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
      const payload = await payloadOf('confusion');
      const forgeries = [
        craft({ alg: 'none', typ: 'JWT', kid }, payload, () => ''),
        craft({ alg: 'HS256', typ: 'JWT', kid }, payload, hs256(jwksText)),
        craft({ alg: 'HS256', typ: 'JWT', kid }, payload, hs256(JSON.stringify(jwk))),
        craft({ alg: 'HS256', typ: 'JWT', kid }, payload, hs256(pem)),
        craft({ alg: 'HS256', typ: 'JWT' }, payload, hs256(pem)),
      ];
      for (const forged of forgeries)
        expect(await refusal(clientId, forged)).toMatchObject({ status: 400, error: 'invalid_grant', reasons: ['federation_bad_token'] });
    });

    it('refuses HS256 keyed with a symmetric key the issuer’s JWKS publishes', async () => {
      const url = await issuerUrl('publishes-secret', { behaviour: 'publishes-secret' });
      const { clientId } = await federatedClient('publishes-secret', 'ci');
      expect((await exchange(clientId, await issuer.mint('publishes-secret', claims))).access_token).toBeTruthy();
      const { keys } = (await (await fetch(`${url}/jwks`)).json()) as { keys: { kty: string; kid: string; k?: string }[] };
      const secret = keys.find((key) => key.kty === 'oct')!;
      const forged = craft({ alg: 'HS256', typ: 'JWT', kid: secret.kid }, await payloadOf('publishes-secret'), hs256(Buffer.from(secret.k!, 'base64url')));
      expect(await refusal(clientId, forged)).toMatchObject({ status: 400, error: 'invalid_grant', reasons: ['federation_bad_token'] });
    });
  });

  it('accepts an audience array holding the credential’s audience among others (RFC 7519 §4.1.3), and refuses one without it', async () => {
    const { clientId } = await federatedClient('audiences', 'ci');
    const mint = (aud: string | string[]) => issuer.mint('audiences', { sub: 'ci', aud });
    expect((await exchange(clientId, await mint(['https://other.example', AUDIENCE, 'sts.amazonaws.com']))).access_token).toBeTruthy();
    expect(await refusal(clientId, await mint(['https://other.example', `${AUDIENCE}/`]))).toMatchObject({ reasons: ['federation_no_match'] });
    expect(await refusal(clientId, await mint(`${AUDIENCE}.evil.example`))).toMatchObject({ reasons: ['federation_no_match'] });
  });

  it('matches a prefix literally, across a name boundary: repo:acme/api* admits repo:acme/api-evil (a prefix should end at a : )', async () => {
    // Intended: `*` is a plain prefix, as the README warns; `repo:acme/api:*` is the prefix that stops at the name.
    const { clientId } = await federatedClient('boundary', 'repo:acme/api*');
    expect(
      (await exchange(clientId, await issuer.mint('boundary', { sub: 'repo:acme/api-evil:ref:refs/heads/main', aud: AUDIENCE }))).access_token,
    ).toBeTruthy();
    expect(await refusal(clientId, await issuer.mint('boundary', { sub: 'repo:acme/ap', aud: AUDIENCE }))).toMatchObject({ reasons: ['federation_no_match'] });
  });

  it('holds a token minted by exchange to its client’s state as a secret’s: disabled, re-enabled, demoted, deleted', async () => {
    const { clientId } = await federatedClient('client-state', 'ci');
    const minted = (await exchange(clientId, await issuer.mint('client-state', { sub: 'ci', aud: AUDIENCE }))).access_token;
    expect((await me(minted)).status).toBe(200);
    await server.services.clients.setEnabled(SYSTEM_ACTOR, clientId, false);
    expect((await me(minted)).status).toBe(401);
    await server.services.clients.setEnabled(SYSTEM_ACTOR, clientId, true);
    expect((await me(minted)).status).toBe(200);
    await server.services.clients.update(SYSTEM_ACTOR, clientId, { roleId: null });
    expect((await me(minted)).body.permissions).toEqual([]);
    await server.services.clients.delete(SYSTEM_ACTOR, clientId);
    expect((await me(minted)).status).toBe(401);
  });

  it('applies an added and a removed credential on the next requests of another instance, whose live tokens then die', async () => {
    const admin = { token: await accessToken(server, await newClient(server, 'federation admin two instances', (await builtInRoleIds(server)).administrator)) };
    const client = await newClient(server, 'federated across instances', viewerRoleId);
    const url = await issuerUrl('instances');
    const workload = await issuer.mint('instances', { sub: 'ci', aud: AUDIENCE });
    // The other instance has read the client (no rules yet) and holds it in its cache.
    expect(await refusal(client.id, workload, other)).toMatchObject({ error: 'invalid_grant', reasons: ['federation_no_match'] });
    const added = await rest<{ id: string }>(server, 'POST', `/api/v1/clients/${client.id}/federated-credentials`, admin, {
      name: 'ci',
      issuer: url,
      audience: AUDIENCE,
      subject: 'ci',
    });
    expect(added.status).toBe(201);
    expect(await withinOneSecond(async () => (await rawExchange(client.id, workload, other)).status, 200)).toBe(200);
    const minted = String((await rawExchange(client.id, workload, other)).json['access_token']);
    expect((await me(minted, server)).status).toBe(200);
    expect((await me(minted, other)).status).toBe(200);
    expect((await rest(server, 'DELETE', `/api/v1/clients/${client.id}/federated-credentials/${added.body.id}`, admin)).status).toBe(204);
    expect(await withinOneSecond(async () => (await me(minted, other)).status, 401)).toBe(401);
    expect((await rawExchange(client.id, workload, other)).json['error']).toBe('invalid_grant');
  });

  it('stops matching a credential whose issuer the installation’s allowlist no longer holds, without fetching its keys', async () => {
    const { clientId } = await federatedClient('allowlisted-later', 'ci');
    const workload = await issuer.mint('allowlisted-later', { sub: 'ci', aud: AUDIENCE });
    expect((await exchange(clientId, workload)).access_token).toBeTruthy();
    const fetches = issuer.jwksFetches('allowlisted-later');
    const { config, location } = server.database;
    const handle = openDatabase(config, dialect === 'postgres' ? { schema: location } : {});
    const restricted = await startTestServer(dialect, {
      database: { ...server.database, handle },
      env: { KOIOS_FEDERATION_ALLOW_LOOPBACK_HTTP: 'true', KOIOS_FEDERATION_ISSUERS: 'https://token.actions.githubusercontent.com' },
      services: { clock, throttleLimits: NO_THROTTLE },
    });
    try {
      expect(await refusal(clientId, workload, restricted)).toMatchObject({ error: 'invalid_grant', reasons: ['federation_no_match'] });
      expect(issuer.jwksFetches('allowlisted-later')).toBe(fetches);
    } finally {
      await restricted.close();
      await handle.close();
    }
  });

  it('counts an exchange against the client’s tokensPerMinute, with the RateLimit fields on its 200 and, over it, on a 429 with Retry-After, recorded as rate_limited', async () => {
    // Just after a minute starts, so both exchanges fall in one window.
    clock.advance(60 - (clock.now().getTime() % 60_000) / 1000 + 0.1);
    const { clientId } = await federatedClient('limited', 'repo:acme/api:ref:refs/heads/main');
    await server.services.clients.update(SYSTEM_ACTOR, clientId, { rateLimit: { tokensPerMinute: 1 } });
    const token = await issuer.mint('limited', { sub: 'repo:acme/api:ref:refs/heads/main', aud: AUDIENCE });
    const exchangeOnce = async () =>
      answerOf(
        await fetch(as.token_endpoint!, {
          method: 'POST',
          body: new URLSearchParams({ grant_type: EXCHANGE, client_id: clientId, subject_token: token, subject_token_type: JWT_TYPE }),
        }),
      );
    const admitted = await exchangeOnce();
    expect(admitted.status).toBe(200);
    expect(admitted.json['access_token']).toBeTruthy();
    expect(admitted.headers.get('ratelimit-policy')).toBe('"per-client";q=1;w=60');
    expect(admitted.headers.get('ratelimit')).toMatch(/^"per-client";r=0;t=\d+$/);
    const refused = await exchangeOnce();
    expect(refused.status).toBe(429);
    expect(refused.json['error']).toBe('too_many_requests');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused.headers.get('ratelimit-policy')).toBe('"per-client";q=1;w=60');
    expect(refused.headers.get('ratelimit')).toMatch(/^"per-client";r=0;t=\d+$/);
    const counts = await server.services.failures.countsFor(clientId);
    expect(counts.map((row) => [row.reason, Number(row.count)])).toEqual([['rate_limited', 1]]);
  });

  it('refuses a token not signed by the issuer, and garbage, as federation_bad_token', async () => {
    const { clientId } = await federatedClient('forged', 'system:serviceaccount:prod:api');
    await exchange(clientId, await issuer.mint('forged', { sub: 'system:serviceaccount:prod:api', aud: AUDIENCE }));
    const forged = await issuer.mint('forged', { sub: 'system:serviceaccount:prod:api', aud: AUDIENCE });
    const [header, payload] = forged.split('.');
    const otherSignature = (await issuer.mint('forged', { sub: 'x', aud: AUDIENCE })).split('.')[2];
    expect(await refusal(clientId, `${header}.${payload}.${otherSignature}`)).toMatchObject({ error: 'invalid_grant', reasons: ['federation_bad_token'] });
    expect(await refusal(clientId, 'not-a-jwt')).toMatchObject({ error: 'invalid_grant' });
  });

  it('matches a subject ending in * as a prefix, and only as one', async () => {
    const { clientId } = await federatedClient('prefix', 'repo:acme/api:*');
    const tokenFor = (sub: string) => issuer.mint('prefix', { sub, aud: AUDIENCE });
    expect((await exchange(clientId, await tokenFor('repo:acme/api:ref:refs/heads/main'))).access_token).toBeTruthy();
    expect((await exchange(clientId, await tokenFor('repo:acme/api:environment:prod'))).access_token).toBeTruthy();
    expect(await refusal(clientId, await tokenFor('repo:acme/api-internal:ref:refs/heads/main'))).toMatchObject({ reasons: ['federation_no_match'] });
  });

  it('answers invalid_client for a disabled, a deleted or an unknown client', async () => {
    const { clientId } = await federatedClient('state', 'ci');
    const token = await issuer.mint('state', { sub: 'ci', aud: AUDIENCE });
    await server.services.clients.setEnabled(SYSTEM_ACTOR, clientId, false);
    expect(await refusal(clientId, token)).toMatchObject({ status: 401, error: 'invalid_client', reasons: ['disabled'] });
    await server.services.clients.setEnabled(SYSTEM_ACTOR, clientId, true);
    expect((await exchange(clientId, token)).access_token).toBeTruthy();
    await server.services.clients.delete(SYSTEM_ACTOR, clientId);
    expect((await refusal(clientId, token)).error).toBe('invalid_client');
    expect((await refusal('00000000-0000-4000-8000-000000000000', token)).error).toBe('invalid_client');
  });

  it('kills the tokens minted through a credential on the next request once it is removed', async () => {
    const { clientId, credential } = await federatedClient('removal', 'ci');
    const workload = await issuer.mint('removal', { sub: 'ci', aud: AUDIENCE });
    const minted = (await exchange(clientId, workload)).access_token;
    // A secret regeneration leaves it alone: it was not minted with the secret.
    await server.services.clients.regenerateSecret(SYSTEM_ACTOR, clientId);
    expect((await me(minted)).status).toBe(200);
    const admin = { token: await accessToken(server, await newClient(server, 'federation admin', (await builtInRoleIds(server)).administrator)) };
    const removed = await rest(server, 'DELETE', `/api/v1/clients/${clientId}/federated-credentials/${credential.id}`, admin);
    expect(removed.status).toBe(204);
    expect((await me(minted)).status).toBe(401);
    const again = await refusal(clientId, workload);
    expect(again.error).toBe('invalid_grant');
    // Admins see why the token died, not a secret's reason: it never had one.
    expect(again.reasons.sort()).toEqual(['federation_no_match', 'removed_federated_credential']);
    const events = await server.services.audit.list(SYSTEM_ACTOR, { targetId: clientId });
    expect(events.items.map((event) => event.action)).toContain('client.federated_credential_removed');
  });

  it('refetches the keys once for an unknown kid, then not again within a minute', async () => {
    const { clientId } = await federatedClient('kid', 'ci');
    await exchange(clientId, await issuer.mint('kid', { sub: 'ci', aud: AUDIENCE }));
    expect(issuer.jwksFetches('kid')).toBe(1);
    clock.advance(61);
    const unknownKid = await issuer.mint('kid', { sub: 'ci', aud: AUDIENCE }, { key: 'unpublished' });
    expect((await refusal(clientId, unknownKid)).reasons).toEqual(['federation_bad_token']);
    expect(issuer.jwksFetches('kid')).toBe(2);
    await refusal(clientId, unknownKid);
    await refusal(clientId, unknownKid);
    expect(issuer.jwksFetches('kid')).toBe(2);
  });

  it('follows a key rotation through the unknown kid, and the JWKS Cache-Control otherwise', async () => {
    await issuerUrl('rotation', { cacheControl: 'public, max-age=600' });
    const { clientId } = await federatedClient('rotation', 'ci');
    await exchange(clientId, await issuer.mint('rotation', { sub: 'ci', aud: AUDIENCE }));
    await exchange(clientId, await issuer.mint('rotation', { sub: 'ci', aud: AUDIENCE }));
    expect(issuer.jwksFetches('rotation')).toBe(1);
    clock.advance(61);
    await issuer.rotate('rotation');
    expect((await exchange(clientId, await issuer.mint('rotation', { sub: 'ci', aud: AUDIENCE }))).access_token).toBeTruthy();
    expect(issuer.jwksFetches('rotation')).toBe(2);
    // Past the max-age the keys are fetched again without being asked.
    clock.advance(601);
    await exchange(clientId, await issuer.mint('rotation', { sub: 'ci', aud: AUDIENCE }));
    expect(issuer.jwksFetches('rotation')).toBe(3);
  });

  it.each([
    ['Cache-Control: no-store', 'floor-no-store', 'no-store'],
    ['a max-age below a minute', 'floor-short', 'max-age=5'],
  ])('keeps keys sent with %s for the one-minute floor, then fetches them again', async (_what, name, cacheControl) => {
    await issuerUrl(name, { cacheControl });
    const { clientId } = await federatedClient(name, 'ci');
    const exchangeNow = async () => exchange(clientId, await issuer.mint(name, { sub: 'ci', aud: AUDIENCE }));
    await exchangeNow();
    clock.advance(30);
    await exchangeNow();
    expect(issuer.jwksFetches(name)).toBe(1);
    clock.advance(31);
    await exchangeNow();
    expect(issuer.jwksFetches(name)).toBe(2);
  });

  it.each([
    ['redirects discovery to another host', 'other-host-redirect'],
    ['redirects its JWKS address to another host', 'jwks-other-host-redirect'],
    ['streams a JWKS past the size limit', 'oversize'],
    ['declares a JWKS past the size limit', 'oversize-declared'],
    ['stops sending its JWKS halfway until the fetch times out', 'stalled-body'],
    ['publishes discovery naming another issuer', 'wrong-issuer'],
    ['names a plain http jwks_uri off loopback', 'insecure-jwks-uri'],
  ] as const)('refuses an issuer that %s as federation_issuer_unreachable', async (_what, behaviour) => {
    await issuerUrl(behaviour, { behaviour });
    const { clientId } = await federatedClient(behaviour, 'ci');
    expect(await refusal(clientId, await issuer.mint(behaviour, { sub: 'ci', aud: AUDIENCE }))).toMatchObject({
      error: 'invalid_grant',
      reasons: ['federation_issuer_unreachable'],
    });
  });

  it('follows a redirect within the issuer’s own host', async () => {
    await issuerUrl('same-host', { behaviour: 'same-host-redirect' });
    const { clientId } = await federatedClient('same-host', 'ci');
    expect((await exchange(clientId, await issuer.mint('same-host', { sub: 'ci', aud: AUDIENCE }))).access_token).toBeTruthy();
  });

  it('gives up on a silent issuer when the fetch times out, as federation_issuer_unreachable', async () => {
    await issuerUrl('silent', { behaviour: 'silent' });
    const silent = await federatedClient('silent', 'ci');
    expect(await refusal(silent.clientId, await issuer.mint('silent', { sub: 'ci', aud: AUDIENCE }))).toMatchObject({
      error: 'invalid_grant',
      reasons: ['federation_issuer_unreachable'],
    });
  });

  it('answers other exchanges and secret grants while an issuer holds its fetch, and asks the held issuer once', async () => {
    // On the instance whose fetches wait a minute: the held fetch ends only when the test drops it.
    await issuerUrl('held', { behaviour: 'held' });
    const held = await federatedClient('held', 'ci');
    const healthy = await federatedClient('unhindered', 'ci');
    const secretClient = await newClient(server, 'secret beside a held issuer', viewerRoleId);
    const heldToken = await issuer.mint('held', { sub: 'ci', aud: AUDIENCE });
    let settled = 0;
    const stuck = [refusal(held.clientId, heldToken, other), refusal(held.clientId, heldToken, other)].map((answer) => answer.finally(() => (settled += 1)));
    await issuer.holding('held');
    const healthyAnswer = await rawExchange(healthy.clientId, await issuer.mint('unhindered', { sub: 'ci', aud: AUDIENCE }), other);
    expect(healthyAnswer.status).toBe(200);
    expect((await me(String(healthyAnswer.json['access_token']), other)).status).toBe(200);
    expect((await me(await accessToken(addressOf(other), secretClient), other)).status).toBe(200);
    expect(settled).toBe(0);
    // Both waiting exchanges share one refresh: the held issuer was asked once.
    expect(issuer.discoveryRequests('held')).toBe(1);
    issuer.release('held');
    for (const answer of await Promise.all(stuck)) expect(answer).toMatchObject({ error: 'invalid_grant', reasons: ['federation_issuer_unreachable'] });
  });

  it('refuses an issuer nobody listens on as federation_issuer_unreachable', async () => {
    const client = await newClient(server, 'closed port', viewerRoleId);
    const closed = `http://127.0.0.1:${await freePort()}/gone`;
    await server.services.federation.add(SYSTEM_ACTOR, client.id, { name: 'gone', issuer: closed, audience: AUDIENCE, subject: 'ci' });
    const token = await issuer.mint('ok', { iss: closed, sub: 'ci', aud: AUDIENCE });
    expect(await refusal(client.id, token)).toMatchObject({ error: 'invalid_grant', reasons: ['federation_issuer_unreachable'] });
  });

  describe('REST', () => {
    let admin: { token: string };
    let clientId: string;
    beforeAll(async () => {
      admin = { token: await accessToken(server, await newClient(server, 'rest admin', (await builtInRoleIds(server)).administrator)) };
      clientId = (await newClient(server, 'rest target', viewerRoleId)).id;
    });
    const path = () => `/api/v1/clients/${clientId}/federated-credentials`;
    const body = {
      name: 'GitHub main',
      issuer: 'https://token.actions.githubusercontent.com',
      audience: AUDIENCE,
      subject: 'repo:acme/api:ref:refs/heads/main',
    };

    it('adds, lists and removes credentials with the pinned shapes, audited', async () => {
      const created = await rest<Record<string, unknown>>(server, 'POST', path(), admin, { ...body, conditions: { repository_owner: 'acme' } });
      expect(created.status).toBe(201);
      expect(Object.keys(created.body).sort()).toEqual(['audience', 'conditions', 'createdAt', 'id', 'issuer', 'lastUsedAt', 'name', 'subject']);
      expect(created.body).toMatchObject({ ...body, conditions: { repository_owner: 'acme' }, lastUsedAt: null });
      const listed = await rest<{ items: { id: string }[] }>(server, 'GET', path(), admin);
      expect(listed.body.items.map((item) => item.id)).toEqual([created.body['id']]);
      expect((await rest(server, 'POST', path(), admin, body)).status).toBe(409);
      expect((await rest(server, 'DELETE', `${path()}/${String(created.body['id'])}`, admin)).status).toBe(204);
      expect((await rest(server, 'DELETE', `${path()}/${String(created.body['id'])}`, admin)).status).toBe(404);
      const events = await server.services.audit.list(SYSTEM_ACTOR, { targetId: clientId });
      expect(events.items.map((event) => event.action)).toContain('client.federated_credential_added');
    });

    it.each([
      ['issuer', { issuer: 'http://token.actions.githubusercontent.com' }],
      ['issuer', { issuer: 'not a url' }],
      ['subject', { subject: '*' }],
      ['subject', { subject: 'repo:*:ref' }],
      ['conditions.sub', { conditions: { sub: 'x' } }],
    ])('refuses a bad %s with a problem naming it', async (field, change) => {
      const answer = await rest<{ errors?: { field: string }[] }>(server, 'POST', path(), admin, { ...body, name: `bad ${field}`, ...change });
      expect(answer.status).toBe(400);
      expect(JSON.stringify(answer.body)).toContain(field);
    });

    it('adds, lists and removes credentials through GraphQL with the same names', async () => {
      const graphql = graphqlClient(server, admin.token);
      const added = await graphql<{ addApiClientFederatedCredential: { id: string; conditions: Record<string, string> } }>(
        `
          mutation ($id: ID!, $input: AddFederatedCredentialInput!) {
            addApiClientFederatedCredential(id: $id, input: $input) {
              id
              name
              issuer
              audience
              subject
              conditions
              createdAt
              lastUsedAt
            }
          }
        `,
        { id: clientId, input: { ...body, name: 'through GraphQL', conditions: { environment: 'production' } } },
      );
      expect(added.errors).toEqual([]);
      const id = added.data!.addApiClientFederatedCredential.id;
      expect(added.data!.addApiClientFederatedCredential.conditions).toEqual({ environment: 'production' });
      const listed = await graphql<{ apiClient: { federatedCredentials: { id: string }[] } }>(
        `{ apiClient(id: "${clientId}") { federatedCredentials { id name } } }`,
      );
      expect(listed.data!.apiClient.federatedCredentials.map((credential) => credential.id)).toContain(id);
      const bad = await graphql(
        `mutation { addApiClientFederatedCredential(id: "${clientId}", input: { name: "x", issuer: "http://example.com", audience: "a", subject: "s" }) { id } }`,
      );
      expect(codesOf(bad)).toEqual(['BAD_USER_INPUT']);
      const removed = await graphql<{ removeApiClientFederatedCredential: string }>(
        `mutation { removeApiClientFederatedCredential(id: "${clientId}", fcId: "${id}") }`,
      );
      expect(removed.data!.removeApiClientFederatedCredential).toBe(id);
    });

    it('answers 404 for an unknown client and 403 without clients:secrets', async () => {
      expect((await rest(server, 'GET', '/api/v1/clients/00000000-0000-4000-8000-000000000000/federated-credentials', admin)).status).toBe(404);
      const viewer = { token: await accessToken(server, await newClient(server, 'rest viewer', viewerRoleId)) };
      expect((await rest(server, 'POST', path(), viewer, body)).status).toBe(403);
      expect((await rest(server, 'GET', path(), viewer)).status).toBe(200);
    });
  });
});
