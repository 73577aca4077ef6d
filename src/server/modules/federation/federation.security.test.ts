import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../actor.js';
import type { Clock } from '../../clock.js';
import { testDialects } from '../../../../test/support/databases.js';
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
    as = { issuer: server.url, token_endpoint: `${server.url}/oauth/token` };
    viewerRoleId = (await builtInRoleIds(server)).viewer;
  });
  afterAll(async () => {
    await server?.close();
    await issuer?.close();
  });

  /** A Viewer client with one federated credential for `subject` at the named test issuer. */
  async function federatedClient(issuerName: string, subject: string, conditions?: Record<string, string>) {
    const client = await newClient(server, `federated ${issuerName} ${subject}`, viewerRoleId);
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

  /** The raw answer of a refused exchange, and the reason recorded for the client's admins. */
  async function refusal(clientId: string, subjectToken: string) {
    const answer = await answerOf(
      await fetch(as.token_endpoint!, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: EXCHANGE, client_id: clientId, subject_token: subjectToken, subject_token_type: JWT_TYPE }),
      }),
    );
    const counts = await server.services.failures.countsFor(clientId);
    return { status: answer.status, error: answer.json['error'], reasons: counts.map((row) => row.reason) };
  }

  const me = async (token: string) => rest<{ id: string; permissions: string[] }>(server, 'GET', '/api/v1/me', { token });

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
    expect(again.reasons).toContain('federation_no_match');
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
    ['redirects discovery to another host', 'other-host-redirect'],
    ['serves an oversized JWKS', 'oversize'],
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

  it('answers other requests while an issuer is silent, then refuses its exchanges as unreachable', async () => {
    await issuerUrl('silent', { behaviour: 'silent' });
    const silent = await federatedClient('silent', 'ci');
    const healthy = await federatedClient('healthy', 'ci');
    let settled = false;
    const stuck = refusal(silent.clientId, await issuer.mint('silent', { sub: 'ci', aud: AUDIENCE })).finally(() => (settled = true));
    expect((await exchange(healthy.clientId, await issuer.mint('healthy', { sub: 'ci', aud: AUDIENCE }))).access_token).toBeTruthy();
    expect((await me((await exchange(healthy.clientId, await issuer.mint('healthy', { sub: 'ci', aud: AUDIENCE }))).access_token)).status).toBe(200);
    expect(settled).toBe(false);
    expect(await stuck).toMatchObject({ error: 'invalid_grant', reasons: ['federation_issuer_unreachable'] });
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
