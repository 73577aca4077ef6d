import { useQuery } from '@tanstack/react-query';
import { api } from '../../lib/api';
import type { ClientPage, ClientUsage, FleetUsage, RefusalList, RefusalReason, UsageBucket } from '../../lib/types';

/** The windows a usage chart offers: the last 24 hours by hour, the last 7 or 30 days by day. */
export const USAGE_RANGES = {
  '24h': { label: '24 hours', granularity: 'hour', buckets: 24 },
  '7d': { label: '7 days', granularity: 'day', buckets: 7 },
  '30d': { label: '30 days', granularity: 'day', buckets: 30 },
} as const;
export type UsageRange = keyof typeof USAGE_RANGES;

export const isUsageRange = (value: string | null): value is UsageRange => value !== null && Object.hasOwn(USAGE_RANGES, value);

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export interface UsagePeriod {
  readonly from: string;
  readonly to: string;
  readonly granularity: 'hour' | 'day';
  /** The start of every bucket of the period, oldest first: the server may leave out the empty ones. */
  readonly starts: readonly number[];
}

/**
 * The period of `range` that ends with the bucket holding `now` (the current hour or UTC day), so
 * that the buckets are whole and the request stays the same until the next bucket begins.
 */
export function usagePeriod(range: UsageRange, now: number = Date.now()): UsagePeriod {
  const { granularity, buckets } = USAGE_RANGES[range];
  const size = granularity === 'hour' ? HOUR : DAY;
  const end = Math.floor(now / size) * size + size;
  const starts = Array.from({ length: buckets }, (_, index) => end - (buckets - index) * size);
  return { from: new Date(starts[0]!).toISOString(), to: new Date(end).toISOString(), granularity, starts };
}

/** Plain words for each refusal reason the server records; an unknown one reads as its code. */
const REFUSAL_LABELS: Record<RefusalReason, string> = {
  bad_secret: 'Wrong client secret',
  unknown_client: 'Unknown client ID',
  disabled: 'Client is disabled',
  expired: 'Client secret has expired',
  address_not_allowed: 'Called from an address outside its allowed networks',
  throttled: 'Blocked after too many failed attempts',
  rate_limited: 'Over its rate limit',
  revoked_token: 'Token was revoked',
  stale_secret: 'Token from a secret that was replaced',
  insufficient_scope: 'Lacks the permission for the call',
  federation_no_match: 'Workload token fits none of its federated credentials',
  federation_bad_token: 'Workload token was invalid or expired',
  federation_issuer_unreachable: 'Workload token’s issuer could not be reached',
  removed_federated_credential: 'Token from a federated credential that was removed',
  bad_assertion: 'Client assertion was malformed, badly signed or for another audience',
  expired_assertion: 'Client assertion had expired',
  unknown_key: 'Client assertion names a key the client does not have',
  replayed_assertion: 'Client assertion was used before',
  wrong_auth_method: 'Used a secret where a key is required, or the other way round',
  removed_key: 'Token from a key that was removed',
  bad_dpop_proof: 'DPoP proof missing, invalid or replayed',
};

export function refusalLabel(reason: string): string {
  return Object.hasOwn(REFUSAL_LABELS, reason) ? REFUSAL_LABELS[reason as RefusalReason] : reason.replace(/_/g, ' ');
}

/** One bucket as the chart and its table show it: tokens issued, REST and GraphQL requests, and the refusals of every reason together. */
export interface UsageRow {
  readonly start: number;
  readonly tokens: number;
  readonly rest: number;
  readonly graphql: number;
  readonly refusals: number;
}

const sumOf = (counts: Readonly<Record<string, number>>) => Object.values(counts).reduce((sum, count) => sum + count, 0);

/** Every bucket of the period, those the server left out as zeros. */
export function usageRows(period: UsagePeriod, buckets: readonly UsageBucket[]): UsageRow[] {
  const byStart = new Map(buckets.map((bucket) => [Date.parse(bucket.start), bucket]));
  return period.starts.map((start) => {
    const bucket = byStart.get(start);
    return { start, tokens: bucket?.tokens ?? 0, rest: bucket?.rest ?? 0, graphql: bucket?.graphql ?? 0, refusals: sumOf(bucket?.refusals ?? {}) };
  });
}

export interface UsageTotals {
  readonly tokens: number;
  readonly rest: number;
  readonly graphql: number;
  /** Calls to the APIs, REST and GraphQL: what the list's "Requests (7 days)" and the busiest clients count. */
  readonly requests: number;
  readonly refusals: number;
}

