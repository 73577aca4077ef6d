import { afterEach, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../actor.js';
import { createChangeFeed, type ChangeFeed } from '../../changes.js';
import { BULK_POOL, openDatabase, type DatabaseHandle } from '../../db/database.js';
import type { Services } from '../../services.js';
import { createTestDatabase, createTestServices, testDialects, type TestDatabase } from '../../../../test/support/databases.js';

const INSTANCES = 4;

describe.each(testDialects())('signing keys of instances starting together on %s', (dialect) => {
  let database: TestDatabase | undefined;
  let handles: DatabaseHandle[] = [];
  let services: Services[] = [];

  afterEach(async () => {
    await Promise.all(services.map((instance) => instance.stop()));
    await Promise.all(handles.map((handle) => handle.close()));
    await database?.drop();
    services = [];
    handles = [];
  });

  it.each([1, 2, 3])('makes exactly one active key, and every instance publishes the same JWKS (round %i)', async () => {
    database = await createTestDatabase(dialect);
    const fresh = database;
    // Each instance has its own pool, as separate processes would.
    handles = Array.from({ length: INSTANCES }, () =>
      openDatabase(fresh.config, fresh.dialect === 'postgres' ? { schema: fresh.location, pool: BULK_POOL } : {}),
    );
    services = await Promise.all(handles.map((handle) => createTestServices({ ...fresh, handle })));

    const active = await fresh.handle.db.selectFrom('signing_keys').select('kid').where('retired_at', 'is', null).execute();
    expect(active).toHaveLength(1);
    for (const instance of services) expect(instance.signingKeys.jwks()).toEqual({ keys: [expect.objectContaining({ kid: active[0]!.kid })] });
  });

  it('verifies a token signed with a key made on another instance it never heard of, by reloading the keys', async () => {
    database = await createTestDatabase(dialect);
    const fresh = database;
    handles = [openDatabase(fresh.config, fresh.dialect === 'postgres' ? { schema: fresh.location, pool: BULK_POOL } : {})];
    // This instance hears of no change at all (its notifications lost), so only the unknown kid can tell it.
    const heard = createChangeFeed(handles[0]!);
    const deaf: ChangeFeed = { ...heard, subscribe: () => () => undefined };
    const rotating = await createTestServices(fresh);
    const unaware = await createTestServices({ ...fresh, handle: handles[0]! }, { changes: deaf });
    services = [rotating, unaware];

    const newKid = await rotating.signingKeys.rotate(SYSTEM_ACTOR);
    expect(unaware.signingKeys.forKidCached(newKid)).toBeUndefined();
    const { client } = await rotating.clients.create(SYSTEM_ACTOR, { name: 'signed with the new key' });
    const minted = await rotating.tokens.issue((await rotating.clientStates.get(client.id))!, undefined);

    expect((await unaware.tokens.check(minted.access_token, null)).ok).toBe(true);
    expect(unaware.signingKeys.jwks().keys.map((key) => key.kid)).toContain(newKid);
  });
});
