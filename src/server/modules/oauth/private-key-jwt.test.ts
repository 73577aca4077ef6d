import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../actor.js';
import type { Clock } from '../../clock.js';
import { openDatabase } from '../../db/database.js';
import { BadInput } from '../../errors.js';
import { publicJwkFromText } from '../../../shared/public-keys.js';
import { testDialects } from '../../../../test/support/databases.js';
import { actorWith, answerOf, builtInRoleIds, INSECURE } from '../../../../test/support/oauth.js';
import { fieldsOf, rest } from '../../../../test/support/rest.js';
import { graphqlClient } from '../../../../test/support/graphql.js';
import { startTestServer, type TestServer } from '../../../../test/support/server.js';
import { JWT_BEARER_ASSERTION_TYPE } from './client-assertion.js';

/**
 * private_key_jwt client authentication (RFC 7523 §2.2, OpenID Connect Core §9): a client holding
 * no shared secret proves a private key with a signed assertion, through oauth4webapi as a real
 * client would; every bad assertion is the one invalid_client, its reason kept for admins.
 */
const NO_THROTTLE = { perClient: 10_000, perAddress: 100_000, windowSeconds: 60 };

function movableClock(): Clock & { advance(ms: number): void } {
  let offset = 0;
  return { now: () => new Date(Date.now() + offset), advance: (ms) => void (offset += ms) };
}

interface KeyPair {
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}
const newKey = async (alg: 'EdDSA' | 'ES256' = 'EdDSA', kid?: string): Promise<KeyPair> => {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { privateKey, jwk: { ...(await exportJWK(publicKey)), ...(kid === undefined ? {} : { kid }) } };
};

