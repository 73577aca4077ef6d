import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../actor.js';
import { testDialects } from '../../../../test/support/databases.js';
import { answerOf, INSECURE, newClient as newClientOf, type OAuthAnswer } from '../../../../test/support/oauth.js';
import { startTestServer, type TestServer } from '../../../../test/support/server.js';

/**
 * The token endpoint and the metadata around it, as an OAuth 2.0 client library and a resource
 * server see them: RFC 6749 §2.3.1, §3.2, §4.4, §5.1, §5.2; RFC 8414; RFC 9068.
 * Throttling has its own suite; here its limits are out of the way.
 */
const NO_THROTTLE = { perClient: 10_000, perAddress: 100_000, windowSeconds: 60 };
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** The permission catalog, written out here rather than imported, so a key dropped from the catalog fails. */
const CATALOG_KEYS = [
  'clients:read',
  'clients:create',
  'clients:update',
  'clients:delete',
  'clients:secrets',
  'roles:read',
  'roles:write',
  'roles:assign',
  'users:read',
  'users:write',
  'audit:read',
];
const VIEWER_KEYS = CATALOG_KEYS.filter((key) => key.endsWith(':read'));

/** RFC 6749 §2.3.1: each part form-urlencoded, then joined by ':' and Base64-encoded. */
const basicHeader = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
/** What a careless client sends: no form-urlencoding before Base64. */
const rawBasicHeader = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

const sorted = (list: readonly string[]) => [...list].sort();

