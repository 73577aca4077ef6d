import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { DatabaseHandle } from './db/database.js';
import type { Database } from './db/schema.js';

/**
 * What changed, for caches that must see a change on the very next request, on
 * this instance at once and on every other within a second.
 *
 * A change is written to `change_events` in the same transaction as the change itself, then
 * published to this process's subscribers after the commit. Other processes learn of it:
 * - PostgreSQL: `pg_notify` in that transaction, delivered to every LISTENing instance on commit.
 *   A LISTEN connection can stall without an error (its backend frozen, a half-open socket), so
 *   the listener proves it is alive: every 250 ms this process sends a heartbeat NOTIFY on a
 *   connection of its own (a busy pool must not delay it and so distrust every cache), and the
 *   listener is trusted only while one sent less than a second ago has come back. Notifications arrive in commit order, so a heartbeat that came back vouches for every
 *   change committed before it was sent;
 * - SQLite: one server process owns the file, but the CLI may write to it too; the next request
 *   sees SQLite's `data_version` move and reads the new rows of `change_events`.
 */
export type Change =
  | { readonly kind: 'client' | 'role' | 'user' | 'keys'; readonly id: string }
  /** Everything may have changed (a lost LISTEN connection): drop every cached entry. */
  | { readonly kind: 'all'; readonly id: '' };

export type ChangeListener = (changes: readonly Change[]) => void;
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

const CHANNEL_PREFIX = 'koios_changes';
/** Changes per NOTIFY: a client change is about 60 bytes of JSON, so 100 stay well under the 8,000-byte limit. */
const NOTIFY_BATCH = 100;
/** Rows older than this are pruned; a process that was away longer reloads everything anyway. */
const RETENTION_MS = 10 * 60 * 1000;
/** How often the listener's heartbeat is sent, and how recent the last one back must be to trust it. */
export const HEARTBEAT_INTERVAL_MS = 250;
export const LISTENER_TRUST_MS = 1000;
/** A listener silent this long while heartbeats go out is replaced (a half-open socket never errors). */
const LISTENER_STALL_MS = 5000;
/** How long a closing connection may wait for the server's goodbye: a frozen server never sends it. */
const CLOSE_WAIT_MS = 500;

/** The socket under a pg client, closed outright when the server will not answer. */
function destroySocket(client: pg.Client): void {
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}

/** Ends a connection politely if the server answers within CLOSE_WAIT_MS, else closes its socket. */
async function closeClient(client: pg.Client): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    client.end().catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CLOSE_WAIT_MS);
    }),
  ]);
  clearTimeout(timer);
  destroySocket(client);
}

