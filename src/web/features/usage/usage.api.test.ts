import { describe, expect, it } from 'vitest';
import { REFUSAL_REASONS } from '../../../shared/schemas/usage';
import type { UsageBucket } from '../../lib/types';
import { refusalLabel, refusalsByReason, usagePeriod, usageRows, usageTotals } from './usage.api';

const NOW = Date.parse('2026-12-03T16:34:57.000Z');

const bucket = (start: string, counts: Partial<Omit<UsageBucket, 'start'>>): UsageBucket => ({
  start,
  tokens: 0,
  rest: 0,
  graphql: 0,
  refusals: {},
  ...counts,
});

describe('usage periods', () => {
  it('covers the last 24 whole hours, the current one included, so the request only changes when an hour begins', () => {
    const period = usagePeriod('24h', NOW);
    expect(period).toMatchObject({ granularity: 'hour', from: '2026-12-02T17:00:00.000Z', to: '2026-12-03T17:00:00.000Z' });
    expect(period.starts).toHaveLength(24);
    expect(new Date(period.starts.at(-1)!).toISOString()).toBe('2026-12-03T16:00:00.000Z');
    expect(usagePeriod('24h', NOW + 60_000)).toEqual(period);
  });

  it.each([
    ['7d', 7, '2026-11-27T00:00:00.000Z'],
    ['30d', 30, '2026-11-04T00:00:00.000Z'],
  ] as const)('covers the last %s by UTC day, today included', (range, days, from) => {
    const period = usagePeriod(range, NOW);
    expect(period).toMatchObject({ granularity: 'day', from, to: '2026-12-04T00:00:00.000Z' });
    expect(period.starts).toHaveLength(days);
  });
});

describe('usage figures', () => {
  const period = usagePeriod('24h', NOW);
  const buckets = [
    bucket('2026-12-03T15:00:00.000Z', { tokens: 2, rest: 5, graphql: 1, refusals: { bad_secret: 3, throttled: 1 } }),
    bucket('2026-12-03T16:00:00.000Z', { rest: 4, refusals: { bad_secret: 1, address_not_allowed: 2 } }),
  ];

  it('shows an hour the server left out as zeros, and adds up the refusals of every reason', () => {
    const rows = usageRows(period, buckets);
    expect(rows).toHaveLength(24);
    expect(rows[0]).toEqual({ start: Date.parse('2026-12-02T17:00:00.000Z'), tokens: 0, rest: 0, graphql: 0, refusals: 0 });
    expect(rows.slice(-2).map(({ tokens, rest, graphql, refusals }) => [tokens, rest, graphql, refusals])).toEqual([
      [2, 5, 1, 4],
      [0, 4, 0, 3],
    ]);
  });

  it('counts REST and GraphQL calls as requests, apart from the tokens issued, as the list and the busiest clients do', () => {
    expect(usageTotals(usageRows(period, buckets))).toEqual({ tokens: 2, rest: 9, graphql: 1, requests: 10, refusals: 7 });
  });

  it('lists the refusals by reason, most first, in plain words', () => {
    expect(refusalsByReason(buckets)).toEqual([
      { reason: 'bad_secret', count: 4 },
      { reason: 'address_not_allowed', count: 2 },
      { reason: 'throttled', count: 1 },
    ]);
    expect(refusalLabel('bad_secret')).toBe('Wrong client secret');
  });

  it('gives every refusal reason its own words, and reads a reason it does not know as words too', () => {
    const labels = REFUSAL_REASONS.map(refusalLabel);
    expect(new Set(labels).size).toBe(REFUSAL_REASONS.length);
    for (const label of labels) expect(label).not.toMatch(/_/);
    expect(refusalLabel('something_new')).toBe('something new');
  });
});
