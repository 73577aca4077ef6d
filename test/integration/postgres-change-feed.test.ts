import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../src/server/actor.js';
import { createChangeFeed, type ChangeFeed } from '../../src/server/changes.js';
import { systemClock } from '../../src/server/clock.js';
import { migrateToLatest, openDatabase, type DatabaseHandle } from '../../src/server/db/database.js';
import { createClientStateCache } from '../../src/server/modules/oauth/client-state.js';
import { createMasterKey } from '../../src/server/modules/master-key/master-key.js';
import { createServices, type Services } from '../../src/server/services.js';
import { createTestDatabase, TEST_TOKEN_SETTINGS, testDialects, type TestDatabase } from '../support/databases.js';
import { createPrivatePostgres, privatePostgresAvailable, type PrivatePostgres } from '../support/private-postgres.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean | Promise<boolean>, withinMs: number): Promise<boolean> {
  for (const end = performance.now() + withinMs; performance.now() < end; await sleep(25)) if (await condition()) return true;
  return condition();
}

/** The same database, but every LISTEN connection it opens goes to a port where nothing answers. */
function withDeadListener(handle: DatabaseHandle): DatabaseHandle {
  return { ...handle, newClient: () => new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:1/none', connectionTimeoutMillis: 500 }) };
}

describe.runIf(testDialects().includes('postgres'))('the PostgreSQL change feed', () => {
  let database: TestDatabase;
  const opened: DatabaseHandle[] = [];
  const feeds: ChangeFeed[] = [];
  const services: Services[] = [];

  const open = (size?: number) => {
    const handle = openDatabase(database.config, { schema: database.location, ...(size === undefined ? {} : { pool: { size } }) });
    opened.push(handle);
    return handle;
  };
  const startedFeed = async (handle: DatabaseHandle) => {
    const feed = createChangeFeed(handle);
    feeds.push(feed);
    await feed.start();
    return feed;
  };

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
  });

  afterAll(async () => {
    for (const service of services) await service.stop();
    for (const feed of feeds) await feed.stop();
    for (const handle of opened) await handle.close().catch(() => undefined);
    await database?.drop();
  });

  it('publishes on the channel other instances listen to even when its own listener never connected', async () => {
    const deaf = await createServices({ database: withDeadListener(open()), tokenSettings: TEST_TOKEN_SETTINGS, masterKey: database.masterKey });
    services.push(deaf);
    expect(deaf.changes.isLive()).toBe(false);
    const other = await startedFeed(open());
    expect(await until(() => other.isLive(), 5000)).toBe(true);
    // A long TTL: only a change heard through LISTEN can make the other instance read again.
    const otherStates = createClientStateCache({ db: opened.at(-1)!.db, changes: other, clock: systemClock, ttlMs: 600_000 });

    const { client } = await deaf.clients.create(SYSTEM_ACTOR, { name: 'disabled through the deaf instance' });
    expect((await otherStates.get(client.id))?.enabled).toBe(true);
    await deaf.clients.update(SYSTEM_ACTOR, client.id, { enabled: false });

    expect(await until(async () => (await otherStates.get(client.id))?.enabled === false, 3000)).toBe(true);
  });

  it('keeps the listener trusted while every pool connection is busy', async () => {
    const handle = open(1);
    const feed = await startedFeed(handle);
    expect(await until(() => feed.isLive(), 5000)).toBe(true);

    const samples: boolean[] = [];
    // The pool's only connection is held for 2.5 s: a heartbeat queued behind it would be heard
    // back no sooner, and the listener would be distrusted after a second.
    await handle.db.connection().execute(async () => {
      await sleep(1300);
      for (let taken = 0; taken < 20; taken += 1) {
        samples.push(feed.isLive());
        await sleep(50);
      }
      await sleep(200);
    });

    expect(samples.some(Boolean)).toBe(true);
  });

  it('lets requests that arrive while the pool is busy share one read when the listener is not trusted', async () => {
    const handle = open(1);
    const deafFeed = createChangeFeed(withDeadListener(handle));
    expect(deafFeed.isLive()).toBe(false);
    let reads = 0;
    const counted = handle.db.withPlugin({
      transformQuery: (args) => {
        if (args.node.kind === 'SelectQueryNode') reads += 1;
        return args.node;
      },
      transformResult: async (args) => args.result,
    });
    const states = createClientStateCache({ db: counted, changes: deafFeed, clock: systemClock });
    const { client } = await services[0]!.clients.create(SYSTEM_ACTOR, { name: 'read by three requests at once' });
    // What one load of a client's state costs, alone (its client, federated rules…), read through a
    // second cache so the one under test starts cold.
    await createClientStateCache({ db: counted, changes: deafFeed, clock: systemClock }).get(client.id);
    const oneLoad = reads;
    reads = 0;

    let answers: Awaited<ReturnType<typeof states.get>>[] = [];
    await handle.db.connection().execute(async () => {
      const asked: Promise<Awaited<ReturnType<typeof states.get>>>[] = [];
      for (let request = 0; request < 3; request += 1) {
        asked.push(states.get(client.id));
        await sleep(20);
      }
      // Released when this callback returns; the reads run after that.
      void Promise.all(asked).then((all) => {
        answers = all;
      });
    });
    await until(() => answers.length === 3, 5000);

    expect(answers.map((state) => state?.id)).toEqual([client.id, client.id, client.id]);
    expect(oneLoad).toBeGreaterThan(0);
    expect(reads).toBe(oneLoad);
  });
});

describe.runIf(privatePostgresAvailable())('a change feed whose PostgreSQL is frozen', () => {
  let cluster: PrivatePostgres;
  let handle: DatabaseHandle;
  let services: Services;

  beforeAll(async () => {
    cluster = await createPrivatePostgres();
    handle = openDatabase({ dialect: 'postgres', url: cluster.url });
    await migrateToLatest(handle);
    services = await createServices({
      database: handle,
      tokenSettings: TEST_TOKEN_SETTINGS,
      masterKey: createMasterKey(randomBytes(32), 'KOIOS_MASTER_KEY'),
    });
  }, 120_000);

  afterAll(async () => {
    cluster?.thaw();
    await handle?.close().catch(() => undefined);
    await cluster?.destroy();
  });

  it('lets the services stop within a few seconds instead of waiting for the database to wake', async () => {
    expect(await until(() => services.changes.isLive(), 5000)).toBe(true);
    cluster.freeze();
    let outcome: string;
    try {
      outcome = await Promise.race([services.stop().then(() => 'stopped'), sleep(5000).then(() => 'still stopping after 5 s')]);
    } finally {
      cluster.thaw();
    }
    expect(outcome).toBe('stopped');
  }, 30_000);
});