export function createChangeFeed(handle: Pick<DatabaseHandle, 'db' | 'dialect' | 'dataVersion' | 'newClient'>, logger?: Logger): ChangeFeed {
  const { db } = handle;
  const listeners = new Set<ChangeListener>();
  const origin = randomUUID();
  /** Resolved in start(), through the pool, before any transaction can publish on it. */
  let channel = CHANNEL_PREFIX;
  let lastSeenId = 0;
  let lastDataVersion: number | undefined;
  let catchingUp: Promise<void> | undefined;
  let listener: pg.Client | undefined;
  /** performance.now() at which the newest heartbeat heard back on the current LISTEN connection was sent. */
  let heartbeatHeard: number | undefined;
  let listenerSince = 0;
  let connecting = false;
  let heartbeatInFlight = false;
  let heartbeatFailing = false;
  let heartbeatTimer: NodeJS.Timeout | undefined;
  /** The heartbeat's own connection, opened on first use and again after it fails. */
  let heartbeatClient: Promise<pg.Client> | undefined;
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
    if (handle.newClient === undefined || stopped || connecting) return;
    connecting = true;
    const client = handle.newClient(`koios listener ${process.pid}`);
    client.on('error', (error) => {
      logger?.warn({ err: { message: error.message } }, 'change listener connection lost; reconnecting');
      dropListener(client);
    });
    client.on('end', () => dropListener(client));
    client.on('notification', (message) => {
      if (message.channel !== channel || message.payload === undefined) return;
      try {
        const parsed = JSON.parse(message.payload) as { origin: string; changes?: Change[]; heartbeat?: number };
        if (parsed.origin !== origin) publish(parsed.changes ?? []);
        else if (typeof parsed.heartbeat === 'number' && listener === client) heartbeatHeard = Math.max(heartbeatHeard ?? 0, parsed.heartbeat);
      } catch {
        publish([{ kind: 'all', id: '' }]);
      }
    });
    try {
      await client.connect();
      await client.query(`listen "${channel}"`);
      if (stopped) {
        await closeClient(client);
        return;
      }
      listener = client;
      listenerSince = performance.now();
      heartbeatHeard = undefined;
      // Whatever happened while nobody listened is unknown: every cached entry is dropped and read
      // again, after LISTEN, so no change committed meanwhile can be missed.
      publish([{ kind: 'all', id: '' }]);
      sendHeartbeat();
    } catch (error) {
      logger?.warn({ err: { message: (error as Error).message } }, 'change listener could not connect; retrying');
      dropListener(client);
    } finally {
      connecting = false;
    }
  }

  /** Closes a listener connection (the current one, or a failed attempt) and schedules a new one. */
  function dropListener(client: pg.Client): void {
    if (listener === client) {
      listener = undefined;
      heartbeatHeard = undefined;
    }
    client.removeAllListeners('notification');
    // A stalled server may never answer the goodbye of end(): the socket is closed outright.
    void client.end().catch(() => undefined);
    destroySocket(client);
    if (!stopped && listener === undefined && reconnectTimer === undefined) {
      reconnectTimer = setTimeout(() => {
        reconnectTimer = undefined;
        void connectListener();
      }, 500);
      reconnectTimer.unref();
    }
  }

  /** The heartbeat's connection: not the pool's, whose queue under load would delay every heartbeat. */
  function heartbeatConnection(): Promise<pg.Client> {
    if (heartbeatClient !== undefined) return heartbeatClient;
    const client = handle.newClient!(`koios heartbeat ${process.pid}`);
    const opening = client.connect().then(() => client);
    heartbeatClient = opening;
    const forget = () => {
      if (heartbeatClient === opening) heartbeatClient = undefined;
      void closeClient(client);
    };
    client.on('error', forget);
    client.on('end', forget);
    opening.catch(forget);
    return opening;
  }

  /** A listener that has heard nothing of its own for the stall limit is replaced, whether or not heartbeats go out. */
  function replaceStalledListener(): void {
    const current = listener;
    if (current !== undefined && performance.now() - Math.max(heartbeatHeard ?? 0, listenerSince) > LISTENER_STALL_MS) {
      logger?.warn('change listener hears nothing back; reconnecting');
      dropListener(current);
    }
  }

  /** From another connection than the listener's, so that hearing it back proves the path from the database to the listener. */
  function sendHeartbeat(): void {
    if (listener === undefined || heartbeatInFlight || stopped) return;
    heartbeatInFlight = true;
    const payload = JSON.stringify({ origin, heartbeat: performance.now() });
    heartbeatConnection()
      .then(async (client) => {
        try {
          await client.query('select pg_notify($1, $2)', [channel, payload]);
        } catch (error) {
          // A connection that failed once is not trusted again: the next heartbeat opens another.
          if (heartbeatClient !== undefined && (await heartbeatClient.catch(() => undefined)) === client) heartbeatClient = undefined;
          void closeClient(client);
          throw error;
        }
      })
      .then(
        () => {
          if (heartbeatFailing) logger?.info('change listener heartbeat sent again');
          heartbeatFailing = false;
          replaceStalledListener();
        },
        (error: unknown) => {
          if (!heartbeatFailing)
            logger?.warn(
              { err: { message: (error as Error).message } },
              'change listener heartbeat cannot be sent; cached client state is checked against the database',
            );
          heartbeatFailing = true;
          replaceStalledListener();
        },
      )
      .finally(() => {
        heartbeatInFlight = false;
      });
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

    isLive: () =>
      handle.dialect === 'sqlite' || (listener !== undefined && heartbeatHeard !== undefined && performance.now() - heartbeatHeard < LISTENER_TRUST_MS),

    async start() {
      lastSeenId = await latestId();
      lastDataVersion = handle.dataVersion?.();
      if (handle.dialect === 'postgres') {
        // Known before any change is published, whether or not the listener can connect: a change
        // sent on another channel than the one other instances listen to would go unheard.
        const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
        channel = `${CHANNEL_PREFIX}_${rows[0]?.schema ?? 'public'}`.slice(0, 63);
        await connectListener();
        heartbeatTimer = setInterval(sendHeartbeat, HEARTBEAT_INTERVAL_MS);
        heartbeatTimer.unref();
      }
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
      if (heartbeatTimer !== undefined) clearInterval(heartbeatTimer);
      const client = listener;
      listener = undefined;
      const heartbeat = heartbeatClient;
      heartbeatClient = undefined;
      // Bounded: a frozen server never answers a goodbye, and shutdown must not wait for it.
      await Promise.all([client === undefined ? undefined : closeClient(client), heartbeat?.then(closeClient, () => undefined)]);
    },
  };
}
