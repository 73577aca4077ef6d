import { randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { ChangeFeed } from '../../changes.js';
import { ConfigError } from '../../config.js';
import type { Dialect, Executor } from '../../db/database.js';
import type { Database } from '../../db/schema.js';
import { isSealed, loadMasterKey, type MasterKey, type MasterKeySource } from './master-key.js';

/** The id of the master key everything in this database is sealed under. */
export const MASTER_KEY_ID_SETTING = 'master_key_id';
/** The client-secret HMAC key, sealed. */
export const SECRET_KEY_SETTING = 'client_secret_hmac_key';
export const SECRET_KEY_PURPOSE = 'settings:client_secret_hmac_key';
export const signingKeyPurpose = (kid: string): string => `signing_keys:${kid}`;

/** The id of the master key this database's keys are sealed under; null before the first start. */
export async function readMasterKeyId(db: Executor): Promise<string | null> {
  const row = await db.selectFrom('settings').select('value').where('key', '=', MASTER_KEY_ID_SETTING).executeTakeFirst();
  return row?.value ?? null;
}

/** The configured master key, a key file generated for a database that has none yet. */
export async function resolveMasterKey(source: MasterKeySource, db: Kysely<Database>, logger?: Logger): Promise<MasterKey> {
  return loadMasterKey(source, await readMasterKeyId(db), logger);
}

function doesNotOpen(masterKey: MasterKey, sealedUnder: string): ConfigError {
  return new ConfigError(
    masterKey.origin,
    `the master key does not open this database's keys (they are sealed under master key ${sealedUnder}, this key is ${masterKey.id})`,
  );
}

/**
 * SQLite keeps deleted and overwritten rows in free pages and in the WAL until they happen to be
 * reused: `secure_delete` zeroes them as they are freed, VACUUM rebuilds the file from live rows
 * only, and a truncating checkpoint empties the WAL. PostgreSQL gives no such promise for old row
 * versions (see docs/security.md).
 */
async function forgetOldValues<T>(db: Kysely<Database>, dialect: Dialect, write: () => Promise<T>): Promise<T> {
  if (dialect !== 'sqlite') return write();
  await sql`pragma secure_delete = on`.execute(db);
  try {
    const result = await write();
    await sql`vacuum`.execute(db);
    await sql`pragma wal_checkpoint(truncate)`.execute(db);
    return result;
  } finally {
    await sql`pragma secure_delete = off`.execute(db);
  }
}

/**
 * Run at every start, before the keys are used. Checks that `masterKey` is the one this database's
 * keys are sealed under (a clear one-line error otherwise), records it on a new database, and
 * upgrades a database written before keys were sealed: the client-secret key is sealed in place
 * (existing secrets keep working), while signing keys that sat in plaintext are treated as
 * exposed and deleted (a new one is made; tokens they signed stop verifying).
 */
export async function sealKeysAtRest(deps: {
  db: Kysely<Database>;
  dialect: Dialect;
  masterKey: MasterKey;
  changes: Pick<ChangeFeed, 'transaction'>;
  logger?: Logger;
}): Promise<void> {
  const { db, dialect, masterKey } = deps;
  const stored = await readMasterKeyId(db);
  if (stored !== null && stored !== masterKey.id) throw doesNotOpen(masterKey, stored);
  const plaintext = async (executor: Executor) => {
    const secret = await executor.selectFrom('settings').select('value').where('key', '=', SECRET_KEY_SETTING).executeTakeFirst();
    const keys = await executor.selectFrom('signing_keys').select(['kid', 'private_key']).execute();
    return {
      secret: secret !== undefined && !isSealed(secret.value) ? secret.value : null,
      kids: keys.filter((key) => !isSealed(key.private_key)).map((key) => key.kid),
    };
  };
  const found = await plaintext(db);
  const upgrade = found.secret !== null || found.kids.length > 0;
  if (stored !== null && !upgrade) return;

  const write = () =>
    deps.changes.transaction(async (trx, recordChange) => {
      await trx
        .insertInto('settings')
        .values({ key: MASTER_KEY_ID_SETTING, value: masterKey.id })
        .onConflict((oc) => oc.column('key').doNothing())
        .execute();
      // Two first starts with different keys: the first one recorded wins, the other stops here.
      const claimed = await readMasterKeyId(trx);
      if (claimed !== masterKey.id) throw doesNotOpen(masterKey, claimed ?? 'unknown');
      const now = await plaintext(trx);
      if (now.secret !== null) {
        await trx
          .updateTable('settings')
          .set({ value: masterKey.seal(Buffer.from(now.secret, 'base64url'), SECRET_KEY_PURPOSE) })
          .where('key', '=', SECRET_KEY_SETTING)
          .execute();
      }
      if (now.kids.length > 0) {
        await trx.deleteFrom('signing_keys').where('kid', 'in', now.kids).execute();
        recordChange(...now.kids.map((kid) => ({ kind: 'keys' as const, id: kid })));
      }
      return now;
    });
  const done = upgrade ? await forgetOldValues(db, dialect, write) : await write();
  if (done.secret !== null || done.kids.length > 0) {
    deps.logger?.warn(
      { masterKeyId: masterKey.id, replacedSigningKeys: done.kids.length },
      'keys were stored in plaintext: the client-secret key is now sealed under the master key, and the signing keys were replaced (tokens they signed are no longer accepted)',
    );
  }
}

/**
 * The client-secret HMAC key, made on first start and kept sealed in the database so that every
 * instance (and the CLI) computes the same hashes. Concurrent first starts agree: the first insert wins.
 */
export async function loadSecretKey(db: Kysely<Database>, masterKey: MasterKey): Promise<Buffer> {
  // Read first: every start after the first (each CLI command) then needs no write lock.
  const existing = await db.selectFrom('settings').select('value').where('key', '=', SECRET_KEY_SETTING).executeTakeFirst();
  if (existing !== undefined) return masterKey.open(existing.value, SECRET_KEY_PURPOSE);
  await db
    .insertInto('settings')
    .values({ key: SECRET_KEY_SETTING, value: masterKey.seal(randomBytes(32), SECRET_KEY_PURPOSE) })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  const row = await db.selectFrom('settings').select('value').where('key', '=', SECRET_KEY_SETTING).executeTakeFirstOrThrow();
  return masterKey.open(row.value, SECRET_KEY_PURPOSE);
}

/** Fails when the database's keys were re-sealed under another master key since this process started. */
export async function assertMasterKeyCurrent(trx: Executor, masterKey: MasterKey): Promise<void> {
  const stored = await readMasterKeyId(trx);
  if (stored !== masterKey.id) {
    throw new ConfigError(masterKey.origin, `the master key was rotated (now ${stored ?? 'unknown'}) since this process started: restart it with the new key`);
  }
}

/**
 * Re-seals every key under `next` in one transaction and records its id: from the commit on only
 * `next` opens them. Instances still running with the current key keep working from memory until
 * restarted; they cannot make new signing keys meanwhile.
 */
export async function rotateMasterKey(deps: {
  db: Kysely<Database>;
  dialect: Dialect;
  current: MasterKey;
  next: MasterKey;
}): Promise<{ masterKeyId: string; signingKeys: number }> {
  const { db, current, next } = deps;
  if (next.id === current.id) throw new ConfigError('--new-key-file', 'holds the master key already in use');
  return forgetOldValues(db, deps.dialect, () =>
    db.transaction().execute(async (trx) => {
      // Moving the id first takes the row lock (PostgreSQL): a rotation running at the same time waits, then fails here.
      const moved = await trx
        .updateTable('settings')
        .set({ value: next.id })
        .where('key', '=', MASTER_KEY_ID_SETTING)
        .where('value', '=', current.id)
        .executeTakeFirst();
      if (moved.numUpdatedRows !== 1n) throw doesNotOpen(current, (await readMasterKeyId(trx)) ?? 'unknown');
      const secret = await trx.selectFrom('settings').select('value').where('key', '=', SECRET_KEY_SETTING).executeTakeFirst();
      if (secret !== undefined) {
        const value = next.seal(current.open(secret.value, SECRET_KEY_PURPOSE), SECRET_KEY_PURPOSE);
        await trx.updateTable('settings').set({ value }).where('key', '=', SECRET_KEY_SETTING).execute();
      }
      const keys = await trx.selectFrom('signing_keys').select(['kid', 'private_key']).execute();
      for (const key of keys) {
        const purpose = signingKeyPurpose(key.kid);
        await trx
          .updateTable('signing_keys')
          .set({ private_key: next.seal(current.open(key.private_key, purpose), purpose) })
          .where('kid', '=', key.kid)
          .execute();
      }
      return { masterKeyId: next.id, signingKeys: keys.length };
    }),
  );
}
