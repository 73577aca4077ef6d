import { sql } from 'kysely';
import { BULK_POOL, migrateToLatest, openDatabase } from '../../src/server/db/database.js';
import { insertClients } from '../pagination.js';
import { fail } from './common.js';
import { benchDatabase } from './koios-database.js';

/**
 * Migrates the database the parent made (see koios-database.ts) and inserts BENCH_KOIOS_CLIENTS
 * clients straight into the table, as a grown database has them. Run by koios.ts in a process of
 * its own before the server starts, so the server's RSS is a server's, not a bulk loader's.
 */
async function main(): Promise<void> {
  const { dialect, seedConfig, schema } = benchDatabase();
  const count = Number(process.env['BENCH_KOIOS_CLIENTS'] ?? '100000');
  const seeding = openDatabase(seedConfig, schema === undefined ? { pool: BULK_POOL } : { schema, pool: BULK_POOL });
  try {
    await migrateToLatest(seeding, schema);
    if (count > 0) await insertClients(seeding.db, dialect, count);
    if (dialect === 'postgres') await sql`analyze api_clients`.execute(seeding.db);
  } finally {
    await seeding.close();
  }
}

main().catch(fail);
