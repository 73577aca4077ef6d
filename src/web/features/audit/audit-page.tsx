import { Anchor, Badge, Button, Stack, Table, Text } from '@mantine/core';
import { IconHistory } from '../../components/icons';
import { Link } from 'react-router';
import { CursorPagination } from '../../components/cursor-pagination';
import { EmptyState } from '../../components/empty-state';
import { ErrorAlert } from '../../components/error-alert';
import { PageHeader } from '../../components/page-header';
import { RelativeTime } from '../../components/relative-time';
import { ListTableBody } from '../../components/list-table-body';
import { SearchInput } from '../../components/search-input';
import { useListPage } from '../../lib/list-page';
import type { AuditEvent } from '../../lib/types';
import { auditKeys, describeAction, describeDetails, fetchAuditPage } from './audit.api';

const SORTS = ['-occurredAt'] as const;

function targetLink(target: NonNullable<AuditEvent['target']>): string | null {
  if (target.id === null) return null;
  if (target.type === 'client') return `/system/connections/${target.id}`;
  if (target.type === 'user') return `/users/${target.id}`;
  if (target.type === 'role') return `/roles/${target.id}`;
  return null;
}

/** `/audit`: every change and sign-in, newest first, searchable. */
export function AuditPage() {
  const { params, setParams, pages, data, busy, refreshing, failed, search, pagination } = useListPage({
    sort: '-occurredAt' as const,
    sorts: SORTS,
    query: ({ q, limit }) => ({ q, limit }),
    queryKey: auditKeys.list,
    fetchPage: fetchAuditPage,
  });

  return (
    <>
      <PageHeader title="Audit" description="Every change to API clients, roles and users, and every sign-in, with who did it and when." />
      <Stack gap="sm">
        <SearchInput label="Search the audit log" placeholder="Search actions, people, clients or roles" q={params.q} onSearch={search} maw={420} />
        <Table.ScrollContainer minWidth={820}>
          <Table verticalSpacing="sm" aria-label="Audit events" aria-busy={busy}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th w={150}>When</Table.Th>
                <Table.Th w={200}>Who</Table.Th>
                <Table.Th w={220}>Action</Table.Th>
                <Table.Th w={220}>Target</Table.Th>
                <Table.Th>Details</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <ListTableBody
              rows={data?.items}
              skeletonWidths={[90, 120, 140, 140, 200]}
              rowHeight={48}
              skeletonRows={4}
              refreshing={refreshing}
              failure={
                failed === null ? undefined : <ErrorAlert error={failed} title="The audit log could not be loaded" onRetry={() => void pages.refetch()} />
              }
              empty={
                <EmptyState
                  icon={<IconHistory size={24} />}
                  title={params.q === '' ? 'Nothing recorded yet' : 'No events match'}
                  action={
                    params.q !== '' && (
                      <Button variant="light" onClick={() => setParams({ q: '' })}>
                        Show every event
                      </Button>
                    )
                  }
                >
                  {params.q === ''
                    ? 'Changes to API clients, roles and users will be listed here as they happen.'
                    : 'Try another word: an action such as “disabled”, a person’s name, or a client’s name.'}
                </EmptyState>
              }
            >
              {data?.items.map((event) => {
                const link = event.target === null ? null : targetLink(event.target);
                return (
                  <Table.Tr key={event.id}>
                    <Table.Td>
                      <RelativeTime value={event.occurredAt} />
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">{event.actor.name}</Text>
                      <Text size="xs" c="dimmed">
                        {event.actor.type === 'client' ? 'API client' : event.actor.type === 'system' ? 'System' : 'User'}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">{describeAction(event.action)}</Text>
                      <Badge size="xs" variant="outline" color="gray" radius="sm" tt="none">
                        {event.action}
                      </Badge>
                    </Table.Td>
                    <Table.Td>
                      {event.target === null ? (
                        <Text size="sm" c="dimmed">
                          —
                        </Text>
                      ) : link !== null ? (
                        <Anchor component={Link} to={link} size="sm">
                          {event.target.name ?? event.target.id}
                        </Anchor>
                      ) : (
                        <Text size="sm">{event.target.name ?? event.target.id ?? event.target.type}</Text>
                      )}
                    </Table.Td>
                    <Table.Td>
                      <Text size="xs" c="dimmed" style={{ overflowWrap: 'anywhere' }}>
                        {describeDetails(event.details)}
                      </Text>
                    </Table.Td>
                  </Table.Tr>
                );
              })}
            </ListTableBody>
          </Table>
        </Table.ScrollContainer>
        {failed === null && <CursorPagination {...pagination} noun={{ one: 'event', other: 'events' }} />}
      </Stack>
    </>
  );
}
