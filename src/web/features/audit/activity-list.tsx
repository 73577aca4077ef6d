import { Button, Skeleton, Stack, Text, Timeline } from '@mantine/core';
import { useInfiniteQuery } from '@tanstack/react-query';
import { IconHistory } from '../../components/icons';
import { EmptyState } from '../../components/empty-state';
import { ErrorAlert } from '../../components/error-alert';
import { RelativeTime } from '../../components/relative-time';
import { useCan } from '../session/session';
import { auditKeys, describeAction, describeDetails, fetchAuditPage } from './audit.api';

/** What happened to one client, user or role, newest first, from the audit log (which needs audit:read). */
export function ActivityList({ targetId, noun }: { targetId: string; noun: string }) {
  const can = useCan();
  if (!can('audit:read')) return <Text c="dimmed">You need the audit:read permission to see the activity.</Text>;
  return <Activity targetId={targetId} noun={noun} />;
}

function Activity({ targetId, noun }: { targetId: string; noun: string }) {
  const query = { targetId, limit: 20 };
  const events = useInfiniteQuery({
    queryKey: [...auditKeys.list(query), 'infinite'],
    queryFn: ({ pageParam, signal }) => fetchAuditPage(query, pageParam, signal),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor,
  });

  if (events.isPending) {
    return (
      <Stack gap="md" aria-hidden>
        {[0, 1, 2].map((index) => (
          <Skeleton key={index} h={44} />
        ))}
      </Stack>
    );
  }
  if (events.isError) return <ErrorAlert error={events.error} title="The activity could not be loaded" onRetry={() => void events.refetch()} />;
  const items = events.data.pages.flatMap((page) => page.items);
  if (items.length === 0) {
    return (
      <EmptyState icon={<IconHistory size={24} />} title="No activity yet">
        Changes to this {noun} will be listed here as they happen.
      </EmptyState>
    );
  }
  return (
    <Stack gap="md">
      <Timeline bulletSize={12} lineWidth={2} aria-label="Activity">
        {items.map((event) => {
          const details = describeDetails(event.details);
          return (
            <Timeline.Item key={event.id} title={describeAction(event.action)}>
              <Text size="sm" c="dimmed">
                {event.actor.name} · <RelativeTime value={event.occurredAt} />
              </Text>
              {details !== '' && (
                <Text size="xs" c="dimmed" style={{ overflowWrap: 'anywhere' }}>
                  {details}
                </Text>
              )}
            </Timeline.Item>
          );
        })}
      </Timeline>
      {events.hasNextPage && (
        <Button variant="default" onClick={() => void events.fetchNextPage()} loading={events.isFetchingNextPage} w="fit-content">
          Show older activity
        </Button>
      )}
    </Stack>
  );
}
