import { createHash, randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, decodeJwt, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../actor.js';
import type { Clock } from '../../clock.js';
import { openDatabase } from '../../db/database.js';
import { testDialects } from '../../../../test/support/databases.js';
import { answerOf, basicHeader, builtInRoleIds, INSECURE, newClient, type ClientCredentials } from '../../../../test/support/oauth.js';
import { startTestServer, type TestServer } from '../../../../test/support/server.js';
import { DPOP_NONCE_SLOT_SECONDS } from './dpop.js';

/**
 * DPoP (RFC 9449): tokens bound to the client's key at the token endpoint (§5), accepted at the
 * REST and GraphQL APIs only as `Authorization: DPoP` with a fresh proof by that key (§7), and
 * every way a stolen token or a captured proof could be played back refused.
 */
interface ProofKey {
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
  readonly jkt: string;
}

async function proofKey(): Promise<ProofKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(publicKey);
  return { privateKey, jwk, jkt: await calculateJwkThumbprint(jwk, 'sha256') };
}

const ath = (token: string) => createHash('sha256').update(token).digest('base64url');

/** A proof made by hand, so that each attack can change one thing of a good one. */
function proof(key: ProofKey, claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({ jti: randomUUID(), iat: Math.floor(Date.now() / 1000), ...claims })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.jwk, ...header })
    .sign(key.privateKey);
}

