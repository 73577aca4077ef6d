import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { DatabaseHandle } from './db/database.js';
import type { Database } from './db/schema.js';

/**
 * What changed, for caches that must see a change on the very next request (CONTRACT §4), on
 * this instance at once and on every other within a second.
 *
 * A change is written to `change_events` in the same transaction as the change itself, then
 * published to this process's subscribers after the commit. Other processes learn of it:
 * - PostgreSQL: `pg_notify` in that transaction, delivered to every LISTENing instance on commit;
 * - SQLite: one server process owns the file, but the CLI may write to it too; the next request
 *   sees SQLite's `data_version` move and reads the new rows of `change_events`.
 */
export type Change =
  | { readonly kind: 'client' | 'role' | 'user' | 'keys'; readonly id: string }
  /** Everything may have changed (a lost LISTEN connection): drop every cached entry. */
  | { readonly kind: 'all'; readonly id: '' };

export type ChangeListener = (changes: readonly Change[]) => void;
export type Note = (...changes: Change[]) => void;

export interface ChangeFeed {
  /** Runs `work` in one transaction; the changes it notes are recorded in it and published after the commit. */
  transaction<T>(work: (trx: Transaction<Database>, note: Note) => Promise<T>): Promise<T>;
  subscribe(listener: ChangeListener): () => void;
  /**
   * Catches up with changes made by other processes before a cached value is trusted. Returns
   * undefined (nothing to wait for) on the fast path; on SQLite a promise when the file changed.
   */
  sync(): Promise<void> | undefined;
  /** False while other instances' changes may be going unheard (PostgreSQL LISTEN connection down). */
  isLive(): boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}

const CHANNEL_PREFIX = 'koios_changes';
/** Changes per NOTIFY: a client change is about 60 bytes of JSON, so 100 stay well under the 8,000-byte limit. */
const NOTIFY_BATCH = 100;
/** Rows older than this are pruned; a process that was away longer reloads everything anyway. */
const RETENTION_MS = 10 * 60 * 1000;

export function createChangeFeed(handle: Pick<DatabaseHandle, 'db' | 'dialect' | 'dataVersion' | 'newClient'>, logger?: Logger): ChangeFeed {
  const { db } = handle;
  const listeners = new Set<ChangeListener>();
  const origin = randomUUID();
  let channel = CHANNEL_PREFIX;
  let lastSeenId = 0;
  let lastDataVersion: number | undefined;
  let catchingUp: Promise<void> | undefined;
  let listener: pg.Client | undefined;
  let live = handle.dialect === 'sqlite';
  let stopped = false;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let pruneTimer: NodeJS.Timeout | undefined;

  const publish = (changes: readonly Change[]) => {
    if (changes.length === 0) return;
    for (const subscriber of listeners) {
      try {
        subscriber(changes);
      } catch (error) {
        logger?.error({ err: error }, 'a change subscriber failed');
      }
    }
  };

  async function readSince(executor: Kysely<Database>): Promise<Change[]> {
    const rows = await executor.selectFrom('change_events').select(['id', 'kind', 'entity_id']).where('id', '>', lastSeenId).orderBy('id').execute();
    for (const row of rows) lastSeenId = Math.max(lastSeenId, row.id);
    return rows.map((row) => ({ kind: row.kind, id: row.entity_id }) as Change);
  }

  async function latestId(): Promise<number> {
    const row = await db
      .selectFrom('change_events')
      .select((eb) => eb.fn.max('id').as('id'))
      .executeTakeFirst();
    return Number(row?.id ?? 0);
  }

  async function connectListener(): Promise<void> {
    if (handle.newClient === undefined || stopped) return;
    const client = handle.newClient();
    client.on('error', (error) => {
      logger?.warn({ err: { message: error.message } }, 'change listener connection lost; reconnecting');
      dropListener(client);
    });
    client.on('end', () => dropListener(client));
    client.on('notification', (message) => {
      if (message.channel !== channel || message.payload === undefined) return;
      try {
        const parsed = JSON.parse(message.payload) as { origin: string; changes: Change[] };
        if (parsed.origin !== origin) publish(parsed.changes);
      } catch {
        publish([{ kind: 'all', id: '' }]);
      }
    });
    try {
      await client.connect();
      const schema = await client.query<{ schema: string }>('select current_schema() as schema');
      channel = `${CHANNEL_PREFIX}_${schema.rows[0]?.schema ?? 'public'}`.slice(0, 63);
      await client.query(`listen "${channel}"`);
      listener = client;
      live = true;
      // Whatever happened while nobody listened is unknown: start from the database again.
      publish([{ kind: 'all', id: '' }]);
    } catch (error) {
      logger?.warn({ err: { message: (error as Error).message } }, 'change listener could not connect; retrying');
      dropListener(client);
    }
  }

  function dropListener(client: pg.Client): void {
    if (listener === client) listener = undefined;
    live = false;
    client.removeAllListeners('notification');
    client.end().catch(() => undefined);
    if (!stopped && reconnectTimer === undefined) {
      reconnectTimer = setTimeout(() => {
        reconnectTimer = undefined;
        void connectListener();
      }, 500);
      reconnectTimer.unref();
    }
  }

  return {
    async transaction(work) {
      const noted: Change[] = [];
      const result = await db.transaction().execute(async (trx) => {
        const value = await work(trx, (...changes) => noted.push(...changes));
        if (noted.length > 0) {
          const occurredAt = new Date().toISOString();
          await trx
            .insertInto('change_events')
            .values(noted.map((change) => ({ kind: change.kind, entity_id: change.id, occurred_at: occurredAt })))
            .execute();
          if (handle.dialect === 'postgres') {
            // Delivered on commit, never for a rolled-back transaction. A NOTIFY payload must stay
            // under 8,000 bytes, so a bulk change (up to 1,000 clients) goes out in several.
            for (let start = 0; start < noted.length; start += NOTIFY_BATCH) {
              const payload = JSON.stringify({ origin, changes: noted.slice(start, start + NOTIFY_BATCH) });
              await sql`select pg_notify(${channel}, ${payload})`.execute(trx);
            }
          }
        }
        return value;
      });
      publish(noted);
      return result;
    },

    subscribe(subscriber) {
      listeners.add(subscriber);
      return () => listeners.delete(subscriber);
    },

    sync() {
      if (handle.dataVersion === undefined) return undefined;
      if (catchingUp !== undefined) return catchingUp;
      const version = handle.dataVersion();
      if (version === lastDataVersion) return undefined;
      catchingUp = readSince(db)
        .then((changes) => {
          lastDataVersion = version;
          publish(changes);
        })
        .finally(() => {
          catchingUp = undefined;
        });
      return catchingUp;
    },

    isLive: () => live,

    async start() {
      lastSeenId = await latestId();
      lastDataVersion = handle.dataVersion?.();
      if (handle.dialect === 'postgres') await connectListener();
      pruneTimer = setInterval(() => {
        const cutoff = new Date(Date.now() - RETENTION_MS).toISOString();
        db.deleteFrom('change_events')
          .where('occurred_at', '<', cutoff)
          .execute()
          .catch(() => undefined);
      }, 60_000);
      pruneTimer.unref();
    },

    async stop() {
      stopped = true;
      if (reconnectTimer !== undefined) clearTimeout(reconnectTimer);
      if (pruneTimer !== undefined) clearInterval(pruneTimer);
      const client = listener;
      listener = undefined;
      await client?.end().catch(() => undefined);
    },
  };
}
