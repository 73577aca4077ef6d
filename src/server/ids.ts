import { BadInput, NotFound } from './errors.js';
import { UUID_PATTERN } from '../shared/limits.js';

/**
 * Checks a UUID and returns it in lower case, as every id is stored: a UUID is the same id in any
 * case (RFC 9562 §4), so `ABC…` must find, match and compare equal to `abc…`.
 */
export function checkId(id: string, field = 'id', message = 'must be a UUID'): string {
  if (typeof id !== 'string' || !UUID_PATTERN.test(id)) throw new BadInput({ field, message });
  return id.toLowerCase();
}

/** The row with the id a caller gave; a malformed id is bad input, a missing row names the id as given. */
export async function findByIdOrThrow<Row>(find: (id: string) => Promise<Row | undefined>, id: string, resource: string): Promise<Row> {
  const row = await find(checkId(id));
  if (row === undefined) throw new NotFound(resource, id);
  return row;
}
