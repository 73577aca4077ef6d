import { decodeProtectedHeader } from 'jose';
import * as oauth from 'oauth4webapi';
import { Counter } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SYSTEM_ACTOR } from '../../actor.js';
import { BULK_POOL, openDatabase, type DatabaseHandle } from '../../db/database.js';
import { createServices, type Services } from '../../services.js';
import { createClientStateCache } from './client-state.js';
import { testDialects } from '../../../../test/support/databases.js';
import { basicHeader, builtInRoleIds, newClient as newClientOf, tokenFor as tokenOf, type ClientCredentials } from '../../../../test/support/oauth.js';
import { startTestServer, type TestServer } from '../../../../test/support/server.js';

/**
 * What makes a token dead or alive, and what it may do, on the very next request:
 * disable, re-enable, regenerate, delete, role change, scope narrowing; and what
 * an admin sees afterwards: last use and why a client fails.
 */
const NO_THROTTLE = { perClient: 10_000, perAddress: 100_000, windowSeconds: 60 };
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

type Client = ClientCredentials;

describe.each(testDialects())('token lifecycle rules on %s', (dialect) => {
  let server: TestServer;
  let as: oauth.AuthorizationServer;
  let roleIds: { viewer: string; administrator: string };
  /** An Administrator client that introspects the others' tokens. */
  let inspector: Client;

  const newClient = (name: string, roleId: string | null = roleIds.viewer) => newClientOf(server, name, roleId);
  const tokenFor = (client: Client, scope?: string) => tokenOf(as, client, { method: 'client_secret_basic', scope });

  /** The raw token endpoint answer, for the failures oauth4webapi would throw on. */
  const tokenAttempt = async (clientId: string, secret: string) => {
    const response = await fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      headers: FORM,
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  const me = async (token: string) => {
    const response = await fetch(`${server.url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
    return {
      status: response.status,
      challenge: response.headers.get('www-authenticate'),
      body: (await response.json()) as { type?: string; id?: string; permissions?: string[] },
    };
  };

  const permissionsOf = async (token: string) => {
    const answer = await me(token);
    expect(answer.status).toBe(200);
    return [...answer.body.permissions!].sort();
  };

  const expectDead = async (token: string, what: string) => {
    const answer = await me(token);
    expect(answer.status, what).toBe(401);
    expect(answer.challenge, what).toMatch(/error="invalid_token"/);
  };

  const introspect = async (token: string, caller: Client = inspector) => {
    const response = await fetch(`${server.url}/oauth/introspect`, {
      method: 'POST',
      headers: { ...FORM, authorization: basicHeader(caller) },
      body: new URLSearchParams({ token }),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as Record<string, unknown>;
  };

  beforeAll(async () => {
    server = await startTestServer(dialect, { services: { throttleLimits: NO_THROTTLE } });
    roleIds = await builtInRoleIds(server);
    as = { issuer: server.url, token_endpoint: `${server.url}/oauth/token` };
    inspector = await newClient('inspector', roleIds.administrator);
  });
  afterAll(async () => server?.close());

  describe('disable and re-enable', () => {
    it('kills every token of a disabled client on the next request, refuses its secret, and introspects its tokens as {"active": false} only', async () => {
      const client = await newClient('to be disabled');
      const tokens = [await tokenFor(client), await tokenFor(client, 'clients:read')];
      for (const token of tokens) expect((await me(token)).status).toBe(200);
      expect((await introspect(tokens[0]!))['active']).toBe(true);

      await server.services.clients.setEnabled(SYSTEM_ACTOR, client.id, false);

      for (const token of tokens) await expectDead(token, 'token of a disabled client');
      expect(await tokenAttempt(client.id, client.secret)).toEqual({ status: 401, body: expect.objectContaining({ error: 'invalid_client' }) });
      for (const token of tokens) expect(await introspect(token)).toEqual({ active: false });
    });

    it('makes the old, unexpired tokens work again when the client is re-enabled', async () => {
      const client = await newClient('disabled then enabled');
      const token = await tokenFor(client);
      await server.services.clients.setEnabled(SYSTEM_ACTOR, client.id, false);
      await expectDead(token, 'while disabled');

      await server.services.clients.setEnabled(SYSTEM_ACTOR, client.id, true);

      const answer = await me(token);
      expect(answer.status).toBe(200);
      expect(answer.body.id).toBe(client.id);
      expect((await introspect(token))['active']).toBe(true);
      expect((await tokenAttempt(client.id, client.secret)).status).toBe(200);
    });
  });

  describe('regenerate secret', () => {
    it('kills the old secret and every token minted with it on the next request, and the new secret works', async () => {
      const client = await newClient('regenerated');
      const oldTokens = [await tokenFor(client), await tokenFor(client), await tokenFor(client, 'roles:read')];
      for (const token of oldTokens) expect((await me(token)).status).toBe(200);

      const { clientSecret } = await server.services.clients.regenerateSecret(SYSTEM_ACTOR, client.id);

      expect(clientSecret).not.toBe(client.secret);
      expect(await tokenAttempt(client.id, client.secret)).toEqual({ status: 401, body: expect.objectContaining({ error: 'invalid_client' }) });
      for (const token of oldTokens) await expectDead(token, 'token of the old secret');
      for (const token of oldTokens) expect(await introspect(token)).toEqual({ active: false });
      const fresh = await tokenFor({ id: client.id, secret: clientSecret });
      expect((await me(fresh)).status).toBe(200);
      // A second regeneration kills the tokens of the first one too.
      await server.services.clients.regenerateSecret(SYSTEM_ACTOR, client.id);
      await expectDead(fresh, 'token of the second secret');
    });
  });

  describe('delete', () => {
    it('kills the tokens of a deleted client on the next request and refuses its secret', async () => {
      const client = await newClient('deleted');
      const token = await tokenFor(client);
      expect((await me(token)).status).toBe(200);

      await server.services.clients.delete(SYSTEM_ACTOR, client.id);

      await expectDead(token, 'token of a deleted client');
      expect(await introspect(token)).toEqual({ active: false });
      expect(await tokenAttempt(client.id, client.secret)).toEqual({ status: 401, body: expect.objectContaining({ error: 'invalid_client' }) });
    });
  });

  describe('role changes and scope', () => {
    it('applies a role change (Viewer → a custom role → no role) to the same token on the next request', async () => {
      const custom = await server.services.roles.create(SYSTEM_ACTOR, {
        name: `auditors ${dialect} ${Date.now()}`,
        permissions: ['audit:read', 'users:read', 'clients:delete'],
      });
      const client = await newClient('changes role');
      const token = await tokenFor(client);
      expect(await permissionsOf(token)).toEqual(['audit:read', 'clients:read', 'roles:read', 'users:read']);

      await server.services.clients.setRole(SYSTEM_ACTOR, client.id, custom.id);
      // The role's permissions now, intersected with the token's scope (the Viewer keys it was minted with).
      expect(await permissionsOf(token)).toEqual(['audit:read', 'users:read']);

      await server.services.clients.setRole(SYSTEM_ACTOR, client.id, null);
      expect(await permissionsOf(token)).toEqual([]);

      await server.services.clients.setRole(SYSTEM_ACTOR, client.id, roleIds.viewer);
      expect(await permissionsOf(token)).toEqual(['audit:read', 'clients:read', 'roles:read', 'users:read']);
    });

    it('applies an edit of the client’s role to the same token on the next request', async () => {
      const role = await server.services.roles.create(SYSTEM_ACTOR, { name: `editable ${dialect} ${Date.now()}`, permissions: ['clients:read', 'roles:read'] });
      const client = await newClient('role edited', role.id);
      const token = await tokenFor(client);
      expect(await permissionsOf(token)).toEqual(['clients:read', 'roles:read']);

      await server.services.roles.update(SYSTEM_ACTOR, role.id, { permissions: ['roles:read'] });
      expect(await permissionsOf(token)).toEqual(['roles:read']);

      await server.services.roles.delete(SYSTEM_ACTOR, role.id);
      expect(await permissionsOf(token)).toEqual([]);
    });

    describe('the client-state cache behind them', () => {
      /** A cache of its own over the server's database and change feed, counting its database reads. */
      const cacheOf = async (maxEntries: number) => {
        const loads = new Counter({ name: 'test_client_state_loads_total', help: 'reads', registers: [] });
        const lookups = new Counter({ name: 'test_client_state_lookups_total', help: 'lookups', labelNames: ['result'] as const, registers: [] });
        const { db, changes, clock } = server.services;
        const cache = createClientStateCache({
          db,
          changes,
          clock,
          ttlMs: 600_000,
          maxEntries,
          metrics: { clientStateLoads: loads, clientStateLookups: lookups },
        });
        // PostgreSQL: cached states are trusted only while the change listener is heard.
        await vi.waitFor(() => expect(changes.isLive()).toBe(true), { timeout: 5000 });
        return { cache, reads: async () => (await loads.get()).values[0]?.value ?? 0 };
      };

      it('keeps at most its cap of client states, dropping the least recently used first', async () => {
        const [a, b, c, d] = [await newClient('lru a'), await newClient('lru b'), await newClient('lru c'), await newClient('lru d')];
        const { cache, reads } = await cacheOf(3);
        for (const client of [a, b, c]) await cache.get(client.id);
        // a is used again, so b is now the least recently used.
        await cache.get(a.id);
        await cache.get(d.id);
        expect(cache.size()).toBe(3);

        const before = await reads();
        for (const client of [a, c, d]) expect((await cache.get(client.id))?.id).toBe(client.id);
        expect(await reads()).toBe(before);
        expect((await cache.get(b.id))?.id).toBe(b.id);
        expect(await reads()).toBe(before + 1);
        expect(cache.size()).toBe(3);
      });

      it('applies a role edit to every cached client holding the role on its next lookup, reading only those again', async () => {
        const role = await server.services.roles.create(SYSTEM_ACTOR, { name: `cached ${dialect} ${Date.now()}`, permissions: ['clients:read', 'roles:read'] });
        const holders = [await newClient('cached holder 1', role.id), await newClient('cached holder 2', role.id)];
        const viewer = await newClient('cached viewer');
        const { cache, reads } = await cacheOf(100);
        for (const client of [...holders, viewer]) await cache.get(client.id);
        const before = await reads();

        await server.services.roles.update(SYSTEM_ACTOR, role.id, { permissions: ['roles:read'] });
        for (const holder of holders) expect([...(await cache.get(holder.id))!.permissions]).toEqual(['roles:read']);
        expect([...(await cache.get(viewer.id))!.permissions]).toContain('clients:read');
        expect(await reads()).toBe(before + holders.length);
        // Read again once: trusted from then on, until the role changes again.
        for (const holder of holders) await cache.get(holder.id);
        expect(await reads()).toBe(before + holders.length);
      });
    });

    it('limits a token asked for with scope "clients:read" to clients:read, and to nothing once the role loses it', async () => {
      const role = await server.services.roles.create(SYSTEM_ACTOR, {
        name: `wide ${dialect} ${Date.now()}`,
        permissions: ['clients:read', 'clients:create', 'roles:read', 'audit:read'],
      });
      const client = await newClient('narrow token', role.id);
      const narrow = await tokenFor(client, 'clients:read');
      const wide = await tokenFor(client);
      expect(await permissionsOf(narrow)).toEqual(['clients:read']);
      expect(await permissionsOf(wide)).toEqual(['audit:read', 'clients:create', 'clients:read', 'roles:read']);

      await server.services.roles.update(SYSTEM_ACTOR, role.id, { permissions: ['clients:create', 'roles:read', 'audit:read'] });
      expect(await permissionsOf(narrow)).toEqual([]);
      expect(await permissionsOf(wide)).toEqual(['audit:read', 'clients:create', 'roles:read']);

      // Giving the permission back restores it, still within the token's scope.
      await server.services.roles.update(SYSTEM_ACTOR, role.id, { permissions: ['clients:read', 'clients:create', 'roles:read', 'audit:read', 'users:read'] });
      expect(await permissionsOf(narrow)).toEqual(['clients:read']);
      expect(await permissionsOf(wide)).toEqual(['audit:read', 'clients:create', 'clients:read', 'roles:read']);
    });

    it('answers 403 with error="insufficient_scope" when a narrowed token does what its role could but its scope cannot', async () => {
      const client = await newClient('narrow admin', roleIds.administrator);
      const narrow = await tokenFor(client, 'clients:read');
      const listed = await fetch(`${server.url}/api/v1/clients`, { headers: { authorization: `Bearer ${narrow}` } });
      expect(listed.status).toBe(200);
      const created = await fetch(`${server.url}/api/v1/clients`, {
        method: 'POST',
        headers: { authorization: `Bearer ${narrow}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'should not exist' }),
      });
      expect(created.status).toBe(403);
      expect(created.headers.get('www-authenticate')).toMatch(/^Bearer\b.*error="insufficient_scope"/);
      const page = await server.services.clients.list(SYSTEM_ACTOR, { search: 'should not exist' });
      expect(page.total).toBe(0);
    });
  });

  describe('nothing a disabled client holds can bring it back (Keycloak CVE-2026-9705)', () => {
    const asBearer = (token: string, method: string, path: string, body?: unknown) =>
      fetch(`${server.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });

    it('refuses a disabled Administrator client re-enabling itself with its own token, by PATCH or bulk', async () => {
      const client = await newClient('disabled admin', roleIds.administrator);
      const token = await tokenFor(client);
      await server.services.clients.setEnabled(SYSTEM_ACTOR, client.id, false);

      expect((await asBearer(token, 'PATCH', `/api/v1/clients/${client.id}`, { enabled: true })).status).toBe(401);
      expect((await asBearer(token, 'POST', '/api/v1/clients/bulk', { action: 'enable', ids: [client.id] })).status).toBe(401);
      expect((await asBearer(token, 'POST', `/api/v1/clients/${client.id}/secret`)).status).toBe(401);
      expect((await server.services.clients.get(SYSTEM_ACTOR, client.id)).enabled).toBe(false);
      await expectDead(token, 'still disabled');
    });

    it('refuses re-enabling to a client without clients:update (403), and the client stays disabled', async () => {
      const disabled = await newClient('stays disabled');
      await server.services.clients.setEnabled(SYSTEM_ACTOR, disabled.id, false);
      const viewerToken = await tokenFor(await newClient('viewer tries to enable'));
      const answer = await asBearer(viewerToken, 'PATCH', `/api/v1/clients/${disabled.id}`, { enabled: true });
      expect(answer.status).toBe(403);
      expect(answer.headers.get('www-authenticate')).toMatch(/error="insufficient_scope"/);
      expect((await server.services.clients.get(SYSTEM_ACTOR, disabled.id)).enabled).toBe(false);
    });
  });

  describe('changes made by another process on the same database (the CLI, a second instance)', () => {
    let otherHandle: DatabaseHandle;
    let other: Services;

    beforeAll(async () => {
      const { database } = server;
      otherHandle = openDatabase(database.config, database.dialect === 'postgres' ? { schema: database.location, pool: BULK_POOL } : {});
      other = await createServices({ database: otherHandle, tokenSettings: server.config, masterKey: database.masterKey });
    });
    afterAll(async () => {
      await other?.stop();
      await otherHandle?.close();
    });

    /**
     * PostgreSQL instances agree within one second; on SQLite (the CLI beside the
     * server) the change feed reads the file's data_version, so the very next request must see it.
     */
    const within = async (postgresDeadlineMs: number, check: () => Promise<boolean>) => {
      const until = Date.now() + (dialect === 'sqlite' ? 0 : postgresDeadlineMs);
      for (;;) {
        if (await check()) return true;
        if (Date.now() >= until) return false;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };

    it('refuses the tokens of a client disabled elsewhere within one second, and accepts them again once re-enabled there', async () => {
      const client = await newClient('disabled elsewhere');
      const token = await tokenFor(client);
      expect((await me(token)).status).toBe(200);

      await other.clients.setEnabled(SYSTEM_ACTOR, client.id, false);
      expect(await within(1000, async () => (await me(token)).status === 401)).toBe(true);
      expect((await tokenAttempt(client.id, client.secret)).status).toBe(401);
      expect(await introspect(token)).toEqual({ active: false });

      await other.clients.setEnabled(SYSTEM_ACTOR, client.id, true);
      expect(await within(1000, async () => (await me(token)).status === 200)).toBe(true);
    });

    it('refuses the old secret and tokens of a client whose secret was regenerated elsewhere within one second', async () => {
      const client = await newClient('regenerated elsewhere');
      const token = await tokenFor(client);
      const { clientSecret } = await other.clients.regenerateSecret(SYSTEM_ACTOR, client.id);
      expect(await within(1000, async () => (await me(token)).status === 401)).toBe(true);
      expect((await tokenAttempt(client.id, client.secret)).status).toBe(401);
      expect((await tokenAttempt(client.id, clientSecret)).status).toBe(200);
    });

    it('applies a role change and a role edit made elsewhere within one second', async () => {
      const role = await server.services.roles.create(SYSTEM_ACTOR, { name: `remote ${dialect} ${Date.now()}`, permissions: ['clients:read', 'roles:read'] });
      const client = await newClient('role changed elsewhere', role.id);
      const token = await tokenFor(client);
      expect(await permissionsOf(token)).toEqual(['clients:read', 'roles:read']);

      await other.roles.update(SYSTEM_ACTOR, role.id, { permissions: ['roles:read'] });
      expect(await within(1000, async () => JSON.stringify(await permissionsOf(token)) === '["roles:read"]')).toBe(true);

      await other.clients.setRole(SYSTEM_ACTOR, client.id, null);
      expect(await within(1000, async () => (await permissionsOf(token)).length === 0)).toBe(true);
    });

    it('refuses a token revoked through another instance within one second, and accepts the other instance’s tokens', async () => {
      const client = await newClient('revoked elsewhere');
      const token = await tokenFor(client);
      const state = (await other.clientStates.get(client.id))!;
      const minted = await other.tokens.issue(state, undefined);
      expect((await me(minted.access_token)).status).toBe(200);

      await other.tokens.revoke(state, token);
      expect(await within(1000, async () => (await me(token)).status === 401)).toBe(true);
      expect((await me(minted.access_token)).status).toBe(200);
    });

    it('signs with a key rotated elsewhere within one second, publishes it, and still accepts tokens of the old key', async () => {
      const client = await newClient('key rotation');
      const before = await tokenFor(client);
      const oldKid = decodeProtectedHeader(before).kid;

      const newKid = await other.signingKeys.rotate(SYSTEM_ACTOR);
      expect(newKid).not.toBe(oldKid);
      expect(await within(1000, async () => decodeProtectedHeader(await tokenFor(client)).kid === newKid)).toBe(true);
      const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
      expect(jwks.keys.map((key) => key.kid)).toEqual(expect.arrayContaining([oldKid, newKid]));
      expect((await me(before)).status).toBe(200);
    });

    it('refuses the tokens of a client deleted elsewhere within one second', async () => {
      const client = await newClient('deleted elsewhere');
      const token = await tokenFor(client);
      expect((await me(token)).status).toBe(200);
      await other.clients.delete(SYSTEM_ACTOR, client.id);
      expect(await within(1000, async () => (await me(token)).status === 401)).toBe(true);
    });
  });

  describe('what an admin sees', () => {
    it('sets lastUsedAt when a token is issued and moves it on an authenticated call, and persists it', async () => {
      const client = await newClient('last used');
      expect((await server.services.clients.get(SYSTEM_ACTOR, client.id)).lastUsedAt).toBeNull();

      const before = new Date().toISOString();
      const token = await tokenFor(client);
      const afterIssue = (await server.services.clients.get(SYSTEM_ACTOR, client.id)).lastUsedAt;
      expect(afterIssue).not.toBeNull();
      expect(afterIssue! >= before.slice(0, 19)).toBe(true);

      await new Promise((resolve) => setTimeout(resolve, 20));
      expect((await me(token)).status).toBe(200);
      const afterCall = (await server.services.clients.get(SYSTEM_ACTOR, client.id)).lastUsedAt;
      expect(afterCall).not.toBeNull();
      expect(afterCall! > afterIssue!).toBe(true);

      await server.services.lastUsed.flush();
      const row = await server.services.db.selectFrom('api_clients').select('last_used_at').where('id', '=', client.id).executeTakeFirstOrThrow();
      expect(row.last_used_at).toBe(afterCall);
    });

    it('does not count failed attempts as use', async () => {
      const client = await newClient('never used');
      expect((await tokenAttempt(client.id, `${client.secret}x`)).status).toBe(401);
      await server.services.clients.setEnabled(SYSTEM_ACTOR, client.id, false);
      expect((await tokenAttempt(client.id, client.secret)).status).toBe(401);
      await server.services.lastUsed.flush();
      expect((await server.services.clients.get(SYSTEM_ACTOR, client.id)).lastUsedAt).toBeNull();
    });

    it('reports why a client fails: bad_secret, disabled, revoked_token and stale_secret, with counts', async () => {
      const client = await newClient('failing');
      expect((await tokenAttempt(client.id, `${client.secret.slice(0, -1)}${client.secret.endsWith('z') ? 'y' : 'z'}`)).status).toBe(401);
      expect((await tokenAttempt(client.id, 'koios_cs_guess')).status).toBe(401);

      await server.services.clients.setEnabled(SYSTEM_ACTOR, client.id, false);
      expect((await tokenAttempt(client.id, client.secret)).status).toBe(401);
      await server.services.clients.setEnabled(SYSTEM_ACTOR, client.id, true);

      const revoked = await tokenFor(client);
      const revocation = await fetch(`${server.url}/oauth/revoke`, {
        method: 'POST',
        headers: FORM,
        body: new URLSearchParams({ token: revoked, client_id: client.id, client_secret: client.secret }),
      });
      expect(revocation.status).toBe(200);
      await expectDead(revoked, 'revoked token');

      const stale = await tokenFor(client);
      await server.services.clients.regenerateSecret(SYSTEM_ACTOR, client.id);
      await expectDead(stale, 'token of a replaced secret');

      const counts = Object.fromEntries((await server.services.failures.countsFor(client.id)).map((row) => [row.reason, Number(row.count)]));
      expect(counts).toEqual({ bad_secret: 2, disabled: 1, revoked_token: 1, stale_secret: 1 });
    });
  });
});
