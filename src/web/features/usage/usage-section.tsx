import { SegmentedControl, SimpleGrid, Skeleton, Stack, Table, Text } from '@mantine/core';
import type { UseQueryResult } from '@tanstack/react-query';
import { lazy, Suspense, useEffect, useState } from 'react';
import { useSearchParams } from 'react-router';
import { ErrorAlert } from '../../components/error-alert';
import { PlainTime } from '../../components/list-cells';
import { SectionCard } from '../../components/section-card';
import type { ClientUsage, RefusalList } from '../../lib/types';
import {
  bucketName,
  isUsageRange,
  refusalLabel,
  refusalsByReason,
  USAGE_RANGES,
  usageRows,
  usageTotals,
  type UsageRange,
  type UsageRow,
  type UsagePeriod,
} from './usage.api';

/** The chart's code (recharts) is fetched when a chart is first shown, not with the page. */
const UsageChart = lazy(async () => ({ default: (await import('./usage-chart')).UsageChart }));

const CHART_HEIGHT = 280;

export const count = new Intl.NumberFormat();

/** The period shown, `?range=24h|7d|30d` in the URL so that a link opens the same one; 24 hours by default. */
export function useUsageRange(): [UsageRange, (range: UsageRange) => void] {
  const [params, setParams] = useSearchParams();
  const value = params.get('range');
  const range = isUsageRange(value) ? value : '24h';
  const setRange = (next: UsageRange) =>
    setParams(
      (current) => {
        const params = new URLSearchParams(current);
        if (next === '24h') params.delete('range');
        else params.set('range', next);
        return params;
      },
      { replace: true },
    );
  return [range, setRange];
}

/** The time now, a minute at most behind: a period moves on when its next hour or day begins. */
export function useMinuteClock(): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 60_000);
    return () => clearInterval(timer);
  }, []);
  return now;
}

export function RangeControl({ value, onChange }: { value: UsageRange; onChange: (range: UsageRange) => void }) {
  return (
    <SegmentedControl
      aria-label="Time range"
      size="xs"
      value={value}
      onChange={(next) => onChange(next as UsageRange)}
      data={Object.entries(USAGE_RANGES).map(([range, { label }]) => ({ value: range, label }))}
    />
  );
}

const per = (granularity: 'hour' | 'day') => (granularity === 'hour' ? 'hour' : 'day');

