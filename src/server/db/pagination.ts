import { BadInput, type ProblemCollector } from '../errors.js';
import { PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX } from '../../shared/limits.js';

/**
 * Opaque keyset cursors: base64url JSON of the last row's sort value and id. A cursor is only
 * meaningful with the sort it was made for, so the sort is inside it and checked.
 */
export interface CursorPosition {
  readonly sort: string;
  readonly value: string | number;
  readonly id: string;
}

export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify([position.sort, position.value, position.id]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string, sort: string, field = 'cursor'): CursorPosition {
  const invalid = (): never => {
    throw new BadInput({ field, message: 'is not a cursor returned by this list' });
  };
  if (cursor.length > 1000 || !/^[A-Za-z0-9_-]+$/.test(cursor)) invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return invalid();
  }
  if (!Array.isArray(parsed) || parsed.length !== 3) return invalid();
  const [cursorSort, value, id] = parsed as unknown[];
  if (cursorSort !== sort) {
    throw new BadInput({ field, message: `was made for sort ${String(cursorSort)}; start again without it` });
  }
  if ((typeof value !== 'string' && typeof value !== 'number') || typeof id !== 'string') return invalid();
  // PostgreSQL text cannot hold U+0000: bound into the keyset condition it failed as a 500.
  if (id.includes('\u0000') || (typeof value === 'string' && value.includes('\u0000'))) return invalid();
  return { sort, value, id };
}

/** Splits a list for `in (...)` queries, under every dialect's bound-parameter limit. */
export function* chunks<T>(items: readonly T[], size = 500): Generator<T[]> {
  for (let start = 0; start < items.length; start += size) yield items.slice(start, start + size);
}

/** A LIKE pattern matching `search` anywhere, lower-cased; `%`, `_` and `\` stay literal (escape '\'). */
export function containsPattern(search: string): string {
  return `%${search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * The FTS5 query finding the candidate rows of a contains-search on SQLite (its trigram tables,
 * migration 2026-12-04T0005): the lowered search's trigrams at every third character and the last
 * one, ANDed, which FTS5 answers by stepping its lists together rather than comparing positions as
 * a phrase would (half the time or less at 100,000 clients). Together they cover every character;
 * the overlapping ones between them narrow little and each costs a walk through its list (at a
 * million clients a name search took 31 ms with 6 trigrams, 47 ms with all 15). Null when the
 * search is shorter than a trigram. The candidates are then checked with `containsPattern`, so the
 * index only narrows, never decides.
 */
export function trigramQuery(search: string): string | null {
  const characters = [...search.toLowerCase()];
  if (characters.length < 3) return null;
  const trigrams = new Set<string>();
  const starts: number[] = [];
  for (let i = 0; i + 3 <= characters.length; i += 3) starts.push(i);
  if (starts.at(-1) !== characters.length - 3) starts.push(characters.length - 3);
  // A bounded subset is still a necessary condition; past a few dozen it narrows no further.
  for (const i of starts) if (trigrams.size < 32) trigrams.add(characters.slice(i, i + 3).join(''));
  return [...trigrams].map((trigram) => `"${trigram.replaceAll('"', '""')}"`).join(' AND ');
}

/** The page size asked for, or the default; out of range is a problem on `limit`. */
export function checkPageLimit(limit: number | undefined, problems: ProblemCollector): number {
  const size = limit ?? PAGE_SIZE_DEFAULT;
  if (!Number.isInteger(size) || size < 1 || size > PAGE_SIZE_MAX) problems.add('limit', `must be a whole number from 1 to ${PAGE_SIZE_MAX}`);
  return size;
}

/** A keyset cursor's position, or null when none was given (an empty cursor is the first page). */
export function decodePageCursor(cursor: string | null | undefined, sort: string): CursorPosition | null {
  return cursor === undefined || cursor === null || cursor === '' ? null : decodeCursor(cursor, sort);
}

/** A cursor that is the last seen row's positive integer id, or null when none was given. */
export function decodeIdCursor(cursor: string | null | undefined): number | null {
  if (cursor === undefined || cursor === null || cursor === '') return null;
  if (!/^[1-9]\d{0,15}$/.test(cursor)) throw new BadInput({ field: 'cursor', message: 'is not a cursor returned by this list' });
  return Number(cursor);
}