export function usageTotals(rows: readonly UsageRow[]): UsageTotals {
  const total = (key: 'tokens' | 'rest' | 'graphql' | 'refusals') => rows.reduce((sum, row) => sum + row[key], 0);
  const [tokens, rest, graphql, refusals] = [total('tokens'), total('rest'), total('graphql'), total('refusals')];
  return { tokens, rest, graphql, requests: rest + graphql, refusals };
}

/** The refusals of the period by reason, most first. */
export function refusalsByReason(buckets: readonly UsageBucket[]): { reason: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const bucket of buckets) for (const [reason, count] of Object.entries(bucket.refusals)) counts.set(reason, (counts.get(reason) ?? 0) + count);
  return [...counts]
    .filter(([, count]) => count > 0)
    .map(([reason, count]) => ({ reason, count }))
    .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
}

const TIME = new Intl.DateTimeFormat(undefined, { timeZone: 'UTC', hour: '2-digit', minute: '2-digit' });
const DATE = new Intl.DateTimeFormat(undefined, { timeZone: 'UTC', day: 'numeric', month: 'short' });

/** A bucket's short name on the chart's axis: its hour ("14:00") or its day ("3 Dec"), in UTC as the server counts them. */
export function bucketLabel(start: number, granularity: 'hour' | 'day'): string {
  return granularity === 'hour' ? TIME.format(start) : DATE.format(start);
}

/** A bucket's whole name in the chart's table: "3 Dec, 14:00 UTC" or "3 Dec UTC". */
export function bucketName(start: number, granularity: 'hour' | 'day'): string {
  return granularity === 'hour' ? `${DATE.format(start)}, ${TIME.format(start)} UTC` : `${DATE.format(start)} UTC`;
}

export const usageKeys = {
  all: ['usage'] as const,
  client: (id: string, period: UsagePeriod) => ['usage', 'client', id, period.from, period.to, period.granularity] as const,
  fleet: (period: UsagePeriod) => ['usage', 'fleet', period.from, period.to, period.granularity] as const,
  refusals: (id: string) => ['usage', 'refusals', id] as const,
  count: (filter: Record<string, string>) => ['clients', 'count', filter] as const,
};

/** Usage changes by itself: read again every minute while the page is open. */
const LIVE = { refetchInterval: 60_000 } as const;

const periodQuery = (period: UsagePeriod) => ({ from: period.from, to: period.to, granularity: period.granularity });

function fetchClientUsage(id: string, period: UsagePeriod, signal?: AbortSignal) {
  return api.get<ClientUsage>(`/api/v1/clients/${id}/usage`, periodQuery(period), signal);
}

export function useClientUsage(id: string, period: UsagePeriod) {
  return useQuery({ queryKey: usageKeys.client(id, period), queryFn: ({ signal }) => fetchClientUsage(id, period, signal), ...LIVE });
}

export function useFleetUsage(period: UsagePeriod) {
  return useQuery({
    queryKey: usageKeys.fleet(period),
    queryFn: ({ signal }) => api.get<FleetUsage>('/api/v1/usage', periodQuery(period), signal),
    ...LIVE,
  });
}

export function useClientRefusals(id: string) {
  return useQuery({
    queryKey: usageKeys.refusals(id),
    queryFn: ({ signal }) => api.get<RefusalList>(`/api/v1/clients/${id}/refusals`, { limit: 20 }, signal),
    ...LIVE,
  });
}

/** How many clients a filter of the list matches (its `total`), for a count that links to that list. */
export function useClientCount(filter: Record<string, string>) {
  return useQuery({
    queryKey: usageKeys.count(filter),
    queryFn: async ({ signal }) => (await api.get<ClientPage>('/api/v1/clients', { ...filter, limit: 1 }, signal)).total,
  });
}

/**
 * The clients refused more often in the last 24 hours than in the 24 hours before, the largest
 * rise first, as the server weighs them over every client (the fleet's `risingRefusals`).
 */
export function useRisingRefusals(now: number) {
  const fleet = useFleetUsage(usagePeriod('24h', now));
  return {
    rising: fleet.data?.risingRefusals ?? [],
    pending: fleet.data === undefined && !fleet.isError,
    failed: fleet.error,
    refetch: () => void fleet.refetch(),
  };
}
