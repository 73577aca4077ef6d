import { BULK_POOL, openDatabase } from '../../src/server/db/database.js';
import { createSecretHasher } from '../../src/server/modules/clients/clients.secret.js';
import { createMasterKey } from '../../src/server/modules/master-key/master-key.js';
import { loadSecretKey } from '../../src/server/modules/master-key/sealed-keys.js';
import { clientRow, insertClientRows, type ClientRow } from '../../test/support/client-rows.js';
import { activeClientId, activeClientSecret, holdsChangedRole } from './active-clients.js';
import { fail } from './common.js';
import { benchDatabase } from './koios-database.js';

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
}

/**
 * Inserts the active-clients bench's clients straight into the table of the running server's
 * database, each with its own real secret hashed under the installation's key (opened with the
 * master key the server was started with). Run by koios-active.ts in a process of its own, so the
 * server's RSS is a server's, not a bulk loader's.
 */
async function main(): Promise<void> {
  const { seedConfig, schema, dialect } = benchDatabase();
  const count = Number(required('BENCH_ACTIVE_CLIENTS'));
  const seed = required('BENCH_ACTIVE_SECRET_SEED');
  const changedRoleId = required('BENCH_ACTIVE_ROLE_ID');
  const otherRoleId = required('BENCH_ACTIVE_OTHER_ROLE_ID');
  const masterKey = createMasterKey(Buffer.from(required('BENCH_ACTIVE_MASTER_KEY'), 'base64'), 'KOIOS_MASTER_KEY');
  const database = openDatabase(seedConfig, schema === undefined ? { pool: BULK_POOL } : { schema, pool: BULK_POOL });
  try {
    const hasher = createSecretHasher(await loadSecretKey(database.db, masterKey));
    // In slices, so the loader never holds 100,000 rows and their strings at once.
    for (let start = 0; start < count; start += 20_000) {
      const rows: ClientRow[] = [];
      for (let n = start; n < Math.min(count, start + 20_000); n++) {
        const secret = activeClientSecret(seed, n);
        rows.push(
          clientRow(n, {
            id: activeClientId(n),
            name: `active ${n}`,
            roleId: holdsChangedRole(n) ? changedRoleId : otherRoleId,
            secret: { hash: hasher.hash(secret), hint: secret.slice(-4) },
          }),
        );
      }
      await insertClientRows(database.db, dialect, rows);
    }
  } finally {
    await database.close();
  }
}

main().catch(fail);
