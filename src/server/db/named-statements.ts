import { createHash } from 'node:crypto';
import type { CompiledQuery } from 'kysely';
import type pg from 'pg';

/**
 * PostgreSQL named prepared statements for the hot queries. Kysely sends every query unnamed, so
 * PostgreSQL parses and plans it anew each time: a first page of clients was three such statements
 * against its bare twin's one named statement (see README, Performance). A query compiled once and
 * run on every request is marked with `keepPrepared`; each pooled connection then parses it once
 * under a name of its own (statements are per connection, and so per schema: each pool sets its
 * search_path) and afterwards only binds and executes it. On SQLite every statement is kept
 * prepared already (database.ts), so the mark changes nothing there.
 */

/** Texts marked, at most this many (one per sort, page-size class and statement shape in practice). */
export const NAMED_TEXTS_MAX = 200;
/** Named statements one connection makes, at most; past it, marked texts run unnamed on that connection. */
export const NAMED_STATEMENTS_PER_CONNECTION = 100;

/** Marked SQL text → the stem of its statements' names, a hash of the text. */
const marked = new Map<string, string>();
/** Marked texts whose rows come back as arrays, at most NAMED_TEXTS_MAX. */
const asArrays = new Set<string>();

/** Runs `query` as a named statement on PostgreSQL, parsed and planned once per connection. Returns it. */
export function keepPrepared<Q extends CompiledQuery<unknown>>(query: Q): Q {
  if (!marked.has(query.sql) && marked.size < NAMED_TEXTS_MAX)
    marked.set(query.sql, `koios_${createHash('sha256').update(query.sql).digest('hex').slice(0, 16)}`);
  return query;
}

/**
 * Asks for `query`'s rows as arrays in the order of its select list (SQLite always, PostgreSQL
 * where it also runs named, `keepPrepared`). Returns it. Making an object of each row was half of
 * better-sqlite3's time on a page of clients (it sets the keys one by one, from C++), which the
 * caller does faster with an object literal. Marks are by text, at most NAMED_TEXTS_MAX: the
 * caller checks with `Array.isArray` which it got.
 */
export function readAsArrays<Q extends CompiledQuery<unknown>>(query: Q): Q {
  if (asArrays.size < NAMED_TEXTS_MAX) asArrays.add(query.sql);
  return query;
}

/** Whether the rows of this SQL text come back as arrays (`keepPrepared` with `arrays`). */
export function readsArrays(text: string): boolean {
  return asArrays.has(text);
}

/**
 * A statement prepared before a schema change that alters its result's columns fails with "cached
 * plan must not change result type" (0A000), and one dropped behind the client's back (DISCARD
 * ALL) with 26000: both are prepared afresh under a new name.
 */
function isStalePreparedStatement(error: unknown): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown };
  return code === '26000' || (code === '0A000' && typeof message === 'string' && message.includes('cached plan must not change result type'));
}

type Query = (...args: unknown[]) => unknown;

/**
 * Wraps a connection's `query`: `(text, values)` calls with a marked text go out named. Names are
 * the text's hash and a per-connection sequence number, so a statement replaced after a schema
 * change never clashes with the one it replaces (pg refuses a name reused for another statement).
 */
export function withNamedStatements(client: pg.Client | pg.PoolClient, query: Query): Query {
  const names = new Map<string, string>();
  let made = 0;
  const nameOf = (text: string): string | undefined => {
    const known = names.get(text);
    if (known !== undefined || made >= NAMED_STATEMENTS_PER_CONNECTION) return known;
    const stem = marked.get(text)!;
    made += 1;
    const name = `${stem}_${made}`;
    names.set(text, name);
    return name;
  };
  const config = (text: string, values: unknown, name: string | undefined) => ({
    ...(name === undefined ? {} : { name }),
    text,
    values,
    ...(asArrays.has(text) ? { rowMode: 'array' } : {}),
  });
  const runNamed = async (text: string, values: unknown, name: string): Promise<unknown> => {
    try {
      return await query(config(text, values, name));
    } catch (error) {
      if (!isStalePreparedStatement(error)) throw error;
      names.delete(text);
      // Idle (before or after the error's ReadyForQuery): the statement ran alone, nothing was
      // rolled back with it and it can run again; inside a transaction the error has aborted it.
      if (client.getTransactionStatus() !== 'I') throw error;
      return query(config(text, values, nameOf(text)));
    }
  };
  return (...args: unknown[]) => {
    const [text, values] = args;
    if (args.length <= 2 && typeof text === 'string' && marked.has(text)) {
      const name = nameOf(text);
      return name === undefined ? query(config(text, values, undefined)) : runNamed(text, values, name);
    }
    return query(...args);
  };
}