describe.each(testDialects())('DPoP-bound tokens (RFC 9449) on %s', (dialect) => {
  let server: TestServer;
  let client: ClientCredentials;
  let as: oauth.AuthorizationServer;
  let keyPair: Awaited<ReturnType<typeof oauth.generateKeyPair>>;
  let dpop: oauth.DPoPHandle;
  let token: string;
  let key: ProofKey;
  let handToken: string;

  const tokenRequest = (credentials: ClientCredentials, headers: Record<string, string> = {}) =>
    fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      headers: { authorization: basicHeader(credentials), 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: 'grant_type=client_credentials',
    }).then(answerOf);

  const me = async (authorization: string, dpopHeader?: string) => {
    const response = await fetch(`${server.url}/api/v1/me`, { headers: { authorization, ...(dpopHeader === undefined ? {} : { dpop: dpopHeader }) } });
    return { status: response.status, challenge: response.headers.get('www-authenticate') ?? '', text: await response.text() };
  };

  /** A proof by `key` that /api/v1/me would accept with `handToken`, but for the changes given. */
  const meProof = (changes: Record<string, unknown> = {}, header: Record<string, unknown> = {}, by: ProofKey = key) =>
    proof(by, { htm: 'GET', htu: `${server.url}/api/v1/me`, ath: ath(handToken), ...changes }, header);

  const expectRefused = async (dpopHeader: string | undefined, error: string, what: string, authorization = `DPoP ${handToken}`) => {
    const answer = await me(authorization, dpopHeader);
    expect(answer.status, what).toBe(401);
    expect(answer.challenge, what).toMatch(/^DPoP algs="[^"]*ES256[^"]*"/);
    expect(answer.challenge, what).toContain(`error="${error}"`);
  };

  beforeAll(async () => {
    server = await startTestServer(dialect);
    client = await newClient(server, 'dpop client', (await builtInRoleIds(server)).viewer);
    as = { issuer: server.url, token_endpoint: `${server.url}/oauth/token` };
    keyPair = await oauth.generateKeyPair('Ed25519');
    dpop = oauth.DPoP({}, keyPair);
    const response = await oauth.processClientCredentialsResponse(
      as,
      { client_id: client.id },
      await oauth.clientCredentialsGrantRequest(as, { client_id: client.id }, oauth.ClientSecretBasic(client.secret), new URLSearchParams(), {
        ...INSECURE,
        DPoP: dpop,
      }),
    );
    expect(response.token_type).toBe('dpop');
    token = response.access_token;
    key = await proofKey();
    const answer = await tokenRequest(client, { dpop: await proof(key, { htm: 'POST', htu: `${server.url}/oauth/token` }) });
    expect(answer.status).toBe(200);
    handToken = answer.json['access_token'] as string;
  });
  afterAll(async () => server?.close());

  it('lists the proof algorithms in the metadata', async () => {
    const metadata = (await (await fetch(`${server.url}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    expect(metadata['dpop_signing_alg_values_supported']).toEqual(expect.arrayContaining(['EdDSA', 'ES256', 'RS256', 'PS256']));
  });

  it('binds a token to the key of the proof (cnf.jkt) and accepts it with proofs by that key at REST and GraphQL', async () => {
    const publicJwk = await exportJWK(keyPair.publicKey);
    expect(decodeJwt(token)['cnf']).toEqual({ jkt: await calculateJwkThumbprint(publicJwk, 'sha256') });
    expect(decodeJwt(handToken)['cnf']).toEqual({ jkt: key.jkt });

    const rest = await oauth.protectedResourceRequest(token, 'GET', new URL(`${server.url}/api/v1/me?fields=all`), new Headers(), null, {
      ...INSECURE,
      DPoP: dpop,
    });
    expect(rest.status).toBe(200);
    expect(await rest.json()).toMatchObject({ type: 'client', id: client.id });

    const graphql = await oauth.protectedResourceRequest(
      token,
      'POST',
      new URL(`${server.url}/graphql`),
      new Headers({ 'content-type': 'application/json' }),
      JSON.stringify({ query: '{ me { id type } }' }),
      { ...INSECURE, DPoP: dpop },
    );
    expect(graphql.status).toBe(200);
    expect(await graphql.json()).toEqual({ data: { me: { id: client.id, type: 'CLIENT' } } });

    // RFC 9449 §6.2: introspection tells a resource server the binding.
    const introspection = await fetch(`${server.url}/oauth/introspect`, {
      method: 'POST',
      headers: { authorization: basicHeader(client), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: handToken }),
    }).then(answerOf);
    expect(introspection.json).toMatchObject({ active: true, token_type: 'DPoP', cnf: { jkt: key.jkt } });
  });

  it('refuses a DPoP-bound token sent as a bearer token (a stolen token without its key)', async () => {
    await expectRefused(undefined, 'invalid_token', 'as Bearer', `Bearer ${handToken}`);
    await expectRefused(await meProof(), 'invalid_token', 'as Bearer with a proof', `Bearer ${handToken}`);
  });

  it('refuses a proof for another method, another URL, or a URL named through the Host header', async () => {
    await expectRefused(await meProof({ htm: 'POST' }), 'invalid_dpop_proof', 'htm');
    await expectRefused(await meProof({ htu: `${server.url}/api/v1/clients` }), 'invalid_dpop_proof', 'htu');
    await expectRefused(await meProof({ htu: 'https://elsewhere.example/api/v1/me' }), 'invalid_dpop_proof', 'htu on another host');
    // A query and a fragment are not part of htu (RFC 9449 §4.3).
    expect((await me(`DPoP ${handToken}`, await meProof({ htu: `${server.url}/api/v1/me?x=1#y` }))).status).toBe(200);
  });

  it('refuses a stale or future proof, a replayed one, and one for another token (ath)', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectRefused(await meProof({ iat: now - 600 }), 'invalid_dpop_proof', 'stale iat');
    await expectRefused(await meProof({ iat: now + 600 }), 'invalid_dpop_proof', 'future iat');
    const once = await meProof();
    expect((await me(`DPoP ${handToken}`, once)).status).toBe(200);
    await expectRefused(once, 'invalid_dpop_proof', 'replayed jti');
    await expectRefused(await meProof({ ath: ath(token) }), 'invalid_dpop_proof', 'ath of another token');
    await expectRefused(await meProof({ ath: undefined }), 'invalid_dpop_proof', 'no ath');
  });

  it('refuses a proof signed by another key, one carrying a private key, one of another typ, and none at all', async () => {
    await expectRefused(await meProof({}, {}, await proofKey()), 'invalid_dpop_proof', 'another key');
    const privateJwk = await exportJWK(key.privateKey);
    await expectRefused(await meProof({}, { jwk: privateJwk }), 'invalid_dpop_proof', 'private key in jwk');
    await expectRefused(await meProof({}, { typ: 'JWT' }), 'invalid_dpop_proof', 'typ');
    await expectRefused(undefined, 'invalid_dpop_proof', 'no proof');
    // A bearer token is not a DPoP token.
    const bearer = await tokenRequest(client);
    expect(bearer.json['token_type']).toBe('Bearer');
    await expectRefused(
      await meProof({ ath: ath(bearer.json['access_token'] as string) }),
      'invalid_token',
      'bearer token as DPoP',
      `DPoP ${bearer.json['access_token'] as string}`,
    );
  });

  it('answers a bad proof at the token endpoint 400 invalid_dpop_proof and issues nothing', async () => {
    const tokenUrl = `${server.url}/oauth/token`;
    for (const [what, bad] of [
      ['private key', await proof(key, { htm: 'POST', htu: tokenUrl }, { jwk: await exportJWK(key.privateKey) })],
      ['another URL', await proof(key, { htm: 'POST', htu: `${server.url}/oauth/revoke` })],
      ['stale', await proof(key, { htm: 'POST', htu: tokenUrl, iat: Math.floor(Date.now() / 1000) - 600 })],
      ['not a JWT', 'not-a-proof'],
    ] as const) {
      const answer = await tokenRequest(client, { dpop: bad });
      expect(answer.status, what).toBe(400);
      expect(answer.json, what).toMatchObject({ error: 'invalid_dpop_proof' });
      expect(answer.json['access_token'], what).toBeUndefined();
    }
  });

  it('makes requireDpop, set through REST and GraphQL and audited, refuse bearer tokens and proofless token requests on the next request', async () => {
    const other = await newClient(server, 'dpop switch', (await builtInRoleIds(server)).viewer);
    const bearer = (await tokenRequest(other)).json['access_token'] as string;
    expect((await me(`Bearer ${bearer}`)).status).toBe(200);

    const admin = await newClient(server, 'dpop admin', (await builtInRoleIds(server)).administrator);
    const adminToken = (await tokenRequest(admin)).json['access_token'] as string;
    const patched = await fetch(`${server.url}/api/v1/clients/${other.id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ requireDpop: true }),
    });
    expect(patched.status).toBe(200);
    expect(await patched.json()).toMatchObject({ requireDpop: true });

    await expectRefused(undefined, 'invalid_token', 'bearer token of a client now requiring DPoP', `Bearer ${bearer}`);
    const proofless = await tokenRequest(other);
    expect(proofless.status).toBe(400);
    expect(proofless.json).toMatchObject({ error: 'invalid_request' });
    const otherKey = await proofKey();
    const bound = await tokenRequest(other, { dpop: await proof(otherKey, { htm: 'POST', htu: `${server.url}/oauth/token` }) });
    expect(bound.json).toMatchObject({ token_type: 'DPoP' });

    const graphql = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query: `mutation { updateApiClient(id: "${other.id}", input: { requireDpop: false }) { requireDpop } }` }),
    });
    expect(await graphql.json()).toEqual({ data: { updateApiClient: { requireDpop: false } } });
    expect((await tokenRequest(other)).status).toBe(200);

    const audit = await server.services.audit.list(SYSTEM_ACTOR, { action: 'client.updated', limit: 10 });
    const changes = audit.items.filter((entry) => entry.target?.id === other.id).map((entry) => entry.details);
    expect(changes).toEqual(expect.arrayContaining([{ requireDpop: { from: false, to: true } }, { requireDpop: { from: true, to: false } }]));
  });
});

/** oauth4webapi leaves the retry on use_dpop_nonce to its caller, once, with the nonce it has just cached. */
async function retryingOnNonce<T>(attempt: () => Promise<T>): Promise<{ result: T; retried: boolean }> {
  try {
    return { result: await attempt(), retried: false };
  } catch (error) {
    if (!oauth.isDPoPNonceError(error)) throw error;
    return { result: await attempt(), retried: true };
  }
}

/**
 * Server-provided nonces (RFC 9449 §8 at the token endpoint, §9 at the APIs) with
 * KOIOS_DPOP_NONCE=true, and a token request's proof accepted once across instances.
 */
describe.each(testDialects())('DPoP nonces and replay across instances on %s', (dialect) => {
  let server: TestServer;
  let other: TestServer;
  let client: ClientCredentials;
  let offset = 0;
  const clock: Clock = { now: () => new Date(Date.now() + offset) };
  /** Past the slot after the current one: every nonce sent so far is stale. */
  const outliveNonces = () => void (offset += 2 * DPOP_NONCE_SLOT_SECONDS * 1000);

  beforeAll(async () => {
    server = await startTestServer(dialect, { env: { KOIOS_DPOP_NONCE: 'true' }, services: { clock } });
    // A second instance on the same database, with its own memory of proofs; one issuer, as instances behind one name have.
    const handle = openDatabase(server.database.config, dialect === 'postgres' ? { schema: server.database.location } : {});
    other = await startTestServer(dialect, {
      database: { ...server.database, handle },
      env: { KOIOS_ISSUER: server.url, KOIOS_DPOP_NONCE: 'true' },
      services: { clock },
    });
    client = await newClient(server, 'nonce client', (await builtInRoleIds(server)).viewer);
  });
  afterAll(async () => {
    await other?.close();
    await other?.database.handle.close();
    await server?.close();
  });

  /** An instance's own address; its `url` is the issuer, which the two share. */
  const at = (target: TestServer) => `http://${target.config.host}:${target.config.port}`;
  const tokenUrl = () => `${server.url}/oauth/token`;
  const tokenRequest = (target: TestServer, dpopHeader: string) =>
    fetch(`${at(target)}/oauth/token`, {
      method: 'POST',
      headers: { authorization: basicHeader(client), 'content-type': 'application/x-www-form-urlencoded', dpop: dpopHeader },
      body: 'grant_type=client_credentials',
    }).then(answerOf);
  /** The nonce the server hands out now, from the answer to a proof without one. */
  const freshNonce = async (key: ProofKey): Promise<string> => {
    const answer = await tokenRequest(server, await proof(key, { htm: 'POST', htu: tokenUrl() }));
    expect(answer.json).toMatchObject({ error: 'use_dpop_nonce' });
    return answer.headers.get('dpop-nonce')!;
  };

  it('lets oauth4webapi get a DPoP token and call REST and GraphQL, retrying once on use_dpop_nonce', async () => {
    const as = { issuer: server.url, token_endpoint: tokenUrl() };
    const handle = oauth.DPoP({}, await oauth.generateKeyPair('ES256'));
    const granted = await retryingOnNonce(async () =>
      oauth.processClientCredentialsResponse(
        as,
        { client_id: client.id },
        await oauth.clientCredentialsGrantRequest(as, { client_id: client.id }, oauth.ClientSecretBasic(client.secret), new URLSearchParams(), {
          ...INSECURE,
          DPoP: handle,
        }),
      ),
    );
    // The first request had no nonce to send.
    expect(granted.retried).toBe(true);
    expect(granted.result.token_type).toBe('dpop');
    const token = granted.result.access_token;
    const call =
      (url: string, method: string, body: string | null, through: typeof fetch = fetch) =>
      async () => {
        const response = await oauth.protectedResourceRequest(token, method, new URL(url), new Headers({ 'content-type': 'application/json' }), body, {
          ...INSECURE,
          DPoP: handle,
          [oauth.customFetch]: through,
        });
        return { status: response.status, nonce: response.headers.get('dpop-nonce'), body: (await response.json()) as unknown };
      };

    // The token endpoint's nonce serves the APIs of the same origin: no retry.
    const rest = await retryingOnNonce(call(`${server.url}/api/v1/me`, 'GET', null));
    expect(rest).toMatchObject({ retried: false, result: { status: 200, body: { type: 'client', id: client.id } } });
    expect(rest.result.nonce).toMatch(/^[A-Za-z0-9_-]+$/);

    // Once that nonce is stale, the API answers 401 use_dpop_nonce (§9) and the retry passes.
    outliveNonces();
    const graphql = await retryingOnNonce(call(`${server.url}/graphql`, 'POST', JSON.stringify({ query: '{ me { id } }' })));
    expect(graphql).toMatchObject({ retried: true, result: { status: 200, body: { data: { me: { id: client.id } } } } });
    // The other instance accepts the same nonces.
    const toOther: typeof fetch = (url, init) => fetch(String(url).replace(server.url, at(other)), init);
    const elsewhere = await retryingOnNonce(call(`${server.url}/api/v1/me`, 'GET', null, toOther));
    expect(elsewhere).toMatchObject({ retried: false, result: { status: 200 } });
  });

  it('answers a token request whose proof has no nonce, a wrong one or a stale one 400 use_dpop_nonce with a DPoP-Nonce, and issues nothing', async () => {
    const key = await proofKey();
    const stale = await freshNonce(key);
    outliveNonces();
    for (const [what, nonce] of [
      ['no nonce', undefined],
      ['a nonce not ours', Buffer.alloc(16, 7).toString('base64url')],
      ['a stale nonce', stale],
    ] as const) {
      const answer = await tokenRequest(server, await proof(key, { htm: 'POST', htu: tokenUrl(), nonce }));
      expect({ what, status: answer.status, error: answer.json['error'] }).toEqual({ what, status: 400, error: 'use_dpop_nonce' });
      expect(answer.headers.get('dpop-nonce'), what).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(answer.headers.get('cache-control'), what).toBe('no-store');
      expect(answer.json['access_token'], what).toBeUndefined();
    }
    // The nonce given works, and a success carries the current nonce too (§8.2).
    const answer = await tokenRequest(server, await proof(key, { htm: 'POST', htu: tokenUrl(), nonce: await freshNonce(key) }));
    expect(answer.json).toMatchObject({ token_type: 'DPoP' });
    expect(answer.headers.get('dpop-nonce')).toMatch(/^[A-Za-z0-9_-]{22}$/);
    // A missing nonce is the protocol's first step, not a refusal shown to the client's admins.
    await server.services.failures.flush();
    const counts = await server.services.failures.countsFor(client.id);
    expect(counts.filter((row) => row.reason === 'bad_dpop_proof')).toEqual([]);
  });

  it('answers an API call whose proof has no nonce, a wrong one or a stale one 401 DPoP error="use_dpop_nonce" with a DPoP-Nonce', async () => {
    const key = await proofKey();
    const nonce = await freshNonce(key);
    const token = (await tokenRequest(server, await proof(key, { htm: 'POST', htu: tokenUrl(), nonce }))).json['access_token'] as string;
    expect(token).toEqual(expect.any(String));
    const call = async (path: string, method: string, proofNonce: string | undefined) => {
      const response = await fetch(`${server.url}${path}`, {
        method,
        headers: {
          authorization: `DPoP ${token}`,
          'content-type': 'application/json',
          dpop: await proof(key, { htm: method, htu: `${server.url}${path}`, ath: ath(token), nonce: proofNonce }),
        },
        ...(method === 'POST' ? { body: JSON.stringify({ query: '{ me { id } }' }) } : {}),
      });
      return { status: response.status, challenge: response.headers.get('www-authenticate') ?? '', nonce: response.headers.get('dpop-nonce') };
    };
    expect((await call('/api/v1/me', 'GET', nonce)).status).toBe(200);
    outliveNonces();
    for (const [path, method] of [
      ['/api/v1/me', 'GET'],
      ['/graphql', 'POST'],
    ] as const) {
      for (const [what, bad] of [
        ['no nonce', undefined],
        ['a nonce not ours', Buffer.alloc(16, 7).toString('base64url')],
        ['a stale nonce', nonce],
      ] as const) {
        const answer = await call(path, method, bad);
        expect({ path, what, status: answer.status }).toEqual({ path, what, status: 401 });
        expect(answer.challenge, `${path} ${what}`).toMatch(/^DPoP .*error="use_dpop_nonce"/);
        expect(answer.nonce, `${path} ${what}`).toMatch(/^[A-Za-z0-9_-]{22}$/);
      }
      const current = (await call(path, method, undefined)).nonce!;
      expect((await call(path, method, current)).status, path).toBe(200);
    }
  });

  it('advertises nothing beyond the standard metadata for nonces', async () => {
    const metadata = (await (await fetch(`${server.url}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    expect(Object.keys(metadata).filter((name) => /nonce/i.test(name))).toEqual([]);
  });

  it('refuses a token request proof replayed on another instance, which never saw it', async () => {
    const key = await proofKey();
    const once = await proof(key, { htm: 'POST', htu: tokenUrl(), nonce: await freshNonce(key) });
    expect((await tokenRequest(server, once)).json).toMatchObject({ token_type: 'DPoP' });
    const replayed = await tokenRequest(other, once);
    expect(replayed.status).toBe(400);
    expect(replayed.json).toMatchObject({ error: 'invalid_dpop_proof', error_description: expect.stringContaining('jti') });
    expect(replayed.json['access_token']).toBeUndefined();
    // Two instances racing for one proof: one token at most.
    const raced = await proof(key, { htm: 'POST', htu: tokenUrl(), nonce: await freshNonce(key) });
    const answers = await Promise.all([tokenRequest(server, raced), tokenRequest(other, raced)]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 400]);
  });
});
