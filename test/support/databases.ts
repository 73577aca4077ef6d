import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import type { DatabaseConfig } from '../../src/server/config.js';
import { BULK_POOL, migrateToLatest, openDatabase, type DatabaseHandle, type Dialect } from '../../src/server/db/database.js';
import { createMasterKey, type MasterKey } from '../../src/server/modules/master-key/master-key.js';
import { createServices, type Services, type ServicesOptions } from '../../src/server/services.js';

/**
 * The dialects this run tests: those KOIOS_TEST_DIALECTS names (default sqlite,postgres), less
 * PostgreSQL when global setup could not reach it outside CI.
 */
export function testDialects(): Dialect[] {
  return [...inject('testDialects')];
}

export interface TestDatabase {
  readonly dialect: Dialect;
  readonly handle: DatabaseHandle;
  /** What a server or CLI process needs to reach the same database. */
  readonly env: Record<string, string>;
  readonly config: DatabaseConfig;
  /** A random master key of this database's own, also in `env` as KOIOS_MASTER_KEY. */
  readonly masterKey: MasterKey;
  /** SQLite: the database file; PostgreSQL: the schema. */
  readonly location: string;
  drop(): Promise<void>;
}

/** A fresh, migrated database of its own: a temporary SQLite file, or a new PostgreSQL schema. */
export async function createTestDatabase(dialect: Dialect): Promise<TestDatabase> {
  const keyBytes = randomBytes(32);
  const masterKey = createMasterKey(keyBytes, 'KOIOS_MASTER_KEY');
  const KOIOS_MASTER_KEY = keyBytes.toString('base64');
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'koios-test-'));
    const path = join(dir, 'koios.db');
    const config: DatabaseConfig = { dialect: 'sqlite', path, url: `file:${path}` };
    const handle = openDatabase(config);
    await migrateToLatest(handle);
    return {
      dialect,
      handle,
      config,
      location: path,
      masterKey,
      env: { KOIOS_DATABASE_URL: config.url, KOIOS_MASTER_KEY },
      async drop() {
        await handle.close().catch(() => undefined);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const base = inject('pgUrl');
  if (base === null) throw new Error('PostgreSQL is not available in this run');
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const config: DatabaseConfig = { dialect: 'postgres', url: base };
  const handle = openDatabase(config, { schema, pool: BULK_POOL });
  await migrateToLatest(handle, schema);
  const url = new URL(base);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    dialect,
    handle,
    config,
    location: schema,
    masterKey,
    env: { KOIOS_DATABASE_URL: url.href, KOIOS_MASTER_KEY },
    async drop() {
      await handle.close().catch(() => undefined);
      const client = new pg.Client({ connectionString: base });
      await client.connect();
      await client.query(`drop schema if exists ${schema} cascade`);
      await client.end();
    },
  };
}

/** Token settings for service-level tests; server tests use a real configuration. */
export const TEST_TOKEN_SETTINGS = Object.freeze({ issuer: 'http://koios.test', audience: 'http://koios.test', accessTokenTtlSeconds: 3600 });

export async function createTestServices(database: TestDatabase, options: Partial<ServicesOptions> = {}): Promise<Services> {
  return createServices({ database: database.handle, tokenSettings: TEST_TOKEN_SETTINGS, masterKey: database.masterKey, lastUsedFlushMs: 60_000, ...options });
}
