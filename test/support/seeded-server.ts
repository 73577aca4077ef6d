import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseConfig } from '../../src/server/config.js';
import { BULK_POOL, migrateToLatest, openDatabase } from '../../src/server/db/database.js';
import { createMasterKey } from '../../src/server/modules/master-key/master-key.js';
import { createServices, type Services } from '../../src/server/services.js';
import { startServerProcess, type ServerProcess, type ServerProcessOptions } from './processes.js';

/** Where to seed: a new SQLite file in a folder of its own, or a PostgreSQL database the caller made. */
export type SeedTarget = { readonly dialect: 'sqlite' } | { readonly dialect: 'postgres'; readonly url: string };

/** A migrated database holding what `seed` made, under a master key of its own. */
export interface SeededDatabase<Seeded> {
  /** What a server process or the CLI needs to open it: KOIOS_DATABASE_URL and KOIOS_MASTER_KEY. */
  readonly env: Record<string, string>;
  /** The SQLite file; undefined on PostgreSQL. */
  readonly path: string | undefined;
  /** What `seed` returned. */
  readonly seeded: Seeded;
  /** Deletes the SQLite file's folder; nothing on PostgreSQL, whose database the caller owns. */
  remove(): void;
}

/** Token settings for seeding only: no token leaves the seeding services. */
const SEED_TOKEN_SETTINGS = { issuer: 'http://seed.invalid', audience: 'http://seed.invalid', accessTokenTtlSeconds: 3600 };

/**
 * Migrates the target and runs `seed` on the services over it, as an operator's earlier use would
 * have left it; the services and connections are closed before it returns, so a server process of
 * its own (or the CLI) can take the database over.
 */
export async function seedDatabase<Seeded>(target: SeedTarget, seed: (services: Services) => Promise<Seeded>): Promise<SeededDatabase<Seeded>> {
  const masterKeyBytes = randomBytes(32);
  let dir: string | undefined;
  let config: DatabaseConfig;
  if (target.dialect === 'sqlite') {
    dir = mkdtempSync(join(tmpdir(), 'koios-seeded-'));
    const path = join(dir, 'koios.db');
    config = { dialect: 'sqlite', path, url: `file:${path}` };
  } else {
    config = { dialect: 'postgres', url: target.url };
  }
  const remove = () => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  };
  const path = config.dialect === 'sqlite' ? config.path : undefined;
  try {
    const handle = openDatabase(config, config.dialect === 'postgres' ? { pool: { ...BULK_POOL, size: 2 } } : {});
    try {
      await migrateToLatest(handle);
      const services = await createServices({
        database: handle,
        tokenSettings: SEED_TOKEN_SETTINGS,
        masterKey: createMasterKey(masterKeyBytes, 'KOIOS_MASTER_KEY'),
      });
      try {
        const seeded = await seed(services);
        return { env: { KOIOS_DATABASE_URL: config.url, KOIOS_MASTER_KEY: masterKeyBytes.toString('base64') }, path, seeded, remove };
      } finally {
        await services.stop();
      }
    } finally {
      await handle.close();
    }
  } catch (error) {
    remove();
    throw error;
  }
}

/** A seeded database and the real server process (see startServerProcess) serving it. */
export interface SeededServer<Seeded> extends SeededDatabase<Seeded> {
  readonly server: ServerProcess;
  /** Stops the server, then removes the database (see `remove`). */
  stop(): Promise<void>;
}

/** `seedDatabase`, then a server process on it, with `options.env` on top of the database's. */
export async function startSeededServer<Seeded>(
  target: SeedTarget,
  seed: (services: Services) => Promise<Seeded>,
  options: Partial<ServerProcessOptions> = {},
): Promise<SeededServer<Seeded>> {
  const database = await seedDatabase(target, seed);
  try {
    const server = await startServerProcess({ ...options, env: { ...database.env, ...options.env } });
    return {
      ...database,
      server,
      async stop() {
        await server.stop();
        database.remove();
      },
    };
  } catch (error) {
    database.remove();
    throw error;
  }
}
