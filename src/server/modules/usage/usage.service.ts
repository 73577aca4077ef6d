import type { Kysely } from 'kysely';
import { requirePermission, type Actor } from '../../actor.js';
import type { Clock } from '../../clock.js';
import type { Executor } from '../../db/database.js';
import type { Database } from '../../db/schema.js';
import { ProblemCollector } from '../../errors.js';
import { findByIdOrThrow } from '../../ids.js';
import {
  REFUSAL_REASONS,
  USAGE_GRANULARITIES,
  type ClientUsage,
  type FleetUsage,
  type RefusalCounts,
  type RefusalList,
  type RefusalReason,
  type UsageBucket,
  type UsageGranularity,
} from '../../../shared/schemas/usage.js';
import { createClientsRepository } from '../clients/clients.repository.js';
import type { UsageRecorder } from './usage.recorder.js';
import { createUsageRepository } from './usage.repository.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const STEP_MS: Readonly<Record<UsageGranularity, number>> = { hour: HOUR_MS, day: DAY_MS };
/** Bounds one answer: a month of hours, a year of days. */
export const MAX_BUCKETS: Readonly<Record<UsageGranularity, number>> = { hour: 744, day: 366 };
/** Without `from`: the last day by the hour, the last 30 days by the day. */
const DEFAULT_SPAN_MS: Readonly<Record<UsageGranularity, number>> = { hour: DAY_MS, day: 30 * DAY_MS };
export const REFUSALS_LIMIT = { default: 20, max: 100 } as const;
const TOP_CLIENTS = 10;
/** `requests7d`: the last 7 days, by whole hours (the current one included). */
const REQUESTS_WINDOW_HOURS = 7 * 24;

/** ISO 8601: a date, or a date and time with a zone (`Z` or an offset). */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

export interface UsageRangeInput {
  readonly from?: string | null;
  readonly to?: string | null;
  readonly granularity?: string | null;
}

interface Range {
  readonly granularity: UsageGranularity;
  readonly startMs: number;
  readonly endMs: number;
}

const isRefusalReason = (kind: string): kind is RefusalReason => (REFUSAL_REASONS as readonly string[]).includes(kind);
const hourIso = (ms: number): string => new Date(ms - (ms % HOUR_MS)).toISOString();

export interface UsageServiceDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly recorder: UsageRecorder;
}

