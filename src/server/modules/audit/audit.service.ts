import type { Kysely } from 'kysely';
import { requirePermission, type Actor } from '../../actor.js';
import type { Clock } from '../../clock.js';
import type { Executor } from '../../db/database.js';
import type { AuditEventRow, Database } from '../../db/schema.js';
import { checkPageLimit, decodeIdCursor } from '../../db/pagination.js';
import { ProblemCollector } from '../../errors.js';
import { createAuditRepository } from './audit.repository.js';
import type { AuditEvent, AuditTarget } from '../../../shared/schemas/audit.js';

export type { AuditEvent, AuditTarget };

export interface AuditEntry {
  readonly action: string;
  readonly target: AuditTarget | null;
  /** Never a secret, a password, or a token: callers pass only what an admin may read. */
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface AuditListInput {
  readonly limit?: number;
  readonly cursor?: string | null;
  readonly actorId?: string | null;
  readonly targetId?: string | null;
  readonly action?: string | null;
  readonly search?: string | null;
}

/** Writes audit events inside the caller's transaction, so a change and its record land together. */
export function recordAudit(db: Executor, clock: Clock, actor: Actor, entries: readonly AuditEntry[]): Promise<void> {
  const at = clock.now().toISOString();
  return createAuditRepository(db).insert(
    entries.map((entry) => ({
      occurred_at: at,
      actor_type: actor.type,
      actor_id: actor.id,
      actor_name: actor.name,
      action: entry.action,
      target_type: entry.target?.type ?? null,
      target_id: entry.target?.id ?? null,
      target_name: entry.target?.name ?? null,
      details: JSON.stringify(entry.details ?? {}),
    })),
  );
}

export function toAuditEvent(row: AuditEventRow): AuditEvent {
  return {
    id: String(row.id),
    occurredAt: row.occurred_at,
    actor: { type: row.actor_type, id: row.actor_id, name: row.actor_name },
    action: row.action,
    target: row.target_type === null ? null : { type: row.target_type as AuditTarget['type'], id: row.target_id, name: row.target_name },
    details: JSON.parse(row.details) as Record<string, unknown>,
  };
}

export function createAuditService(deps: { db: Kysely<Database>; clock: Clock }) {
  return {
    async list(actor: Actor, input: AuditListInput = {}) {
      requirePermission(actor, 'audit:read');
      const problems = new ProblemCollector();
      const limit = checkPageLimit(input.limit, problems);
      problems.throwIfAny();
      const beforeId = decodeIdCursor(input.cursor);
      const { rows, hasMore } = await createAuditRepository(deps.db).list({
        limit,
        beforeId,
        // Ids are stored in lower case; a UUID is the same id in either case (as every get by id takes it).
        actorId: input.actorId?.toLowerCase() ?? null,
        targetId: input.targetId?.toLowerCase() ?? null,
        action: input.action ?? null,
        search: input.search ?? null,
      });
      // An event's cursor is its id: the list is newest first, and ids only grow.
      const last = rows.at(-1);
      return { items: rows.map(toAuditEvent), nextCursor: hasMore && last !== undefined ? String(last.id) : null };
    },
  };
}

export type AuditService = ReturnType<typeof createAuditService>;
