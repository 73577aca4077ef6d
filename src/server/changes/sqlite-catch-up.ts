import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { Change, PublishChanges } from '../changes.js';

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

export function createSqliteCatchUp(db: Kysely<Database>, dataVersion: () => number, publish: PublishChanges): SqliteCatchUp {
  let lastSeenId = 0;
  let lastDataVersion: number | undefined;
  let catchingUp: Promise<void> | undefined;

  /** The new rows in order, in runs of one write each (the rows of a transaction share its time). */
  async function readSince(): Promise<{ changes: Change[]; writtenAtMs: number }[]> {
    const rows = await db.selectFrom('change_events').select(['id', 'kind', 'entity_id', 'occurred_at']).where('id', '>', lastSeenId).orderBy('id').execute();
    const runs: { changes: Change[]; writtenAt: string }[] = [];
    for (const row of rows) {
      lastSeenId = Math.max(lastSeenId, row.id);
      const last = runs.at(-1);
      const change = { kind: row.kind, id: row.entity_id } as Change;
      if (last?.writtenAt === row.occurred_at) last.changes.push(change);
      else runs.push({ changes: [change], writtenAt: row.occurred_at });
    }
    return runs.map((run) => ({ changes: run.changes, writtenAtMs: Date.parse(run.writtenAt) }));
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
        .then((runs) => {
          lastDataVersion = version;
          for (const run of runs) publish(run.changes, Number.isNaN(run.writtenAtMs) ? undefined : run.writtenAtMs);
        })
        .finally(() => {
          catchingUp = undefined;
        });
      return catchingUp;
    },
  };
}
