import { sql, type RawBuilder, type SqlBool } from 'kysely';
import type { Executor } from './database.js';
import type { Database } from './schema.js';
import { chunks } from './pagination.js';

/** Rows per statement: two parameters each, far below SQLite's and PostgreSQL's limits. */
const ROWS_PER_STATEMENT = 500;

type TimedTable = 'api_clients' | 'client_public_keys' | 'federated_credentials';
type TimeColumn<Table extends TimedTable> = {
  [Column in keyof Database[Table]]: Column extends `${string}_used_at` ? Column : never;
}[keyof Database[Table]] &
  string;

/**
 * Sets `column` of each row named in `entries` (id → ISO time) to its time unless the row holds a
 * later one, so a time never moves backwards: one `UPDATE … FROM (VALUES …)` per 500 rows rather
 * than a statement per row, which held SQLite's event loop for hundreds of milliseconds when tens of
 * thousands of clients were used between two writes. `onlyIf` narrows the rows further.
 */
export async function touchLatest<Table extends TimedTable>(
  db: Executor,
  table: Table,
  column: TimeColumn<Table>,
  entries: ReadonlyMap<string, string>,
  onlyIf?: RawBuilder<SqlBool>,
): Promise<void> {
  const target = sql.ref(`${table}.${column}`);
  for (const chunk of chunks([...entries], ROWS_PER_STATEMENT)) {
    const values = sql.join(chunk.map(([id, at]) => sql`(${id}, ${at})`));
    await sql`with touched (id, at) as (values ${values})
      update ${sql.table(table)} set ${sql.ref(column)} = touched.at
      from touched
      where ${sql.ref(`${table}.id`)} = touched.id and (${target} is null or ${target} < touched.at)${onlyIf === undefined ? sql`` : sql` and ${onlyIf}`}`.execute(
      db,
    );
  }
}