describe.each(testDialects())('private_key_jwt on %s', (dialect) => {
  let server: TestServer;
  let other: TestServer;
  let viewer: string;
  const clock = movableClock();

  beforeAll(async () => {
    server = await startTestServer(dialect, { services: { clock, throttleLimits: NO_THROTTLE } });
    // A second instance on the same database, with its own caches and change feed.
    const { config, location } = server.database;
    const handle = openDatabase(config, dialect === 'postgres' ? { schema: location } : {});
    // Instances of one installation share its issuer, which assertions name as their audience.
    other = await startTestServer(dialect, {
      database: { ...server.database, handle },
      env: { KOIOS_ISSUER: server.url },
      services: { clock, throttleLimits: NO_THROTTLE },
    });
    viewer = (await builtInRoleIds(server)).viewer;
  });

  afterAll(async () => {
    await other?.close();
    await other?.database.handle.close();
    await server?.close();
  });

  const createWithKeys = async (name: string, ...keys: KeyPair[]) =>
    (await server.services.clients.createWithKeys(SYSTEM_ACTOR, { name, roleId: viewer, publicKeys: keys.map((key) => key.jwk) })).id;

  /** An assertion as RFC 7523 §3 asks for it, with any claim or header changed. */
  const assertion = (clientId: string, key: KeyPair, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) => {
    const nowSeconds = Math.floor(clock.now().getTime() / 1000);
    const alg = key.jwk.kty === 'OKP' ? 'EdDSA' : 'ES256';
    const payload = { iss: clientId, sub: clientId, aud: server.url, jti: randomUUID(), iat: nowSeconds, exp: nowSeconds + 60, ...claims };
    for (const [name, value] of Object.entries(payload)) if (value === undefined) delete (payload as Record<string, unknown>)[name];
    return new SignJWT(payload).setProtectedHeader({ alg, ...(key.jwk.kid === undefined ? {} : { kid: key.jwk.kid }), ...header }).sign(key.privateKey);
  };
  /** Where an instance listens (its url is the shared issuer). */
  const at = (target: TestServer) => `http://${target.config.host}:${target.config.port}`;
  const tokenRequest = async (target: TestServer, form: Record<string, string>) =>
    answerOf(await fetch(`${at(target)}/oauth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', ...form }) }));
  const withAssertion = (target: TestServer, signed: string) =>
    tokenRequest(target, { client_assertion_type: JWT_BEARER_ASSERTION_TYPE, client_assertion: signed });
  const me = (target: TestServer, token: string) => fetch(`${at(target)}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
  const reasons = async (clientId: string) => {
    await other.services.failures.flush();
    return Object.fromEntries((await server.services.failures.countsFor(clientId)).map((row) => [row.reason, Number(row.count)]));
  };

  it('oauth4webapi gets a token with its PrivateKeyJwt client authentication, found through the metadata', async () => {
    const key = await newKey('EdDSA', 'first');
    const clientId = await createWithKeys('oauth4webapi', key);
    const issuer = new URL(server.url);
    const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...INSECURE, algorithm: 'oauth2' }));
    expect(as.token_endpoint_auth_methods_supported).toContain('private_key_jwt');
    expect(as.token_endpoint_auth_signing_alg_values_supported).toEqual(expect.arrayContaining(['EdDSA', 'ES256', 'RS256', 'PS256']));
    const client = { client_id: clientId };
    const response = await oauth.clientCredentialsGrantRequest(as, client, oauth.PrivateKeyJwt({ key: key.privateKey, kid: 'first' }), {}, INSECURE);
    const { access_token: token } = await oauth.processClientCredentialsResponse(as, client, response);
    expect(await me(server, token)).toBe(200);
    // Without a kid the key is found by its algorithm.
    const again = await oauth.clientCredentialsGrantRequest(as, client, oauth.PrivateKeyJwt(key.privateKey), {}, INSECURE);
    expect((await oauth.processClientCredentialsResponse(as, client, again)).token_type.toLowerCase()).toBe('bearer');
  });

  it('refuses every bad assertion with the one invalid_client and records why', async () => {
    const key = await newKey('ES256', 'good');
    const stranger = await newKey('ES256', 'good');
    const clientId = await createWithKeys('refusals', key);
    const nowSeconds = () => Math.floor(clock.now().getTime() / 1000);
    const cases: [string, Promise<string>][] = [
      ['a signature by another key under the same kid', assertion(clientId, stranger)],
      ['an unknown kid', assertion(clientId, key, {}, { kid: 'nobody' })],
      ['an expired assertion', assertion(clientId, key, { iat: nowSeconds() - 600, exp: nowSeconds() - 120 })],
      ['an assertion expiring far ahead', assertion(clientId, key, { exp: nowSeconds() + 3600 })],
      ['an assertion without exp', assertion(clientId, key, { exp: undefined })],
      ['an assertion without jti', assertion(clientId, key, { jti: undefined })],
      ['the wrong audience', assertion(clientId, key, { aud: 'https://elsewhere.example' })],
      ['an iss that is not the client', assertion(clientId, key, { iss: randomUUID() })],
      [
        'alg none',
        Promise.resolve(
          `${Buffer.from('{"alg":"none","kid":"good"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: clientId, sub: clientId, aud: server.url, exp: nowSeconds() + 60, jti: 'x' })).toString('base64url')}.`,
        ),
      ],
    ];
    for (const [what, signed] of cases) {
      const answer = await withAssertion(server, await signed);
      expect({ what, status: answer.status, error: answer.json.error }).toEqual({ what, status: 401, error: 'invalid_client' });
    }
    // A replay: the same assertion twice, the second time on another instance.
    const once = await assertion(clientId, key);
    expect((await withAssertion(server, once)).status).toBe(200);
    expect((await withAssertion(other, once)).json.error).toBe('invalid_client');
    expect(await reasons(clientId)).toEqual({ bad_assertion: 7, unknown_key: 1, expired_assertion: 1, replayed_assertion: 1 });
  });

  it('accepts a jti once even when two instances race for it', async () => {
    const key = await newKey();
    const clientId = await createWithKeys('race', key);
    const signed = await assertion(clientId, key);
    const answers = await Promise.all([
      withAssertion(server, signed),
      withAssertion(other, signed),
      withAssertion(server, signed),
      withAssertion(other, signed),
    ]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 401, 401, 401]);
  });

  it('refuses a secret from a private_key_jwt client and an assertion from a client_secret client', async () => {
    const key = await newKey();
    const keyClient = await createWithKeys('keys only', key);
    const secretClient = await server.services.clients.create(SYSTEM_ACTOR, { name: 'secret only', roleId: viewer });
    expect((await tokenRequest(server, { client_id: keyClient, client_secret: 'koios_guess' })).json.error).toBe('invalid_client');
    expect((await withAssertion(server, await assertion(secretClient.client.id, key))).json.error).toBe('invalid_client');
    expect(await reasons(keyClient)).toEqual({ wrong_auth_method: 1 });
    expect(await reasons(secretClient.client.id)).toEqual({ wrong_auth_method: 1 });
    // A client_id beside the assertion must name the same client; two methods at once are refused.
    expect(
      (
        await tokenRequest(server, {
          client_id: secretClient.client.id,
          client_assertion_type: JWT_BEARER_ASSERTION_TYPE,
          client_assertion: await assertion(keyClient, key),
        })
      ).json.error,
    ).toBe('invalid_client');
    const both = await tokenRequest(server, {
      client_secret: 'x',
      client_assertion_type: JWT_BEARER_ASSERTION_TYPE,
      client_assertion: await assertion(keyClient, key),
    });
    expect(both.json.error).toBe('invalid_request');
    await expect(server.services.clients.regenerateSecret(SYSTEM_ACTOR, keyClient)).rejects.toThrow(/private_key_jwt/);
  });

  it('rotates without downtime: add a key, move to it, remove the old one, whose tokens die on every instance', async () => {
    const first = await newKey('EdDSA', 'k1');
    const second = await newKey('ES256', 'k2');
    const clientId = await createWithKeys('rotation', first);
    const firstAnswer = await withAssertion(server, await assertion(clientId, first));
    expect(await me(server, firstAnswer.json.access_token as string)).toBe(200);
    const oldToken = firstAnswer.json.access_token as string;
    await server.services.clients.addKey(SYSTEM_ACTOR, clientId, second.jwk);
    const newToken = (await withAssertion(other, await assertion(clientId, second))).json.access_token as string;
    for (const [name, token] of Object.entries({ oldToken, newToken }))
      for (const target of [server, other]) expect({ name, at: at(target), status: await me(target, token) }).toEqual({ name, at: at(target), status: 200 });
    await server.services.clients.removeKey(SYSTEM_ACTOR, clientId, 'k1');
    for (const target of [server, other]) {
      expect(await me(target, oldToken)).toBe(401);
      expect(await me(target, newToken)).toBe(200);
      expect((await withAssertion(target, await assertion(clientId, first))).json.error).toBe('invalid_client');
    }
    // The new key was used on the other instance, which writes its last use coalesced.
    await other.services.keyUsed.flush();
    const client = await server.services.clients.get(SYSTEM_ACTOR, clientId);
    expect(client.publicKeys.map((key) => [key.kid, key.alg])).toEqual([['k2', 'ES256']]);
    expect(client.publicKeys[0]!.lastUsedAt).not.toBeNull();
    const actions = (await server.services.audit.list(SYSTEM_ACTOR, { limit: 20 })).items
      .filter((event) => event.target?.id === clientId)
      .map((event) => event.action);
    expect(actions).toEqual(expect.arrayContaining(['client.created', 'client.key_added', 'client.key_removed']));
  });

  it('refuses private, symmetric, weak and unsupported keys with a clear message and stores nothing', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const privateJwk = await exportJWK(privateKey);
    const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const p384 = await generateKeyPair('ES384', { extractable: true });
    const refused: [string, unknown, RegExp][] = [
      ['a private JWK', privateJwk, /private key/],
      ['a symmetric key', { kty: 'oct', k: 'c2VjcmV0' }, /private key|symmetric/],
      ['a 1024-bit RSA key', rsa1024.publicKey.export({ format: 'jwk' }), /at least 2048/],
      ['a P-384 key', await exportJWK(p384.publicKey), /P-256/],
      ['an EC key claiming RS256', { ...(await newKey('ES256')).jwk, alg: 'RS256' }, /ES256/],
      ['not a key', 'hello', /JWK/],
    ];
    const clientId = await createWithKeys('refused keys');
    for (const [what, jwk, message] of refused) {
      const error = await server.services.clients.addKey(SYSTEM_ACTOR, clientId, jwk).catch((caught: unknown) => caught);
      expect(error, what).toBeInstanceOf(BadInput);
      expect((error as BadInput).problems[0]!.field, what).toBe('jwk');
      expect((error as BadInput).problems[0]!.message, what).toMatch(message);
    }
    expect((await server.services.clients.get(SYSTEM_ACTOR, clientId)).publicKeys).toEqual([]);
    await expect(server.services.clients.createWithKeys(SYSTEM_ACTOR, { name: 'with a private key', publicKeys: [privateJwk] })).rejects.toBeInstanceOf(
      BadInput,
    );
    expect(server.logs.text()).not.toContain(String(privateJwk.d));
  });

  it('names a key without kid by its RFC 7638 thumbprint, and takes a PEM public key through the shared converter', async () => {
    const rsa = await generateKeyPair('PS256', { modulusLength: 2048, extractable: true });
    const converted = await publicJwkFromText(await exportSPKI(rsa.publicKey));
    expect('jwk' in converted).toBe(true);
    const jwk = { ...(converted as { jwk: JWK }).jwk, alg: 'PS256' };
    const client = await server.services.clients.createWithKeys(SYSTEM_ACTOR, { name: 'pem', publicKeys: [jwk] });
    const [key] = client.publicKeys;
    expect(key).toMatchObject({ alg: 'PS256', kid: key!.thumbprint, lastUsedAt: null });
    expect(await publicJwkFromText('-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----')).toEqual({ problem: expect.stringMatching(/private key/) });
  });

  it('REST and GraphQL create key clients, add and remove keys, and answer a private key with a 400 naming the field', async () => {
    const admin = await actorWith(server, `keys admin ${dialect}`, 'Administrator');
    const key = await newKey('EdDSA', 'rest');
    const created = await rest<{
      client: { id: string; authMethod: string; secretHint: string | null; publicKeys: { kid: string }[] };
      clientSecret: string | null;
    }>(server, 'POST', '/api/v1/clients', admin, { name: 'rest keys', authMethod: 'private_key_jwt', publicKeys: [key.jwk] });
    expect(created.status).toBe(201);
    // A key client has no secret, so nothing to hint at.
    expect(created.body).toMatchObject({ clientSecret: null, client: { authMethod: 'private_key_jwt', secretHint: null, publicKeys: [{ kid: 'rest' }] } });
    const id = created.body.client.id;
    expect((await rest(server, 'GET', `/api/v1/clients/${id}`, admin)).body).toMatchObject({ id, secretHint: null });
    const listed = await rest<{ items: { id: string; secretHint: string | null }[] }>(server, 'GET', '/api/v1/clients?q=rest%20keys', admin);
    expect(listed.body.items.find((item) => item.id === id)).toMatchObject({ secretHint: null });
    const { privateKey } = await generateKeyPair('EdDSA', { extractable: true });
    const privateJwk = await exportJWK(privateKey);
    const refused = await rest(server, 'POST', `/api/v1/clients/${id}/keys`, admin, { jwk: privateJwk });
    expect(refused.status).toBe(400);
    expect(fieldsOf(refused)).toEqual(['jwk']);
    expect(refused.text).not.toContain(String(privateJwk.d));
    expect((await rest(server, 'POST', `/api/v1/clients/${id}/keys`, admin, { jwk: key.jwk })).status).toBe(409);
    expect((await rest(server, 'DELETE', `/api/v1/clients/${id}/keys/nobody`, admin)).status).toBe(404);
    expect((await rest(server, 'POST', `/api/v1/clients/${id}/secret`, admin)).status).toBe(409);

    const graphql = graphqlClient(server, admin.token);
    const pem = await exportSPKI((await generateKeyPair('ES256', { extractable: true })).publicKey);
    const made = await graphql<{
      createApiClient: {
        clientSecret: string | null;
        apiClient: { id: string; authMethod: string; secretHint: string | null; publicKeys: { alg: string; kid: string }[] };
      };
    }>(
      'mutation C($keys: [String!]) { createApiClient(input: { name: "graphql keys", authMethod: "private_key_jwt", publicKeys: $keys }) { clientSecret apiClient { id authMethod secretHint publicKeys { kid alg } } } }',
      { keys: [pem] },
    );
    expect(made.errors).toEqual([]);
    expect(made.data!.createApiClient).toMatchObject({
      clientSecret: null,
      apiClient: { authMethod: 'private_key_jwt', secretHint: null, publicKeys: [{ alg: 'ES256' }] },
    });
    const graphqlId = made.data!.createApiClient.apiClient.id;
    const added = await graphql<{ addApiClientKey: { publicKeys: { kid: string }[] } }>(
      'mutation A($id: ID!, $jwk: String!) { addApiClientKey(id: $id, jwk: $jwk) { publicKeys { kid } } }',
      { id: graphqlId, jwk: JSON.stringify(key.jwk) },
    );
    expect(added.data!.addApiClientKey.publicKeys.map((entry) => entry.kid)).toContain('rest');
    const removed = await graphql<{ removeApiClientKey: { publicKeys: { kid: string }[] } }>(
      'mutation R($id: ID!) { removeApiClientKey(id: $id, kid: "rest") { publicKeys { kid } } }',
      { id: graphqlId },
    );
    expect(removed.data!.removeApiClientKey.publicKeys).toHaveLength(1);
    const privatePem = await graphql('mutation A($id: ID!, $jwk: String!) { addApiClientKey(id: $id, jwk: $jwk) { id } }', {
      id: graphqlId,
      jwk: generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
    });
    expect(privatePem.errors.map((error) => error.extensions?.['code'])).toEqual(['BAD_USER_INPUT']);
  });
});
