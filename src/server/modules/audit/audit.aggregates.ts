import type { Kysely } from 'kysely';
import type { Actor } from '../../actor.js';
import type { Clock } from '../../clock.js';
import type { Database } from '../../db/schema.js';
import { createAuditRepository } from './audit.repository.js';
import type { AuditTarget } from './audit.service.js';

/** How many distinct values of a repeated field an aggregated entry keeps (the count keeps counting). */
const SAMPLES_KEPT = 10;

export interface RepeatedOccurrence {
  /** What groups occurrences into one entry, e.g. the account whose sign-in failed. */
  readonly key: string;
  readonly windowSeconds: number;
  readonly actor: Actor;
  readonly action: string;
  readonly target: AuditTarget | null;
  /** Kept as the latest value and a short list of distinct ones (`email` → `email`, `emails`). */
  readonly sampled: Readonly<Record<string, string>>;
  /** Kept as the latest value and a count per value (`reason` → `reason`, `reasonCounts`). */
  readonly counted: Readonly<Record<string, string>>;
}

type Details = Record<string, unknown> & { count: number; firstAt: string; lastAt: string };

function merged(previous: Details | null, occurrence: RepeatedOccurrence, at: string): Details {
  const details: Details = previous ?? { count: 0, firstAt: at, lastAt: at };
  details.count += 1;
  details.lastAt = at;
  for (const [name, value] of Object.entries(occurrence.sampled)) {
    details[name] = value;
    const plural = name.endsWith('s') ? `${name}es` : `${name}s`;
    const seen = Array.isArray(details[plural]) ? (details[plural] as string[]) : [];
    if (!seen.includes(value) && seen.length < SAMPLES_KEPT) seen.push(value);
    details[plural] = seen;
  }
  for (const [name, value] of Object.entries(occurrence.counted)) {
    details[name] = value;
    const counts = (details[`${name}Counts`] as Record<string, number> | undefined) ?? {};
    counts[value] = (counts[value] ?? 0) + 1;
    details[`${name}Counts`] = counts;
  }
  return details;
}

/**
 * One audit entry per key and window that counts repeats, instead of an entry per occurrence: a
 * flood of failed sign-ins updates one entry per account and hour and cannot fill the log. The
 * aggregate row is locked for the update (PostgreSQL row lock, SQLite's single writer), so
 * instances counting at once add to the same entry.
 */
export async function recordRepeated(db: Kysely<Database>, clock: Clock, occurrence: RepeatedOccurrence): Promise<void> {
  const now = clock.now();
  const at = now.toISOString();
  const windowMs = occurrence.windowSeconds * 1000;
  const windowStart = new Date(Math.floor(now.getTime() / windowMs) * windowMs).toISOString();
  await db.transaction().execute(async (trx) => {
    const repository = createAuditRepository(trx);
    const row = await repository.lockAggregate(occurrence.key, windowStart);
    const current = Number(row.event_id) !== 0 && row.window_start === windowStart ? Number(row.event_id) : null;
    const details = current === null ? undefined : await repository.findDetails(current);
    if (current !== null && details !== undefined) {
      await repository.updateDetails(current, JSON.stringify(merged(JSON.parse(details) as Details, occurrence, at)));
      return;
    }
    const eventId = await repository.insertOne({
      occurred_at: at,
      actor_type: occurrence.actor.type,
      actor_id: occurrence.actor.id,
      actor_name: occurrence.actor.name,
      action: occurrence.action,
      target_type: occurrence.target?.type ?? null,
      target_id: occurrence.target?.id ?? null,
      target_name: occurrence.target?.name ?? null,
      details: JSON.stringify(merged(null, occurrence, at)),
    });
    await repository.pointAggregate(occurrence.key, windowStart, eventId);
  });
}
