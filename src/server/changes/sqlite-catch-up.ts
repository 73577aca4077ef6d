import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { Change } from '../changes.js';

/**
 * The SQLite side of the change feed: one server process owns the file, but the CLI may write to
 * it too. The next request sees SQLite's `data_version` move and reads the new rows of
 * `change_events`.
 */
export interface SqliteCatchUp {
  /** Remembers where the file stands now: only later changes are published. */
  start(): Promise<void>;
  /** Undefined when the file has not changed (nothing to wait for); else a promise, shared by every caller until it settles. */
  sync(): Promise<void> | undefined;
}

export function createSqliteCatchUp(db: Kysely<Database>, dataVersion: () => number, publish: (changes: readonly Change[]) => void): SqliteCatchUp {
  let lastSeenId = 0;
  let lastDataVersion: number | undefined;
  let catchingUp: Promise<void> | undefined;

  async function readSince(): Promise<Change[]> {
    const rows = await db.selectFrom('change_events').select(['id', 'kind', 'entity_id']).where('id', '>', lastSeenId).orderBy('id').execute();
    for (const row of rows) lastSeenId = Math.max(lastSeenId, row.id);
    return rows.map((row) => ({ kind: row.kind, id: row.entity_id }) as Change);
  }

  return {
    async start() {
      const row = await db
        .selectFrom('change_events')
        .select((eb) => eb.fn.max('id').as('id'))
        .executeTakeFirst();
      lastSeenId = Number(row?.id ?? 0);
      lastDataVersion = dataVersion();
    },

    sync() {
      if (catchingUp !== undefined) return catchingUp;
      const version = dataVersion();
      if (version === lastDataVersion) return undefined;
      catchingUp = readSince()
        .then((changes) => {
          lastDataVersion = version;
          publish(changes);
        })
        .finally(() => {
          catchingUp = undefined;
        });
      return catchingUp;
    },
  };
}
