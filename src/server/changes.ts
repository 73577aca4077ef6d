import { randomUUID } from 'node:crypto';
import { sql, type Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { DatabaseHandle } from './db/database.js';
import type { Database } from './db/schema.js';
import type { Metrics } from './metrics/metrics.js';
import { CHANNEL_PREFIX, changeChannel, createPostgresListener, type PostgresListener } from './changes/postgres-listener.js';
import { startPruning } from './changes/pruning.js';
import { createSqliteCatchUp } from './changes/sqlite-catch-up.js';

/**
 * What changed, for caches that must see a change on the very next request, on
 * this instance at once and on every other within a second.
 *
 * A change is written to `change_events` in the same transaction as the change itself, then
 * published to this process's subscribers after the commit. Other processes learn of it:
 * - PostgreSQL: `pg_notify` in that transaction, delivered to every LISTENing instance on commit
 *   (changes/postgres-listener.ts, with the heartbeat that proves the listener alive);
 * - SQLite: the next request sees `data_version` move and reads the new rows
 *   (changes/sqlite-catch-up.ts).
 * Old rows are pruned (changes/pruning.ts).
 */
export type Change =
  | { readonly kind: 'client' | 'role' | 'user' | 'keys'; readonly id: string }
  /** Everything may have changed (a lost LISTEN connection): drop every cached entry. */
  | { readonly kind: 'all'; readonly id: '' };

export type ChangeListener = (changes: readonly Change[]) => void;
/** How the feed's parts hand over changes from elsewhere: with the time they were written (epoch ms), when known. */
export type PublishChanges = (changes: readonly Change[], writtenAtMs?: number) => void;
export type RecordChange = (...changes: Change[]) => void;

export interface ChangeFeed {
  /** Runs `work` in one transaction; the changes it records are written in it and published after the commit. */
  transaction<T>(work: (trx: Transaction<Database>, recordChange: RecordChange) => Promise<T>): Promise<T>;
  subscribe(listener: ChangeListener): () => void;
  /**
   * Catches up with changes made by other processes before a cached value is trusted. Returns
   * undefined (nothing to wait for) on the fast path; on SQLite a promise when the file changed.
   */
  sync(): Promise<void> | undefined;
  /**
   * False while other instances' changes may be going unheard: the PostgreSQL LISTEN connection is
   * down, or none of its heartbeats sent in the last second has come back. Cached state must then
   * be checked against the database.
   */
  isLive(): boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Changes per NOTIFY: a client change is about 60 bytes of JSON, so 100 stay well under the 8,000-byte limit. */
const NOTIFY_BATCH = 100;

export function createChangeFeed(
  handle: Pick<DatabaseHandle, 'db' | 'dialect' | 'dataVersion' | 'newClient'>,
  logger?: Logger,
  metrics?: Pick<Metrics, 'changeFeedDelay'>,
): ChangeFeed {
  const { db } = handle;
  const subscribers = new Set<ChangeListener>();
  const origin = randomUUID();
  /** Resolved in start(), through the pool, before any transaction can publish on it. */
  let channel = CHANNEL_PREFIX;
  let listener: PostgresListener | undefined;
  let stopPruning: (() => void) | undefined;
  let stopped = false;

  /** Hands the changes to every subscriber; the delay counted is from the write to the last subscriber done. */
  const publish = (changes: readonly Change[], source: 'local' | 'remote', writtenAtMs: number | undefined) => {
    if (changes.length === 0) return;
    for (const subscriber of subscribers) {
      try {
        subscriber(changes);
      } catch (error) {
        logger?.error({ err: error }, 'a change subscriber failed');
      }
    }
    // Another host's clock may run ahead: a negative delay is counted as none.
    if (writtenAtMs !== undefined) metrics?.changeFeedDelay.observe({ source }, Math.max(0, Date.now() - writtenAtMs) / 1000);
  };
  const publishRemote: PublishChanges = (changes, writtenAtMs) => publish(changes, 'remote', writtenAtMs);

  const catchUp = handle.dataVersion === undefined ? undefined : createSqliteCatchUp(db, handle.dataVersion, publishRemote);

  /** Writes the changes in the transaction; on PostgreSQL also NOTIFYs them, delivered on commit, never for a rolled-back transaction. */
  async function writeChanges(trx: Transaction<Database>, changes: readonly Change[], writtenAtMs: number): Promise<void> {
    const occurredAt = new Date(writtenAtMs).toISOString();
    await trx
      .insertInto('change_events')
      .values(changes.map((change) => ({ kind: change.kind, entity_id: change.id, occurred_at: occurredAt })))
      .execute();
    if (handle.dialect !== 'postgres') return;
    // A NOTIFY payload must stay under 8,000 bytes, so a bulk change (up to 1,000 clients) goes out in several.
    for (let start = 0; start < changes.length; start += NOTIFY_BATCH) {
      const payload = JSON.stringify({ origin, writtenAt: writtenAtMs, changes: changes.slice(start, start + NOTIFY_BATCH) });
      await sql`select pg_notify(${channel}, ${payload})`.execute(trx);
    }
  }

  return {
    async transaction(work) {
      const noted: Change[] = [];
      let writtenAtMs: number | undefined;
      const result = await db.transaction().execute(async (trx) => {
        const value = await work(trx, (...changes) => noted.push(...changes));
        if (noted.length > 0) {
          writtenAtMs = Date.now();
          await writeChanges(trx, noted, writtenAtMs);
        }
        return value;
      });
      publish(noted, 'local', writtenAtMs);
      return result;
    },

    subscribe(subscriber) {
      subscribers.add(subscriber);
      return () => subscribers.delete(subscriber);
    },

    sync: () => catchUp?.sync(),

    isLive: () => handle.dialect === 'sqlite' || (listener?.isLive() ?? false),

    async start() {
      await catchUp?.start();
      if (handle.dialect === 'postgres') {
        channel = await changeChannel(db);
        if (handle.newClient !== undefined && !stopped) {
          listener = createPostgresListener({ newClient: handle.newClient, channel, origin, publish: publishRemote, logger });
          await listener.start();
        }
      }
      if (!stopped) stopPruning = startPruning(db);
    },

    async stop() {
      stopped = true;
      stopPruning?.();
      await listener?.stop();
    },
  };
}
