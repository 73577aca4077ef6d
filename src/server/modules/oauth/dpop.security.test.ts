import { createHash, randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, decodeJwt, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../actor.js';
import { testDialects } from '../../../../test/support/databases.js';
import { answerOf, basicHeader, builtInRoleIds, INSECURE, newClient, type ClientCredentials } from '../../../../test/support/oauth.js';
import { startTestServer, type TestServer } from '../../../../test/support/server.js';

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
