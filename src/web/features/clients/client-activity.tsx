import { SimpleGrid, Stack } from '@mantine/core';
import { SectionCard } from '../../components/section-card';
import type { ApiClient } from '../../lib/types';
import { ActivityList } from '../audit/activity-list';
import { RecentRefusals, RefusalReasons, UsageSection, useMinuteClock, useUsageRange } from '../usage/usage-section';
import { USAGE_RANGES, useClientRefusals, useClientUsage, usagePeriod } from '../usage/usage.api';

/** Activity tab: what the client did (its requests and refusals), then what was done to it (the audit log). */
export function ClientActivity({ client }: { client: ApiClient }) {
  const [range, setRange] = useUsageRange();
  const period = usagePeriod(range, useMinuteClock());
  const usage = useClientUsage(client.id, period);
  const refusals = useClientRefusals(client.id);
  return (
    <Stack gap="lg">
      <UsageSection
        title="Requests and refusals"
        description={`Tokens issued to ${client.name}, its calls to the REST and GraphQL APIs, and the requests refused, per ${period.granularity === 'hour' ? 'hour' : 'day'} (UTC).`}
        period={period}
        range={range}
        onRange={setRange}
        usage={usage}
      />
      <SimpleGrid cols={{ base: 1, md: 2 }} spacing="lg">
        <SectionCard title="Refusals by reason" description={`Why its requests were refused in the last ${USAGE_RANGES[range].label}.`}>
          <RefusalReasons usage={usage} range={range} />
        </SectionCard>
        <SectionCard title="Recent refusals" description="The last 20 refused requests, newest first.">
          <RecentRefusals refusals={refusals} />
        </SectionCard>
      </SimpleGrid>
      <SectionCard title="Changes" description="What was done to this client, newest first.">
        <ActivityList targetId={client.id} noun="client" />
      </SectionCard>
    </Stack>
  );
}