describe.each(testDialects())('token endpoint and metadata (RFC 6749, RFC 8414, RFC 9068) on %s', (dialect) => {
  let server: TestServer;
  let as: oauth.AuthorizationServer;
  let viewerRoleId: string;
  let viewer: { id: string; secret: string };

  const post = async (path: string, body: string | URLSearchParams | Record<string, string>, headers: Record<string, string> = FORM): Promise<OAuthAnswer> =>
    answerOf(
      await fetch(`${server.url}${path}`, {
        method: 'POST',
        headers,
        body: typeof body === 'string' || body instanceof URLSearchParams ? body : new URLSearchParams(body),
      }),
    );

  const newClient = (name: string, roleId: string | null = viewerRoleId) => newClientOf(server, name, roleId);

  const tokenVia = async (auth: oauth.ClientAuth, clientId: string, parameters: Record<string, string> = {}) =>
    oauth.processClientCredentialsResponse(
      as,
      { client_id: clientId },
      await oauth.clientCredentialsGrantRequest(as, { client_id: clientId }, auth, new URLSearchParams(parameters), INSECURE),
    );

  const me = async (token: string) => answerOf(await fetch(`${server.url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } }));

  beforeAll(async () => {
    server = await startTestServer(dialect, { services: { throttleLimits: NO_THROTTLE } });
    const roles = await server.services.roles.list(SYSTEM_ACTOR);
    viewerRoleId = roles.find((role) => role.name === 'Viewer')!.id;
    viewer = await newClient('token endpoint viewer');
    as = await oauth.processDiscoveryResponse(new URL(server.url), await oauth.discoveryRequest(new URL(server.url), { algorithm: 'oauth2', ...INSECURE }));
  });
  afterAll(async () => server?.close());

  describe('RFC 8414 metadata and the JWKS', () => {
    it('publishes every metadata field the product pins, with values that point at this server', async () => {
      const response = await fetch(`${server.url}/.well-known/oauth-authorization-server`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      const metadata = (await response.json()) as Record<string, unknown>;
      expect(metadata['issuer']).toBe(server.url);
      expect(metadata['issuer']).toBe(server.config.issuer);
      expect(metadata['token_endpoint']).toBe(`${server.url}/oauth/token`);
      expect(metadata['jwks_uri']).toBe(`${server.url}/.well-known/jwks.json`);
      expect(metadata['introspection_endpoint']).toBe(`${server.url}/oauth/introspect`);
      expect(metadata['revocation_endpoint']).toBe(`${server.url}/oauth/revoke`);
      expect(metadata['grant_types_supported']).toEqual(['client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange']);
      expect(sorted(metadata['token_endpoint_auth_methods_supported'] as string[])).toEqual(['client_secret_basic', 'client_secret_post', 'private_key_jwt']);
      expect(metadata['scopes_supported']).toEqual(expect.arrayContaining(CATALOG_KEYS));
      // oauth4webapi discovered the same document and accepted its issuer.
      expect(as.issuer).toBe(server.url);
      expect(as.token_endpoint).toBe(metadata['token_endpoint']);
    });

    it('serves the public Ed25519 key whose kid is in the header of issued tokens, and never a private part', async () => {
      const { access_token } = await tokenVia(oauth.ClientSecretBasic(viewer.secret), viewer.id);
      const header = decodeProtectedHeader(access_token);
      expect(header.typ).toBe('at+jwt');
      expect(header.alg).toBe('EdDSA');
      expect(header.kid).toBeTypeOf('string');

      const response = await fetch(`${server.url}/.well-known/jwks.json`);
      expect(response.status).toBe(200);
      const jwks = (await response.json()) as { keys: Record<string, unknown>[] };
      const key = jwks.keys.find((candidate) => candidate['kid'] === header.kid);
      expect(key).toMatchObject({ kty: 'OKP', crv: 'Ed25519', kid: header.kid });
      for (const published of jwks.keys) {
        for (const privatePart of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) expect(published).not.toHaveProperty(privatePart);
      }
    });
  });

  describe('successful issuance (RFC 6749 §4.4, §5.1; RFC 9068)', () => {
    it('answers 200 {access_token, token_type: "Bearer", expires_in, scope} with Cache-Control: no-store and no refresh_token', async () => {
      const answer = await post('/oauth/token', { grant_type: 'client_credentials', client_id: viewer.id, client_secret: viewer.secret });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
      expect(answer.headers.get('cache-control')).toMatch(/\bno-store\b/);
      expect(answer.json['access_token']).toBeTypeOf('string');
      expect(answer.json['token_type']).toBe('Bearer');
      expect(answer.json['expires_in']).toBe(server.config.accessTokenTtlSeconds);
      expect(sorted((answer.json['scope'] as string).split(' '))).toEqual(sorted(VIEWER_KEYS));
      expect(answer.json).not.toHaveProperty('refresh_token');
      expect(answer.json).not.toHaveProperty('id_token');
    });

    it('issues an RFC 9068 access token that a resource server verifies with jose against the published JWKS', async () => {
      const before = Math.floor(Date.now() / 1000);
      const { access_token } = await tokenVia(oauth.ClientSecretPost(viewer.secret), viewer.id);
      const { payload, protectedHeader } = await jwtVerify(access_token, createRemoteJWKSet(new URL(`${server.url}/.well-known/jwks.json`)), {
        issuer: server.url,
        audience: server.config.audience,
        typ: 'at+jwt',
        algorithms: ['EdDSA'],
      });
      expect(protectedHeader.typ).toBe('at+jwt');
      expect(payload.iss).toBe(server.url);
      expect(payload.aud === server.config.audience || (Array.isArray(payload.aud) && payload.aud.includes(server.config.audience))).toBe(true);
      expect(payload.sub).toBe(viewer.id);
      expect(payload['client_id']).toBe(viewer.id);
      expect(payload.iat).toBeGreaterThanOrEqual(before - 1);
      expect(payload.iat).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 1);
      expect(payload.exp).toBe(payload.iat! + server.config.accessTokenTtlSeconds);
      expect(payload.jti).toBeTypeOf('string');
      expect(payload.jti!.length).toBeGreaterThanOrEqual(16);
      expect(sorted((payload['scope'] as string).split(' '))).toEqual(sorted(VIEWER_KEYS));
    });

    it('issues tokens that oauth4webapi validateJwtAccessToken accepts for the Koios audience, each with its own jti', async () => {
      const first = await tokenVia(oauth.ClientSecretBasic(viewer.secret), viewer.id);
      const second = await tokenVia(oauth.ClientSecretBasic(viewer.secret), viewer.id);
      const claimsOf = (token: string) =>
        oauth.validateJwtAccessToken(
          as,
          new Request(`${server.url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } }),
          server.config.audience,
          INSECURE,
        );
      const [a, b] = await Promise.all([claimsOf(first.access_token), claimsOf(second.access_token)]);
      expect(a.sub).toBe(viewer.id);
      expect(a.client_id).toBe(viewer.id);
      expect(b.client_id).toBe(viewer.id);
      expect(a.jti).not.toBe(b.jti);
    });

    it('grants exactly the requested subset of the role when a scope is asked for', async () => {
      const { scope, access_token } = await tokenVia(oauth.ClientSecretBasic(viewer.secret), viewer.id, { scope: 'roles:read clients:read' });
      expect(sorted(scope!.split(' '))).toEqual(['clients:read', 'roles:read']);
      expect(sorted((await me(access_token)).json['permissions'] as string[])).toEqual(['clients:read', 'roles:read']);
    });

    it('gives a client with no role a token with an empty scope and no permissions (never unauthorized_client)', async () => {
      const roleless = await newClient('no role at all', null);
      const answer = await post('/oauth/token', { grant_type: 'client_credentials' }, { ...FORM, authorization: basicHeader(roleless.id, roleless.secret) });
      expect(answer.status).toBe(200);
      expect(answer.json['token_type']).toBe('Bearer');
      expect(answer.json['scope'] ?? '').toBe('');
      const who = await me(answer.json['access_token'] as string);
      expect(who.status).toBe(200);
      expect(who.json).toMatchObject({ type: 'client', id: roleless.id, permissions: [] });
    });
  });

  describe('Cache-Control: no-store on every response carrying a secret', () => {
    it('marks the admin create and regenerate-secret responses no-store', async () => {
      const admin = await newClient('secret-bearing admin', (await server.services.roles.list(SYSTEM_ACTOR)).find((role) => role.name === 'Administrator')!.id);
      const { access_token } = await tokenVia(oauth.ClientSecretBasic(admin.secret), admin.id);
      const created = await fetch(`${server.url}/api/v1/clients`, {
        method: 'POST',
        headers: { authorization: `Bearer ${access_token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'made over REST' }),
      });
      expect(created.status).toBe(201);
      expect(created.headers.get('cache-control')).toMatch(/\bno-store\b/);
      const { client } = (await created.json()) as { client: { id: string } };
      const regenerated = await fetch(`${server.url}/api/v1/clients/${client.id}/secret`, {
        method: 'POST',
        headers: { authorization: `Bearer ${access_token}` },
      });
      expect(regenerated.status).toBe(200);
      expect(regenerated.headers.get('cache-control')).toMatch(/\bno-store\b/);
    });
  });

  describe('client_secret_basic and client_secret_post (RFC 6749 §2.3.1)', () => {
    it('accepts client_secret_basic from oauth4webapi and from a hand-made header of form-urlencoded parts', async () => {
      await expect(tokenVia(oauth.ClientSecretBasic(viewer.secret), viewer.id)).resolves.toMatchObject({ token_type: 'bearer' });
      const answer = await post('/oauth/token', 'grant_type=client_credentials', { ...FORM, authorization: basicHeader(viewer.id, viewer.secret) });
      expect(answer.status).toBe(200);
      expect(answer.json['access_token']).toBeTypeOf('string');
    });

    it('accepts client_secret_post from oauth4webapi', async () => {
      const response = await tokenVia(oauth.ClientSecretPost(viewer.secret), viewer.id);
      expect(response.access_token).toBeTypeOf('string');
      expect((await me(response.access_token)).status).toBe(200);
    });

    it('round-trips a secret containing ":", "%", "+" and a space through client_secret_basic and client_secret_post', async () => {
      const client = await newClient('awkward secret');
      // Generated secrets are base64url; give this client one with every character Basic mangles.
      const awkward = 'koios_cs_a:b%c+d e%2Bf:';
      await server.services.changes.transaction(async (trx, recordChange) => {
        await trx
          .updateTable('api_clients')
          .set({ secret_hash: server.services.hasher.hash(awkward) })
          .where('id', '=', client.id)
          .execute();
        recordChange({ kind: 'client', id: client.id });
      });
      const byHand = await post('/oauth/token', 'grant_type=client_credentials', { ...FORM, authorization: basicHeader(client.id, awkward) });
      expect(byHand.status).toBe(200);
      // oauth4webapi form-urlencodes (space as '+') rather than percent-encoding: both must decode alike.
      await expect(tokenVia(oauth.ClientSecretBasic(awkward), client.id)).resolves.toMatchObject({ token_type: 'bearer' });
      await expect(tokenVia(oauth.ClientSecretPost(awkward), client.id)).resolves.toMatchObject({ token_type: 'bearer' });
      // Without the form-urlencoding the '+' would become a space and '%c+' is no escape: refused as a client, not a 500.
      const careless = await post('/oauth/token', 'grant_type=client_credentials', { ...FORM, authorization: rawBasicHeader(client.id, awkward) });
      expect(careless.status).toBe(401);
      expect(careless.json['error']).toBe('invalid_client');
    });

    it('answers a wrong secret containing ":", "%" and "+" with invalid_client (401, WWW-Authenticate: Basic), not invalid_request or 500', async () => {
      for (const wrong of ['koios_cs_wrong:with:colons', 'koios_cs_100%25+sure', 'a:b%c+d', '%', ':', '+']) {
        const answer = await post('/oauth/token', 'grant_type=client_credentials', { ...FORM, authorization: basicHeader(viewer.id, wrong) });
        expect(answer.status, wrong).toBe(401);
        expect(answer.json['error'], wrong).toBe('invalid_client');
        expect(answer.headers.get('www-authenticate'), wrong).toMatch(/^Basic\b/i);
      }
    });
  });

  describe('RFC 6749 §5.2 errors', () => {
    const expectOAuthError = (answer: OAuthAnswer, status: number, error: string) => {
      expect(answer.status, answer.text).toBe(status);
      expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
      expect(answer.json['error'], answer.text).toBe(error);
      expect(answer.json).not.toHaveProperty('access_token');
      if (answer.json['error_description'] !== undefined) expect(answer.json['error_description']).toBeTypeOf('string');
    };

    it('answers invalid_request when grant_type is missing', async () => {
      expectOAuthError(await post('/oauth/token', { client_id: viewer.id, client_secret: viewer.secret }), 400, 'invalid_request');
      expectOAuthError(await post('/oauth/token', '', { ...FORM, authorization: basicHeader(viewer.id, viewer.secret) }), 400, 'invalid_request');
    });

    it('answers invalid_request when a parameter is repeated (RFC 6749 §3.2)', async () => {
      const creds = `client_id=${viewer.id}&client_secret=${viewer.secret}`;
      expectOAuthError(await post('/oauth/token', `grant_type=client_credentials&grant_type=client_credentials&${creds}`), 400, 'invalid_request');
      expectOAuthError(await post('/oauth/token', `grant_type=client_credentials&scope=clients:read&scope=roles:read&${creds}`), 400, 'invalid_request');
      expectOAuthError(await post('/oauth/token', `grant_type=client_credentials&${creds}&client_secret=koios_cs_other`), 400, 'invalid_request');
      expectOAuthError(await post('/oauth/token', `grant_type=client_credentials&${creds}&client_id=${viewer.id}`), 400, 'invalid_request');
    });

    it('reads a form body as URLSearchParams does: empty pairs skipped, a name without "=" empty, escapes and "+" decoded', async () => {
      const creds = `client_id=${viewer.id}&client_secret=${viewer.secret}`;
      // Nothing to decode: the pairs are taken as they are.
      const plain = await post('/oauth/token', `&&grant_type=client_credentials&&${creds}&scope&`);
      expect(plain.status).toBe(200);
      expect(sorted(String(plain.json['scope']).split(' '))).toEqual(sorted(VIEWER_KEYS));
      // Escapes and "+" anywhere in the body: decoded, and the repeat check still applies after decoding.
      const escaped = await post('/oauth/token', `grant_type=client%5Fcredentials&${creds}&scope=clients:read+roles%3Aread`);
      expect(escaped.status).toBe(200);
      expect(String(escaped.json['scope']).split(' ')).toEqual(['clients:read', 'roles:read']);
      expectOAuthError(await post('/oauth/token', `grant_type=client_credentials&grant%5Ftype=client_credentials&${creds}`), 400, 'invalid_request');
      expectOAuthError(await post('/oauth/token', `grant_type=client_credentials&${creds}&scope&scope=`), 400, 'invalid_request');
    });

    it('answers invalid_request when Basic and a client_secret in the body are used together', async () => {
      const answer = await post(
        '/oauth/token',
        { grant_type: 'client_credentials', client_id: viewer.id, client_secret: viewer.secret },
        { ...FORM, authorization: basicHeader(viewer.id, viewer.secret) },
      );
      expectOAuthError(answer, 400, 'invalid_request');
    });

    it('refuses credentials in the query string with invalid_request, even when they are right', async () => {
      const query = new URLSearchParams({ client_id: viewer.id, client_secret: viewer.secret });
      expectOAuthError(await post(`/oauth/token?${query}`, { grant_type: 'client_credentials' }), 400, 'invalid_request');
      expectOAuthError(await post(`/oauth/token?${query}&grant_type=client_credentials`, ''), 400, 'invalid_request');
    });

    it('refuses a body that is not form-encoded (JSON, plain text) with invalid_request, not a token', async () => {
      const fields = { grant_type: 'client_credentials', client_id: viewer.id, client_secret: viewer.secret };
      expectOAuthError(await post('/oauth/token', JSON.stringify(fields), { 'content-type': 'application/json' }), 400, 'invalid_request');
      expectOAuthError(await post('/oauth/token', new URLSearchParams(fields).toString(), { 'content-type': 'text/plain' }), 400, 'invalid_request');
      const withBasic = { authorization: basicHeader(viewer.id, viewer.secret) };
      expectOAuthError(
        await post('/oauth/token', JSON.stringify({ grant_type: 'client_credentials' }), { 'content-type': 'application/json', ...withBasic }),
        400,
        'invalid_request',
      );
    });

    it('gives an unknown id, a wrong secret and a disabled client the same 401 invalid_client body', async () => {
      const disabled = await newClient('disabled for invalid_client');
      await server.services.clients.setEnabled(SYSTEM_ACTOR, disabled.id, false);
      const attempts = {
        unknownId: { client_id: randomUUID(), client_secret: viewer.secret },
        notAUuid: { client_id: 'not-a-client-id', client_secret: viewer.secret },
        wrongSecret: { client_id: viewer.id, client_secret: `${viewer.secret.slice(0, -1)}${viewer.secret.endsWith('A') ? 'B' : 'A'}` },
        disabled: { client_id: disabled.id, client_secret: disabled.secret },
      };
      const bodies: string[] = [];
      for (const [what, creds] of Object.entries(attempts)) {
        const viaPost = await post('/oauth/token', { grant_type: 'client_credentials', ...creds });
        expect(viaPost.status, what).toBe(401);
        expect(viaPost.json['error'], what).toBe('invalid_client');
        bodies.push(viaPost.text);
        const viaBasic = await post('/oauth/token', 'grant_type=client_credentials', {
          ...FORM,
          authorization: basicHeader(creds.client_id, creds.client_secret),
        });
        expect(viaBasic.status, what).toBe(401);
        expect(viaBasic.json['error'], what).toBe('invalid_client');
        expect(viaBasic.headers.get('www-authenticate'), what).toMatch(/^Basic\b/i);
        bodies.push(viaBasic.text);
      }
      expect(new Set(bodies).size).toBe(1);
    });

    it('answers invalid_client (401) when no client credentials are sent at all, or only a client_id', async () => {
      expectOAuthError(await post('/oauth/token', { grant_type: 'client_credentials' }), 401, 'invalid_client');
      expectOAuthError(await post('/oauth/token', { grant_type: 'client_credentials', client_id: viewer.id }), 401, 'invalid_client');
    });

    it('answers a malformed Basic header with 401 invalid_client and WWW-Authenticate: Basic', async () => {
      const malformed = [
        'Basic',
        'Basic !!!not-base64!!!',
        `Basic ${Buffer.from(`${viewer.id}${viewer.secret}`).toString('base64')}`, // no colon
        `Basic ${Buffer.from(`${viewer.id}:bad%zzescape`).toString('base64')}`, // not form-urlencoded
        `Bearer ${viewer.secret}`,
      ];
      for (const authorization of malformed) {
        const answer = await post('/oauth/token', 'grant_type=client_credentials', { ...FORM, authorization });
        expect(answer.status, authorization).toBe(401);
        expect(answer.json['error'], authorization).toBe('invalid_client');
        expect(answer.headers.get('www-authenticate'), authorization).toMatch(/^Basic\b/i);
      }
    });

    it.each([
      ['password', { username: 'admin@example.com', password: 'hunter2' }],
      ['authorization_code', { code: 'abc', redirect_uri: 'https://app.example/cb' }],
      ['refresh_token', { refresh_token: 'abc' }],
      ['urn:ietf:params:oauth:grant-type:jwt-bearer', { assertion: 'abc' }],
    ])('answers grant_type=%s from an authenticated client with unsupported_grant_type', async (grantType, extra) => {
      const answer = await post('/oauth/token', { grant_type: grantType, ...extra }, { ...FORM, authorization: basicHeader(viewer.id, viewer.secret) });
      expectOAuthError(answer, 400, 'unsupported_grant_type');
    });

    it.each([
      ['a key the role lacks', 'users:write'],
      ['an unknown key', 'everything:all'],
      ['a held key next to one the role lacks', 'clients:read clients:delete'],
      ['a case variant of a held key', 'CLIENTS:READ'],
    ])('answers a scope with %s with invalid_scope and never a wider or partial token', async (_what, scope) => {
      const answer = await post('/oauth/token', { grant_type: 'client_credentials', scope }, { ...FORM, authorization: basicHeader(viewer.id, viewer.secret) });
      expectOAuthError(answer, 400, 'invalid_scope');
    });

    it('answers a client with no role asking for any scope with invalid_scope', async () => {
      const roleless = await newClient('no role, asks for scope', null);
      const answer = await post(
        '/oauth/token',
        { grant_type: 'client_credentials', scope: 'clients:read' },
        { ...FORM, authorization: basicHeader(roleless.id, roleless.secret) },
      );
      expectOAuthError(answer, 400, 'invalid_scope');
    });

    it('answers random bodies, content types and Authorization headers with an RFC 6749 error, never a 5xx or a token', async () => {
      const paths = ['/oauth/token', '/oauth/introspect', '/oauth/revoke'];
      const bodies = fc.oneof(
        fc.string({ maxLength: 300 }),
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc
          .dictionary(fc.constantFrom('grant_type', 'client_id', 'client_secret', 'scope', 'token', 'token_type_hint', 'x'), fc.string({ maxLength: 40 }))
          .map((fields) => new URLSearchParams(fields).toString()),
      );
      const contentTypes = fc.constantFrom(
        'application/x-www-form-urlencoded',
        'application/x-www-form-urlencoded; charset=latin1',
        'application/json',
        'text/plain',
        '',
      );
      const authorizations = fc.oneof(
        fc.constant(undefined),
        fc.string({ maxLength: 80 }).map((raw) => `Basic ${Buffer.from(raw).toString('base64')}`),
        fc.string({ maxLength: 80 }),
      );
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...paths), bodies, contentTypes, authorizations, async (path, body, contentType, authorization) => {
          const headers: Record<string, string> = {};
          if (contentType !== '') headers['content-type'] = contentType;
          // Header values must be ByteStrings without line breaks; drop what fetch itself refuses.
          if (authorization !== undefined && /^[\x20-\x7e]*$/.test(authorization)) headers['authorization'] = authorization;
          const answer = await post(path, body, headers);
          expect(answer.status, `${path} ${JSON.stringify(body)}`).toBeGreaterThanOrEqual(400);
          expect(answer.status, `${path} ${JSON.stringify(body)}`).toBeLessThan(500);
          expect(answer.json['error']).toBeTypeOf('string');
          expect(answer.json).not.toHaveProperty('access_token');
        }),
        { numRuns: 150 },
      );
    });

    it('answers a form body over its limit with a 4xx RFC 6749 error, not a 5xx', async () => {
      const answer = await post('/oauth/token', `grant_type=client_credentials&scope=${'a'.repeat(64 * 1024)}`, {
        ...FORM,
        authorization: basicHeader(viewer.id, viewer.secret),
      });
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(answer.status).toBeLessThan(500);
      expect(answer.json['error']).toBe('invalid_request');
    });

    it.each(['GET', 'PUT', 'DELETE', 'PATCH'])('answers %s on /oauth/token, /oauth/introspect and /oauth/revoke with 405 and Allow: POST', async (method) => {
      for (const path of ['/oauth/token', '/oauth/introspect', '/oauth/revoke']) {
        const response = await fetch(`${server.url}${path}?grant_type=client_credentials`, {
          method,
          headers: { authorization: basicHeader(viewer.id, viewer.secret) },
        });
        const text = await response.text();
        expect(response.status, `${method} ${path}`).toBe(405);
        expect(response.headers.get('allow'), `${method} ${path}`).toMatch(/\bPOST\b/);
        expect(text).not.toContain('access_token');
      }
    });
  });
});

describe.each(testDialects())('X-Forwarded-For at the token endpoint on %s', (dialect) => {
  const PER_ADDRESS = 5;
  const LIMITS = { perClient: 10_000, perAddress: PER_ADDRESS, windowSeconds: 60 };
  const guess = (server: TestServer, forwardedFor: string) =>
    fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      headers: { ...FORM, 'x-forwarded-for': forwardedFor },
      // A new unknown client each time: only the per-address count can throttle these.
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: randomUUID(), client_secret: 'koios_cs_guess' }),
    });

  it('ignores X-Forwarded-For from an unconfigured peer: spoofed addresses do not escape the per-address limit', async () => {
    const server = await startTestServer(dialect, { services: { throttleLimits: LIMITS } });
    try {
      const statuses: number[] = [];
      for (let n = 0; n < PER_ADDRESS + 3; n += 1) statuses.push((await guess(server, `203.0.113.${n + 1}`)).status);
      expect(statuses.slice(0, PER_ADDRESS)).toEqual(Array(PER_ADDRESS).fill(401));
      expect(statuses.slice(PER_ADDRESS)).toEqual([429, 429, 429]);
      expect(server.logs.text()).not.toContain('203.0.113.');
    } finally {
      await server.close();
    }
  });

  it('honours X-Forwarded-For from a configured proxy, counting each forwarded address on its own', async () => {
    const server = await startTestServer(dialect, { env: { KOIOS_TRUST_PROXY: '127.0.0.1' }, services: { throttleLimits: LIMITS } });
    try {
      const statuses: number[] = [];
      for (let n = 0; n < PER_ADDRESS + 3; n += 1) statuses.push((await guess(server, `203.0.113.${n + 1}`)).status);
      expect(statuses).toEqual(Array(PER_ADDRESS + 3).fill(401));
      expect(server.logs.text()).toContain('203.0.113.1');
    } finally {
      await server.close();
    }
  });
});
