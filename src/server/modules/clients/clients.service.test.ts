import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR, type Actor } from '../../actor.js';
import { BadInput, Conflict, Forbidden, NotFound } from '../../errors.js';
import type { Services } from '../../services.js';
import { createTestDatabase, createTestServices, testDialects, type TestDatabase } from '../../../../test/support/databases.js';
import type { PermissionKey } from '../../../shared/permissions.js';

function actorWith(...permissions: PermissionKey[]): Actor {
  return { type: 'user', id: '00000000-0000-4000-8000-000000000001', name: 'tester', permissions: new Set(permissions) };
}

describe.each(testDialects())('API clients service on %s', (dialect) => {
  let database: TestDatabase;
  let services: Services;
  let viewerId: string;
  let adminRoleId: string;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    services = await createTestServices(database);
    const roles = await services.roles.list(SYSTEM_ACTOR);
    viewerId = roles.find((role) => role.name === 'Viewer')!.id;
    adminRoleId = roles.find((role) => role.name === 'Administrator')!.id;
  });
  afterAll(async () => {
    await services.stop();
    await database.drop();
  });

  it('creates a client with a prefixed 256-bit secret shown once and stores only its keyed hash', async () => {
    const { client, clientSecret } = await services.clients.create(SYSTEM_ACTOR, { name: '  Billing export  ', description: 'nightly', roleId: viewerId });
    expect(client.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(client.name).toBe('Billing export');
    expect(client.enabled).toBe(true);
    expect(client.role).toEqual({ id: viewerId, name: 'Viewer' });
    expect(clientSecret).toMatch(/^koios_cs_[A-Za-z0-9_-]{43}$/);
    expect(client.secretHint).toBe(clientSecret.slice(-4));
    expect(JSON.stringify(client)).not.toContain(clientSecret);
    const stored = await database.handle.db.selectFrom('api_clients').selectAll().where('id', '=', client.id).executeTakeFirstOrThrow();
    expect(JSON.stringify(stored)).not.toContain(clientSecret);
    expect(services.hasher.verify(clientSecret, stored.secret_hash)).toBe(true);
    const audit = await services.audit.list(SYSTEM_ACTOR, { targetId: client.id });
    expect(audit.items.map((event) => event.action)).toEqual(['client.created']);
    expect(JSON.stringify(audit)).not.toContain(clientSecret);
  });

  it('shows each client of a page as it shows that client alone', async () => {
    const jwk = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
    const described = await services.clients.create(SYSTEM_ACTOR, {
      name: 'First page, every field',
      description: 'all set',
      roleId: adminRoleId,
      secretExpiresAt: new Date(Date.now() + 86_400_000).toISOString(),
      allowedCidrs: ['10.0.0.0/8', '2001:db8::/32'],
      rateLimit: { requestsPerMinute: 600, tokensPerMinute: 10 },
      requireDpop: true,
    });
    await services.clients.regenerateSecret(SYSTEM_ACTOR, described.client.id, { keepPreviousFor: 3600 });
    await services.clients.setEnabled(SYSTEM_ACTOR, described.client.id, false);
    await services.clients.create(SYSTEM_ACTOR, { name: 'First page, nothing set' });
    await services.clients.createWithKeys(SYSTEM_ACTOR, { name: 'First page, with a key', roleId: viewerId, publicKeys: [jwk] });
    services.usageRecorder.requested(described.client.id, 'rest');
    for (const status of [undefined, 'disabled'] as const) {
      const page = await services.clients.list(SYSTEM_ACTOR, { limit: 200, ...(status === undefined ? {} : { status }) });
      expect(page.items.length).toBeGreaterThan(0);
      for (const item of page.items) expect(item).toEqual(await services.clients.get(SYSTEM_ACTOR, item.id));
    }
    // A page after a cursor reads its rows the same way.
    let cursor = (await services.clients.list(SYSTEM_ACTOR, { limit: 1 })).nextCursor;
    for (let page = 0; page < 3 && cursor !== null; page += 1) {
      const next = await services.clients.list(SYSTEM_ACTOR, { limit: 1, cursor });
      for (const item of next.items) expect(item).toEqual(await services.clients.get(SYSTEM_ACTOR, item.id));
      cursor = next.nextCursor;
    }
    const first = await services.clients.get(SYSTEM_ACTOR, described.client.id);
    expect(first).toMatchObject({ enabled: false, requests7d: 1, previousSecret: { hint: described.clientSecret.slice(-4) }, role: { name: 'Administrator' } });
  });

  it('rejects bad names and descriptions naming the field, and writes nothing', async () => {
    const before = await services.clients.list(SYSTEM_ACTOR, {});
    for (const input of [
      { name: '' },
      { name: '   ' },
      { name: 'x'.repeat(101) },
      { name: 'ok', description: 'y'.repeat(1001) },
      { name: 42 as unknown as string },
    ]) {
      const error = await services.clients.create(SYSTEM_ACTOR, input).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BadInput);
      expect((error as BadInput).problems[0]!.field).toBe(input.name === 'ok' ? 'description' : 'name');
    }
    const unknownRole = await services.clients.create(SYSTEM_ACTOR, { name: 'x', roleId: '5e1c5b33-0000-4000-8000-000000000000' }).catch((e: unknown) => e);
    expect(unknownRole).toBeInstanceOf(BadInput);
    expect((await services.clients.list(SYSTEM_ACTOR, {})).total).toBe(before.total);
  });

  it('updates name and description, enables and disables, and records each change', async () => {
    const { client } = await services.clients.create(SYSTEM_ACTOR, { name: 'before' });
    const renamed = await services.clients.update(SYSTEM_ACTOR, client.id, { name: 'after', description: 'why' });
    expect(renamed).toMatchObject({ name: 'after', description: 'why' });
    expect((await services.clients.setEnabled(SYSTEM_ACTOR, client.id, false)).enabled).toBe(false);
    expect((await services.clients.setEnabled(SYSTEM_ACTOR, client.id, true)).enabled).toBe(true);
    const audit = await services.audit.list(SYSTEM_ACTOR, { targetId: client.id });
    expect(audit.items.map((event) => event.action)).toEqual([
      'client.enabled',
      'client.disabled',
      'client.description_changed',
      'client.renamed',
      'client.created',
    ]);
  });

  it('regenerates the secret: the old hash is gone and the generation moves on', async () => {
    const { client, clientSecret } = await services.clients.create(SYSTEM_ACTOR, { name: 'rotating' });
    const regenerated = await services.clients.regenerateSecret(SYSTEM_ACTOR, client.id);
    expect(regenerated.clientSecret).not.toBe(clientSecret);
    const row = await database.handle.db.selectFrom('api_clients').selectAll().where('id', '=', client.id).executeTakeFirstOrThrow();
    expect(row.secret_generation).toBe(2);
    expect(services.hasher.verify(clientSecret, row.secret_hash)).toBe(false);
    expect(services.hasher.verify(regenerated.clientSecret, row.secret_hash)).toBe(true);
  });

  it('sets and removes the single role, and reports effective permissions by category', async () => {
    const { client } = await services.clients.create(SYSTEM_ACTOR, { name: 'roled' });
    const none = await services.clients.permissions(SYSTEM_ACTOR, client.id);
    expect(none.flatMap((group) => group.permissions).some((p) => p.granted)).toBe(false);
    await services.clients.setRole(SYSTEM_ACTOR, client.id, viewerId);
    const viewer = await services.clients.permissions(SYSTEM_ACTOR, client.id);
    expect(viewer.map((group) => group.name)).toEqual(['API Clients', 'Roles', 'Users', 'Audit']);
    expect(
      viewer
        .flatMap((group) => group.permissions)
        .filter((p) => p.granted)
        .map((p) => p.key),
    ).toEqual(['clients:read', 'roles:read', 'users:read', 'audit:read']);
    expect((await services.clients.setRole(SYSTEM_ACTOR, client.id, null)).role).toBeNull();
  });

  it('deletes, and an unknown or malformed id is not found or bad input', async () => {
    const { client } = await services.clients.create(SYSTEM_ACTOR, { name: 'doomed' });
    await services.clients.delete(SYSTEM_ACTOR, client.id);
    await expect(services.clients.get(SYSTEM_ACTOR, client.id)).rejects.toBeInstanceOf(NotFound);
    await expect(services.clients.delete(SYSTEM_ACTOR, client.id)).rejects.toBeInstanceOf(NotFound);
    await expect(services.clients.get(SYSTEM_ACTOR, 'not-a-uuid')).rejects.toBeInstanceOf(BadInput);
  });

  it('applies a bulk action in one transaction and reports succeeded and notFound', async () => {
    const ids = await Promise.all([1, 2, 3].map(async (n) => (await services.clients.create(SYSTEM_ACTOR, { name: `bulk ${n}` })).client.id));
    const missing = 'ffffffff-ffff-4fff-bfff-ffffffffffff';
    const disabled = await services.clients.bulk(SYSTEM_ACTOR, 'disable', [...ids, missing]);
    expect(disabled.succeeded.sort()).toEqual([...ids].sort());
    expect(disabled.notFound).toEqual([missing]);
    for (const id of ids) expect((await services.clients.get(SYSTEM_ACTOR, id)).enabled).toBe(false);
    await expect(services.clients.bulk(SYSTEM_ACTOR, 'delete', [...ids, 'nope'])).rejects.toBeInstanceOf(BadInput);
    for (const id of ids) expect((await services.clients.get(SYSTEM_ACTOR, id)).enabled).toBe(false);
    await expect(services.clients.bulk(SYSTEM_ACTOR, 'delete', [])).rejects.toBeInstanceOf(BadInput);
    await expect(
      services.clients.bulk(
        SYSTEM_ACTOR,
        'delete',
        Array.from({ length: 1001 }, () => missing),
      ),
    ).rejects.toBeInstanceOf(BadInput);
    const deleted = await services.clients.bulk(SYSTEM_ACTOR, 'delete', ids);
    expect(deleted.succeeded).toHaveLength(3);
    for (const id of ids) await expect(services.clients.get(SYSTEM_ACTOR, id)).rejects.toBeInstanceOf(NotFound);
  });

  it('takes a client id in any case: an upper-case id deletes and regenerates the same client', async () => {
    const { client, clientSecret } = await services.clients.create(SYSTEM_ACTOR, { name: 'shouting' });
    const regenerated = await services.clients.regenerateSecret(SYSTEM_ACTOR, client.id.toUpperCase());
    const row = await database.handle.db.selectFrom('api_clients').selectAll().where('id', '=', client.id).executeTakeFirstOrThrow();
    expect(services.hasher.verify(regenerated.clientSecret, row.secret_hash)).toBe(true);
    expect(services.hasher.verify(clientSecret, row.secret_hash)).toBe(false);
    await services.clients.delete(SYSTEM_ACTOR, client.id.toUpperCase());
    await expect(services.clients.get(SYSTEM_ACTOR, client.id)).rejects.toBeInstanceOf(NotFound);
  });

  it('says which clients a bulk action changed: enabling an enabled client changes nothing', async () => {
    const ids = await Promise.all([1, 2, 3].map(async (n) => (await services.clients.create(SYSTEM_ACTOR, { name: `changed ${n}` })).client.id));
    await services.clients.bulk(SYSTEM_ACTOR, 'disable', [ids[0]!]);
    const enabled = await services.clients.bulk(SYSTEM_ACTOR, 'enable', ids);
    expect(enabled.succeeded.sort()).toEqual([...ids].sort());
    expect(enabled.changed).toEqual([ids[0]]);
    const again = await services.clients.bulk(SYSTEM_ACTOR, 'enable', ids);
    expect(again.changed).toEqual([]);
    const disabled = await services.clients.bulk(SYSTEM_ACTOR, 'disable', ids);
    expect(disabled.changed.sort()).toEqual([...ids].sort());
    const deleted = await services.clients.bulk(SYSTEM_ACTOR, 'delete', ids);
    expect(deleted.changed.sort()).toEqual([...ids].sort());
  });

  it('lists only the clients holding a role when asked for its roleId, with their total', async () => {
    const holder = await services.clients.create(SYSTEM_ACTOR, { name: 'role filter holder', roleId: viewerId });
    await services.clients.create(SYSTEM_ACTOR, { name: 'role filter other' });
    const page = await services.clients.list(SYSTEM_ACTOR, { roleId: viewerId, search: 'role filter' });
    expect(page.items.map((client) => client.id)).toEqual([holder.client.id]);
    expect(page.total).toBe(1);
    const all = await services.clients.list(SYSTEM_ACTOR, { roleId: viewerId, limit: 200 });
    expect(all.items.every((client) => client.role?.id === viewerId)).toBe(true);
    expect(all.total).toBe(all.items.length);
    await expect(services.clients.list(SYSTEM_ACTOR, { roleId: 'not-a-uuid' })).rejects.toBeInstanceOf(BadInput);
  });

  // A thousand creations, a transaction each, took over 30 s on PostgreSQL beside another suite on two busy cores.
  it('applies a bulk action to a thousand clients at once', async () => {
    const ids: string[] = [];
    for (let batch = 0; batch < 1000; batch += 10) {
      ids.push(
        ...(await Promise.all(
          Array.from({ length: 10 }, async (_, n) => (await services.clients.create(SYSTEM_ACTOR, { name: `many ${batch + n}` })).client.id),
        )),
      );
    }
    const disabled = await services.clients.bulk(SYSTEM_ACTOR, 'disable', ids);
    expect(disabled.succeeded).toHaveLength(1000);
    expect((await services.clients.list(SYSTEM_ACTOR, { search: 'many ', status: 'disabled' })).total).toBe(1000);
    expect((await services.clients.bulk(SYSTEM_ACTOR, 'delete', ids)).succeeded).toHaveLength(1000);
  }, 120_000);

  it('refuses each operation to an actor lacking its permission', async () => {
    const { client } = await services.clients.create(SYSTEM_ACTOR, { name: 'guarded' });
    const nobody = actorWith();
    await expect(services.clients.list(nobody)).rejects.toBeInstanceOf(Forbidden);
    await expect(services.clients.get(nobody, client.id)).rejects.toBeInstanceOf(Forbidden);
    await expect(services.clients.create(actorWith('clients:read'), { name: 'x' })).rejects.toBeInstanceOf(Forbidden);
    await expect(services.clients.update(actorWith('clients:read'), client.id, { name: 'x' })).rejects.toBeInstanceOf(Forbidden);
    await expect(services.clients.delete(actorWith('clients:update'), client.id)).rejects.toBeInstanceOf(Forbidden);
    await expect(services.clients.regenerateSecret(actorWith('clients:update'), client.id)).rejects.toBeInstanceOf(Forbidden);
    await expect(services.clients.bulk(actorWith('clients:update'), 'delete', [client.id])).rejects.toBeInstanceOf(Forbidden);
    await expect(services.clients.setRole(actorWith('clients:update'), client.id, viewerId)).rejects.toBeInstanceOf(Forbidden);
    expect((await services.clients.get(SYSTEM_ACTOR, client.id)).name).toBe('guarded');
  });

  it('never lets an actor hand out, or take over, a role holding a permission it lacks', async () => {
    const { client } = await services.clients.create(SYSTEM_ACTOR, { name: 'escalation target' });
    const assigner = actorWith('roles:assign', 'clients:read', 'roles:read', 'users:read', 'audit:read', 'clients:create', 'clients:secrets');
    await expect(services.clients.setRole(assigner, client.id, adminRoleId)).rejects.toBeInstanceOf(Forbidden);
    await expect(services.clients.create(assigner, { name: 'sneaky', roleId: adminRoleId })).rejects.toBeInstanceOf(Forbidden);
    expect((await services.clients.setRole(assigner, client.id, viewerId)).role?.name).toBe('Viewer');
    // A client with the Administrator role: regenerating its secret would hand the caller that role.
    await services.clients.setRole(SYSTEM_ACTOR, client.id, adminRoleId);
    await expect(services.clients.regenerateSecret(assigner, client.id)).rejects.toBeInstanceOf(Forbidden);
    await expect(services.clients.setRole(assigner, client.id, null)).rejects.toBeInstanceOf(Forbidden);
    expect((await services.clients.get(SYSTEM_ACTOR, client.id)).role?.name).toBe('Administrator');
  });

  it('coalesces recorded uses into one write per flush and shows a pending use at once', async () => {
    const { client } = await services.clients.create(SYSTEM_ACTOR, { name: 'used' });
    services.clients.recordUse(client.id);
    services.clients.recordUse(client.id);
    const shown = await services.clients.get(SYSTEM_ACTOR, client.id);
    expect(shown.lastUsedAt).not.toBeNull();
    const stored = () => database.handle.db.selectFrom('api_clients').select('last_used_at').where('id', '=', client.id).executeTakeFirstOrThrow();
    expect((await stored()).last_used_at).toBeNull();
    await services.lastUsed.flush();
    expect((await stored()).last_used_at).toBe(shown.lastUsedAt);
  });

  it('keeps role names unique regardless of case', async () => {
    await services.roles.create(SYSTEM_ACTOR, { name: 'Auditors', permissions: ['audit:read'] });
    await expect(services.roles.create(SYSTEM_ACTOR, { name: 'auditors', permissions: [] })).rejects.toBeInstanceOf(Conflict);
  });
});
