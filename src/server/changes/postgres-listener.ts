import { sql, type Kysely } from 'kysely';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Database } from '../db/schema.js';
import type { Change, PublishChanges } from '../changes.js';

/**
 * The PostgreSQL side of the change feed: other instances' changes arrive as NOTIFY on a LISTEN
 * connection. A LISTEN connection can stall without an error (its backend frozen, a half-open
 * socket), so the listener proves it is alive: every 250 ms this process sends a heartbeat NOTIFY
 * on a connection of its own (a busy pool must not delay it and so distrust every cache), and the
 * listener is trusted only while one sent less than a second ago has come back. Notifications
 * arrive in commit order, so a heartbeat that came back vouches for every change committed before
 * it was sent.
 */
export interface PostgresListener {
  start(): Promise<void>;
  /** False while the connection is down, or none of its heartbeats sent in the last second has come back. */
  isLive(): boolean;
  stop(): Promise<void>;
}

/** The channel's name before the schema is known; `changeChannel` adds the schema. */
export const CHANNEL_PREFIX = 'koios_changes';
/** How often the listener's heartbeat is sent, and how recent the last one back must be to trust it. */
export const HEARTBEAT_INTERVAL_MS = 250;
export const LISTENER_TRUST_MS = 1000;
/** A listener silent this long while heartbeats go out is replaced (a half-open socket never errors). */
const LISTENER_STALL_MS = 5000;
/** How long a closing connection may wait for the server's goodbye: a frozen server never sends it. */
const CLOSE_WAIT_MS = 500;

/**
 * The channel of this database's schema, read through the pool. Known before any change is
 * published, whether or not the listener can connect: a change sent on another channel than the
 * one other instances listen to would go unheard.
 */
export async function changeChannel(db: Kysely<Database>): Promise<string> {
  const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
  return `${CHANNEL_PREFIX}_${rows[0]?.schema ?? 'public'}`.slice(0, 63);
}

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

export function createPostgresListener(options: {
  readonly newClient: (applicationName: string) => pg.Client;
  readonly channel: string;
  /** This process's mark on what it sends: its own changes are published already, its heartbeats prove the listener. */
  readonly origin: string;
  readonly publish: PublishChanges;
  readonly logger?: Logger | undefined;
}): PostgresListener {
  const { newClient, channel, origin, publish, logger } = options;
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

  async function connectListener(): Promise<void> {
    if (stopped || connecting) return;
    connecting = true;
    const client = newClient(`koios listener ${process.pid}`);
    client.on('error', (error) => {
      logger?.warn({ err: { message: error.message } }, 'change listener connection lost; reconnecting');
      dropListener(client);
    });
    client.on('end', () => dropListener(client));
    client.on('notification', (message) => {
      if (message.channel !== channel || message.payload === undefined) return;
      try {
        const parsed = JSON.parse(message.payload) as { origin: string; changes?: Change[]; heartbeat?: number; writtenAt?: number };
        // writtenAt: when the sender wrote the changes (absent from instances older than the metrics).
        if (parsed.origin !== origin) publish(parsed.changes ?? [], typeof parsed.writtenAt === 'number' ? parsed.writtenAt : undefined);
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
    const client = newClient(`koios heartbeat ${process.pid}`);
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
    async start() {
      await connectListener();
      heartbeatTimer = setInterval(sendHeartbeat, HEARTBEAT_INTERVAL_MS);
      heartbeatTimer.unref();
    },

    isLive: () => listener !== undefined && heartbeatHeard !== undefined && performance.now() - heartbeatHeard < LISTENER_TRUST_MS,

    async stop() {
      stopped = true;
      if (reconnectTimer !== undefined) clearTimeout(reconnectTimer);
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