/** The chart's figures for a screen reader, and for anyone who wants the numbers: every bucket of the period. */
function UsageTable({ rows, granularity, caption }: { rows: readonly UsageRow[]; granularity: 'hour' | 'day'; caption: string }) {
  return (
    <table className="koios-visually-hidden">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">{granularity === 'hour' ? 'Hour' : 'Day'}</th>
          <th scope="col">Tokens issued</th>
          <th scope="col">REST requests</th>
          <th scope="col">GraphQL requests</th>
          <th scope="col">Refusals</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={row.start}>
            <th scope="row">{bucketName(row.start, granularity)}</th>
            <td>{count.format(row.tokens)}</td>
            <td>{count.format(row.rest)}</td>
            <td>{count.format(row.graphql)}</td>
            <td>{count.format(row.refusals)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Figure({ label, value }: { label: string; value: number | undefined }) {
  return (
    <div>
      <Text size="xs" c="dimmed" fw={600}>
        {label}
      </Text>
      <Text fw={700} size="xl">
        {value === undefined ? '–' : count.format(value)}
      </Text>
    </div>
  );
}

/**
 * Tokens issued, REST and GraphQL requests, and refusals over the period, per hour or per day: the totals,
 * the chart, and the same figures as a table that only a screen reader shows.
 */
export function UsageSection({
  title,
  description,
  period,
  range,
  onRange,
  usage,
}: {
  title: string;
  description: string;
  period: UsagePeriod;
  range: UsageRange;
  onRange: (range: UsageRange) => void;
  usage: UseQueryResult<ClientUsage>;
}) {
  const rows = usage.data === undefined ? undefined : usageRows(period, usage.data.buckets);
  const totals = rows === undefined ? undefined : usageTotals(rows);
  const caption = `${title} per ${per(period.granularity)}, last ${USAGE_RANGES[range].label} (UTC)`;
  return (
    <SectionCard title={title} description={description} actions={<RangeControl value={range} onChange={onRange} />}>
      <Stack gap="md">
        <SimpleGrid cols={{ base: 2, sm: 5 }} spacing="sm">
          <Figure label="API requests" value={totals?.requests} />
          <Figure label="REST requests" value={totals?.rest} />
          <Figure label="GraphQL requests" value={totals?.graphql} />
          <Figure label="Tokens issued" value={totals?.tokens} />
          <Figure label="Refusals" value={totals?.refusals} />
        </SimpleGrid>
        {usage.isError ? (
          <ErrorAlert error={usage.error} title="The usage could not be loaded" onRetry={() => void usage.refetch()} />
        ) : rows === undefined ? (
          <Skeleton h={CHART_HEIGHT} aria-label="Loading the usage" />
        ) : (
          <>
            {/* The chart draws what the table below says: a screen reader reads the table instead. */}
            <div aria-hidden>
              <Suspense fallback={<Skeleton h={CHART_HEIGHT} />}>
                <UsageChart rows={rows} granularity={period.granularity} height={CHART_HEIGHT} />
              </Suspense>
            </div>
            <UsageTable rows={rows} granularity={period.granularity} caption={caption} />
          </>
        )}
      </Stack>
    </SectionCard>
  );
}

/** The period's refusals by reason, most first, each with a bar for its share. */
export function RefusalReasons({ usage, range }: { usage: UseQueryResult<ClientUsage>; range: UsageRange }) {
  if (usage.isError) return <ErrorAlert error={usage.error} title="The refusals could not be loaded" onRetry={() => void usage.refetch()} />;
  if (usage.data === undefined) return <Skeleton h={120} aria-label="Loading the refusals" />;
  const reasons = refusalsByReason(usage.data.buckets);
  if (reasons.length === 0) return <Text c="dimmed">No request was refused in the last {USAGE_RANGES[range].label}.</Text>;
  const most = reasons[0]!.count;
  return (
    <Table verticalSpacing={6} aria-label={`Refusals by reason, last ${USAGE_RANGES[range].label}`}>
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Reason</Table.Th>
          <Table.Th ta="right" w={90}>
            Refusals
          </Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {reasons.map(({ reason, count: refused }) => (
          <Table.Tr key={reason}>
            <Table.Td>
              <Text size="sm">{refusalLabel(reason)}</Text>
              <div
                aria-hidden
                style={{ height: 4, marginTop: 4, borderRadius: 2, width: `${(refused / most) * 100}%`, background: 'var(--mantine-color-red-filled)' }}
              />
            </Table.Td>
            <Table.Td ta="right" style={{ fontVariantNumeric: 'tabular-nums' }}>
              {count.format(refused)}
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

/** The last refusals one by one: when, why, and from which address. */
export function RecentRefusals({ refusals }: { refusals: UseQueryResult<RefusalList> }) {
  if (refusals.isError) return <ErrorAlert error={refusals.error} title="The recent refusals could not be loaded" onRetry={() => void refusals.refetch()} />;
  if (refusals.data === undefined) return <Skeleton h={120} aria-label="Loading the recent refusals" />;
  if (refusals.data.items.length === 0) return <Text c="dimmed">No request from this client has been refused.</Text>;
  return (
    <Table.ScrollContainer minWidth={360}>
      <Table verticalSpacing={6} aria-label="Recent refusals">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>When</Table.Th>
            <Table.Th>Reason</Table.Th>
            <Table.Th>Address</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {refusals.data.items.map((refusal, index) => (
            <Table.Tr key={`${refusal.at}-${index}`}>
              <Table.Td className="koios-nowrap">
                <PlainTime value={refusal.at} />
              </Table.Td>
              <Table.Td>{refusalLabel(refusal.reason)}</Table.Td>
              <Table.Td className="koios-short-id">{refusal.address ?? <span className="koios-secondary">Unknown</span>}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