/** Usage figures of one client or of every client, by hour or day, and the latest refusals. */
export function createUsageService(deps: UsageServiceDeps) {
  const { db, clock, recorder } = deps;

  function parseTime(value: string | null | undefined, field: string, problems: ProblemCollector): number | null {
    if (value === undefined || value === null) return null;
    const ms = ISO_TIME.test(value) ? Date.parse(value) : NaN;
    if (Number.isNaN(ms)) {
      problems.add(field, 'must be an ISO 8601 date or time, such as 2026-12-01T00:00:00Z');
      return null;
    }
    return ms;
  }

  /** The range rounded out to whole buckets: `from` down to its bucket's start, `to` up to the next. */
  function rangeOf(input: UsageRangeInput): Range {
    const problems = new ProblemCollector();
    const granularity = (input.granularity ?? 'hour') as UsageGranularity;
    if (!USAGE_GRANULARITIES.includes(granularity)) problems.add('granularity', 'must be hour or day');
    const from = parseTime(input.from, 'from', problems);
    const to = parseTime(input.to, 'to', problems);
    problems.throwIfAny();
    const step = STEP_MS[granularity];
    const end = to ?? clock.now().getTime();
    // Without `to`, the bucket holding now is the last one.
    const endMs = Math.ceil((to === null ? end + 1 : end) / step) * step;
    const startMs = from === null ? endMs - DEFAULT_SPAN_MS[granularity] : from - (((from % step) + step) % step);
    if (from !== null && from >= end) problems.add('from', 'must be before to');
    if ((endMs - startMs) / step > MAX_BUCKETS[granularity]) {
      problems.add('from', `the range may hold at most ${MAX_BUCKETS[granularity]} ${granularity === 'hour' ? 'hours' : 'days'}`);
    }
    problems.throwIfAny();
    return { granularity, startMs, endMs };
  }

  async function bucketsOf(clientId: string | null, range: Range): Promise<UsageBucket[]> {
    // Every count taken before this read is in the answer: figures are exact, not a few seconds behind.
    await recorder.flush();
    const rows = await createUsageRepository(db).countsBetween(clientId, hourIso(range.startMs), hourIso(range.endMs));
    const step = STEP_MS[range.granularity];
    const buckets: UsageBucket[] = [];
    const byStart = new Map<number, UsageBucket>();
    for (let start = range.startMs; start < range.endMs; start += step) {
      const bucket: UsageBucket = { start: new Date(start).toISOString(), tokens: 0, rest: 0, graphql: 0, refusals: {} };
      buckets.push(bucket);
      byStart.set(start, bucket);
    }
    for (const row of rows) {
      const hourMs = Date.parse(row.hour);
      const bucket = byStart.get(hourMs - (hourMs % step));
      if (bucket === undefined) continue;
      if (row.kind === 'tokens' || row.kind === 'rest' || row.kind === 'graphql') bucket[row.kind] += row.count;
      else if (isRefusalReason(row.kind)) {
        const refusals: RefusalCounts = bucket.refusals;
        refusals[row.kind] = (refusals[row.kind] ?? 0) + row.count;
      }
    }
    return buckets;
  }

  /** The hour from which `requests7d` counts. */
  const requestsWindowStart = (): string => hourIso(clock.now().getTime() - (REQUESTS_WINDOW_HOURS - 1) * HOUR_MS);

  const findClient = (id: string) => findByIdOrThrow((key) => createClientsRepository(db).findById(key), id, 'API client');

  return {
    async clientUsage(actor: Actor, clientId: string, input: UsageRangeInput = {}): Promise<ClientUsage> {
      requirePermission(actor, 'clients:read');
      const client = await findClient(clientId);
      const range = rangeOf(input);
      return { granularity: range.granularity, buckets: await bucketsOf(client.id, range) };
    },

    async fleetUsage(actor: Actor, input: UsageRangeInput = {}): Promise<FleetUsage> {
      requirePermission(actor, 'clients:read');
      const range = rangeOf(input);
      const buckets = await bucketsOf(null, range);
      const repository = createUsageRepository(db);
      const [from, to] = [hourIso(range.startMs), hourIso(range.endMs)];
      const top = await repository.topClients(from, to, TOP_CLIENTS);
      // Against the equally long span just before the range.
      const risingRefusals = await repository.risingRefusals(hourIso(2 * range.startMs - range.endMs), from, to, TOP_CLIENTS);
      return { granularity: range.granularity, buckets, top, risingRefusals };
    },

    async recentRefusals(actor: Actor, clientId: string, limit: number = REFUSALS_LIMIT.default): Promise<RefusalList> {
      requirePermission(actor, 'clients:read');
      const problems = new ProblemCollector();
      if (!Number.isInteger(limit) || limit < 1 || limit > REFUSALS_LIMIT.max) problems.add('limit', `must be an integer from 1 to ${REFUSALS_LIMIT.max}`);
      problems.throwIfAny();
      const client = await findClient(clientId);
      await recorder.flush();
      const rows = await createUsageRepository(db).recentRefusals(client.id, limit);
      return { items: rows.map((row) => ({ at: row.at, reason: row.reason as RefusalReason, address: row.address })) };
    },

    requestsWindowStart,

    /** REST and GraphQL requests of each client in the last 7 days, this instance's unwritten ones included. */
    async requests7d(clientIds: readonly string[], executor: Executor = db): Promise<Map<string, number>> {
      const from = requestsWindowStart();
      const stored = await createUsageRepository(executor).requestsSince(clientIds, from);
      for (const id of clientIds) {
        const pending = recorder.pendingRequests(id, from);
        if (pending > 0) stored.set(id, (stored.get(id) ?? 0) + pending);
      }
      return stored;
    },
  };
}

export type UsageService = ReturnType<typeof createUsageService>;
