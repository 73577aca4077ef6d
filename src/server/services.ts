import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { createChangeFeed, type ChangeFeed } from './changes.js';
import { systemClock, type Clock } from './clock.js';
import type { Database } from './db/schema.js';
import { createAuditService } from './modules/audit/audit.service.js';
import { createSecretHasher } from './modules/clients/clients.secret.js';
import { createClientsService } from './modules/clients/clients.service.js';
import { createLastUsedRecorder, type LastUsedRecorder } from './modules/clients/last-used.js';
import { createRolesService } from './modules/roles/roles.service.js';
import { createUsersService } from './modules/users/users.service.js';

const SECRET_KEY_SETTING = 'client_secret_hmac_key';

/**
 * The key of the client-secret HMAC, made on first start and kept in the database so that every
 * instance (and the CLI) computes the same hashes. Concurrent first starts agree: the first insert wins.
 */
export async function loadSecretKey(db: Kysely<Database>): Promise<Buffer> {
  await db
    .insertInto('settings')
    .values({ key: SECRET_KEY_SETTING, value: randomBytes(32).toString('base64url') })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  const row = await db.selectFrom('settings').select('value').where('key', '=', SECRET_KEY_SETTING).executeTakeFirstOrThrow();
  return Buffer.from(row.value, 'base64url');
}

export interface ServicesOptions {
  readonly db: Kysely<Database>;
  readonly logger?: Logger;
  readonly clock?: Clock;
  readonly changes?: ChangeFeed;
  readonly lastUsedFlushMs?: number;
}

/** Every domain service over one database; the HTTP doors and the CLI are built on this. */
export async function createServices(options: ServicesOptions) {
  const { db, logger } = options;
  const clock = options.clock ?? systemClock;
  const changes = options.changes ?? createChangeFeed();
  const hasher = createSecretHasher(await loadSecretKey(db));
  const lastUsed: LastUsedRecorder = createLastUsedRecorder(db, logger, options.lastUsedFlushMs);
  const roles = createRolesService({ db, clock, changes });
  await roles.ensureBuiltIns();
  return {
    db,
    clock,
    changes,
    hasher,
    lastUsed,
    roles,
    clients: createClientsService({ db, clock, hasher, changes, lastUsed }),
    users: createUsersService({ db, clock, changes }),
    audit: createAuditService({ db, clock }),
    /** Flushes coalesced writes; call before closing the database. */
    async stop() {
      await lastUsed.stop();
    },
  };
}

export type Services = Awaited<ReturnType<typeof createServices>>;
