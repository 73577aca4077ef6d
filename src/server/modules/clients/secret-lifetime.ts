import { KEEP_PREVIOUS_MAX_SECONDS } from '../../../shared/limits.js';
import type { ProblemCollector } from '../../errors.js';

const DAY_MS = 86_400_000;
/** An RFC 3339 date-time with its offset (`Z` or `±hh:mm`), as JSON Schema's `date-time` reads it. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * The lifetime rules of a client secret: when a new or changed secret expires, and how long a
 * rotated-out secret keeps working. `maxLifetimeDays` is the installation's maximum (null: none).
 */
export function createSecretLifetime(maxLifetimeDays: number | null) {
  const maxMs = maxLifetimeDays === null ? null : maxLifetimeDays * DAY_MS;
  return {
    /**
     * The expiry of a new secret (creation, regeneration): the one asked for, or with a maximum
     * configured and none asked for, now plus the maximum. Null: never expires.
     */
    forNewSecret(requested: unknown, field: string, nowMs: number, problems: ProblemCollector): string | null {
      if (requested === undefined || requested === null) return maxMs === null ? null : new Date(nowMs + maxMs).toISOString();
      return checked(requested, field, nowMs, problems);
    },
    /** A changed expiry of the current secret (null clears it, unless a maximum is configured). */
    forChange(requested: unknown, field: string, nowMs: number, problems: ProblemCollector): string | null | undefined {
      if (requested === undefined) return undefined;
      if (requested === null) {
        if (maxLifetimeDays === null) return null;
        problems.add(field, `must be set: secrets expire within ${maxLifetimeDays} days on this installation`);
        return undefined;
      }
      return checked(requested, field, nowMs, problems);
    },
  };

  function checked(requested: unknown, field: string, nowMs: number, problems: ProblemCollector): string | null {
    const ms = typeof requested === 'string' && DATE_TIME.test(requested) ? Date.parse(requested) : NaN;
    if (Number.isNaN(ms)) problems.add(field, 'must be a date-time with a time zone (ISO 8601), e.g. 2027-01-31T00:00:00Z');
    else if (ms <= nowMs) problems.add(field, 'must be in the future');
    else if (maxMs !== null && ms > nowMs + maxMs) problems.add(field, `must be within ${maxLifetimeDays} days: the installation's maximum secret lifetime`);
    else return new Date(ms).toISOString();
    return null;
  }
}

export type SecretLifetime = ReturnType<typeof createSecretLifetime>;

/** How long a rotated-out secret keeps working, in seconds: 0 (absent) ends it at once. */
export function checkKeepPreviousFor(requested: unknown, problems: ProblemCollector): number {
  if (requested === undefined || requested === null) return 0;
  if (typeof requested === 'number' && Number.isInteger(requested) && requested >= 0 && requested <= KEEP_PREVIOUS_MAX_SECONDS) return requested;
  problems.add('keepPreviousFor', `must be a whole number of seconds from 0 to ${KEEP_PREVIOUS_MAX_SECONDS} (30 days)`);
  return 0;
}
