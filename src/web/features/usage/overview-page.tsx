import { Anchor, SimpleGrid, Skeleton, Stack, Table, Text } from '@mantine/core';
import type { UseQueryResult } from '@tanstack/react-query';
import { Link } from 'react-router';
import { ErrorAlert } from '../../components/error-alert';
import { PageHeader } from '../../components/page-header';
import { SectionCard } from '../../components/section-card';
import type { FleetUsage } from '../../lib/types';
import { count, UsageSection, useMinuteClock, useUsageRange } from './usage-section';
import { USAGE_RANGES, useClientCount, useFleetUsage, useRisingRefusals, usagePeriod, type UsageRange } from './usage.api';

/** A client of a table: its name, a link to its Activity tab. */
function ClientCell({ client }: { client: { id: string; name: string } }) {
  return (
    <Table.Td style={{ overflowWrap: 'anywhere' }}>
      <Anchor component={Link} to={`/system/connections/${client.id}?tab=activity`} size="sm">
        {client.name}
      </Anchor>
    </Table.Td>
  );
}

/** The clients needing a look, each a count that opens the list filtered to them. */
const ATTENTION = [
  { title: 'Disabled', filter: { status: 'disabled' }, note: 'Refused on every request until enabled again.' },
  { title: 'Expiring within 30 days', filter: { expiringWithin: '30d' }, note: 'Their secrets stop working within 30 days.' },
  { title: 'Unused for 90 days', filter: { unusedFor: '90d' }, note: 'Never used, or not in the last 90 days.' },
] as const;

function AttentionCount({ title, filter, note }: (typeof ATTENTION)[number]) {
  const total = useClientCount(filter);
  const to = `/system/connections?${new URLSearchParams(filter).toString()}`;
  return (
    <SectionCard title={title}>
      {total.isError ? (
        <ErrorAlert error={total.error} title="Could not be counted" onRetry={() => void total.refetch()} />
      ) : total.data === undefined ? (
        <Skeleton h={36} aria-label={`Counting ${title.toLowerCase()} clients`} />
      ) : (
        <Anchor
          component={Link}
          to={to}
          fw={700}
          fz={28}
          underline="hover"
          aria-label={`${count.format(total.data)} ${total.data === 1 ? 'client' : 'clients'} ${title.toLowerCase()}`}
        >
          {count.format(total.data)}
        </Anchor>
      )}
      <Text size="sm" c="dimmed">
        {note}
      </Text>
    </SectionCard>
  );
}

function TopClients({ usage, range }: { usage: UseQueryResult<FleetUsage>; range: UsageRange }) {
  if (usage.isError) return <ErrorAlert error={usage.error} title="The busiest clients could not be loaded" onRetry={() => void usage.refetch()} />;
  if (usage.data === undefined) return <Skeleton h={160} aria-label="Loading the busiest clients" />;
  if (usage.data.top.length === 0) return <Text c="dimmed">No client made a request in the last {USAGE_RANGES[range].label}.</Text>;
  return (
    <Table verticalSpacing={6} aria-label={`Busiest clients, last ${USAGE_RANGES[range].label}`}>
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Client</Table.Th>
          <Table.Th ta="right">Requests</Table.Th>
          <Table.Th ta="right">Refusals</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {usage.data.top.map(({ client, requests, refusals }) => (
          <Table.Tr key={client.id}>
            <ClientCell client={client} />
            <Table.Td ta="right">{count.format(requests)}</Table.Td>
            <Table.Td ta="right">{count.format(refusals)}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

function RisingRefusals({ now }: { now: number }) {
  const { rising, pending, failed, refetch } = useRisingRefusals(now);
  if (failed !== null) return <ErrorAlert error={failed} title="The refusals could not be compared" onRetry={refetch} />;
  if (pending) return <Skeleton h={120} aria-label="Comparing the refusals" />;
  if (rising.length === 0) return <Text c="dimmed">No client was refused more in the last 24 hours than in the 24 hours before.</Text>;
  return (
    <Table verticalSpacing={6} aria-label="Clients with rising refusals">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Client</Table.Th>
          <Table.Th ta="right">Last 24 hours</Table.Th>
          <Table.Th ta="right">24 hours before</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {rising.map(({ client, refusals, previousRefusals }) => (
          <Table.Tr key={client.id}>
            <ClientCell client={client} />
            <Table.Td ta="right">{count.format(refusals)}</Table.Td>
            <Table.Td ta="right">{count.format(previousRefusals)}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

/** `/system/overview`: the installation at a glance: its traffic, its busiest clients, rising refusals, and the clients needing a look. */
export function OverviewPage() {
  const [range, setRange] = useUsageRange();
  const now = useMinuteClock();
  const period = usagePeriod(range, now);
  const usage = useFleetUsage(period);
  return (
    <>
      <PageHeader
        title="Overview"
        crumbs={[{ label: 'System' }, { label: 'Overview' }]}
        description="Traffic of every API client together, the busiest clients, and the clients that may need a look."
      />
      <Stack gap="lg">
        <SimpleGrid cols={{ base: 1, sm: 3 }} spacing="lg">
          {ATTENTION.map((item) => (
            <AttentionCount key={item.title} {...item} />
          ))}
        </SimpleGrid>
        <UsageSection
          title="Traffic"
          description={`Tokens issued, calls to the REST and GraphQL APIs, and refused requests of every client, per ${period.granularity === 'hour' ? 'hour' : 'day'} (UTC).`}
          period={period}
          range={range}
          onRange={setRange}
          usage={usage}
        />
        <SimpleGrid cols={{ base: 1, md: 2 }} spacing="lg">
          <SectionCard title="Busiest clients" description={`By requests in the last ${USAGE_RANGES[range].label}.`}>
            <TopClients usage={usage} range={range} />
          </SectionCard>
          <SectionCard title="Rising refusals" description="The clients refused more often in the last 24 hours than in the 24 hours before, busy or not.">
            <RisingRefusals now={now} />
          </SectionCard>
        </SimpleGrid>
      </Stack>
    </>
  );
}
