import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';

/** A module of a checkout, by its path from the checkout's root: each build is measured with its own code. */
export const importer = (root: string) => (path: string) => import(pathToFileURL(join(root, path)).href);

/** Where the seeded clients are: a SQLite file, or a PostgreSQL schema at `url`. */
export interface PageDatabase {
  readonly url: string;
  readonly path?: string;
  readonly schema?: string;
}

/**
 * A database of `clients` clients for the page benches (bench/page-ab.ts, bench/page-parts.ts),
 * migrated and seeded with `root`'s own code: a temporary SQLite file, or a schema of its own
 * (named from `label`) at `pgUrl`, analysed so the planner sees its size.
 */
export async function seedPageDatabase(
  root: string,
  dialect: string,
  options: { readonly label: string; readonly clients: number; readonly pgUrl: string },
): Promise<{ target: PageDatabase; drop(): Promise<void> }> {
  const from = importer(root);
  const [{ openDatabase, migrateToLatest, BULK_POOL }, { insertClients }] = await Promise.all([from('src/server/db/database.ts'), from('bench/pagination.ts')]);
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), `koios-${options.label}-`));
    const path = join(dir, 'koios.db');
    const handle = openDatabase({ dialect: 'sqlite', path, url: `file:${path}` });
    await migrateToLatest(handle);
    await insertClients(handle.db, 'sqlite', options.clients);
    await handle.close();
    return { target: { url: `file:${path}`, path }, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const schema = `${options.label.replace(/-/g, '_')}_${randomBytes(4).toString('hex')}`;
  const handle = openDatabase({ dialect: 'postgres', url: options.pgUrl }, { schema, pool: BULK_POOL });
  await migrateToLatest(handle, schema);
  await insertClients(handle.db, 'postgres', options.clients);
  await handle.pool.query('analyze api_clients');
  await handle.close();
  return {
    target: { url: options.pgUrl, schema },
    async drop() {
      const client = new pg.Client({ connectionString: options.pgUrl });
      await client.connect();
      await client.query(`drop schema ${schema} cascade`);
      await client.end();
    },
  };
}
