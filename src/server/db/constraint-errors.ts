import { Conflict } from '../errors.js';

/**
 * A unique constraint refused a row: PostgreSQL's 23505, SQLite's SQLITE_CONSTRAINT_UNIQUE. The
 * services check names and emails before writing, but on PostgreSQL two transactions can both
 * pass that check; the constraint then decides, and the loser is a conflict, not a 500.
 */
export function isUniqueViolation(error: unknown): boolean {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/** For `.catch()`: a unique-constraint failure becomes the Conflict the service's own check would have thrown. */
export const conflictOnDuplicate =
  (message: string) =>
  (error: unknown): never => {
    throw isUniqueViolation(error) ? new Conflict(message) : error;
  };
