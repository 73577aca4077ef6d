import { Anchor, Badge, CloseButton, Skeleton, Stack, Table, Text, TextInput } from '@mantine/core';
import { IconHistory, IconSearch } from '../../components/icons';
import { Link } from 'react-router';
import { CursorPagination } from '../../components/cursor-pagination';
import { EmptyState } from '../../components/empty-state';
import { ErrorAlert } from '../../components/error-alert';
import { PageHeader } from '../../components/page-header';
import { RelativeTime } from '../../components/relative-time';
import { useListParams, useSearchBox } from '../../lib/list-params';
import { useCursorPages } from '../../lib/paging';
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
  const [params, setParams] = useListParams<'-occurredAt'>({ sort: '-occurredAt', sorts: SORTS });
  const query = { q: params.q, limit: params.limit };
  const pages = useCursorPages({
    queryKey: auditKeys.list(query),
    page: params.page,
    onPageMoved: (page) => setParams({ page }, { replace: true }),
    fetchPage: (cursor, signal) => fetchAuditPage(query, cursor, signal),
  });
  const [search, setSearch] = useSearchBox(params.q, (q) => setParams({ q }, { replace: true }));
  const data = pages.data?.data;

  return (
    <>
      <PageHeader title="Audit" description="Every change to API clients, roles and users, and every sign-in, with who did it and when." />
      <Stack gap="sm">
        <TextInput
          aria-label="Search the audit log"
          placeholder="Search actions, people, clients or roles"
          leftSection={<IconSearch size={16} aria-hidden />}
          rightSection={search !== '' ? <CloseButton aria-label="Clear search" size="sm" onClick={() => setSearch('')} /> : null}
          value={search}
          onChange={(event) => setSearch(event.currentTarget.value)}
          maw={420}
        />
        {pages.isError && data === undefined ? (
          <ErrorAlert error={pages.error} title="The audit log could not be loaded" onRetry={() => void pages.refetch()} />
        ) : (
          <Table.ScrollContainer minWidth={820}>
            <Table verticalSpacing="sm" aria-label="Audit events" aria-busy={data === undefined}>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th w={150}>When</Table.Th>
                  <Table.Th w={200}>Who</Table.Th>
                  <Table.Th w={220}>Action</Table.Th>
                  <Table.Th w={220}>Target</Table.Th>
                  <Table.Th>Details</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {data === undefined &&
                  [0, 1, 2, 3].map((row) => (
                    <Table.Tr key={row} h={48} aria-hidden>
                      {[90, 120, 140, 140, 200].map((width, cell) => (
                        <Table.Td key={cell}>
                          <Skeleton h={14} w={width} />
                        </Table.Td>
                      ))}
                    </Table.Tr>
                  ))}
                {data?.items.length === 0 && (
                  <Table.Tr>
                    <Table.Td colSpan={5}>
                      <EmptyState icon={<IconHistory size={24} />} title={params.q === '' ? 'Nothing recorded yet' : 'No events match'}>
                        {params.q === ''
                          ? 'Changes to API clients, roles and users will be listed here as they happen.'
                          : 'Try another word: an action such as “disabled”, a person’s name, or a client’s name.'}
                      </EmptyState>
                    </Table.Td>
                  </Table.Tr>
                )}
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
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
        <CursorPagination
          page={params.page}
          pageSize={params.limit}
          itemCount={data?.items.length ?? 0}
          hasNext={data?.nextCursor !== null && data?.nextCursor !== undefined}
          onPage={(page) => setParams({ page })}
          onPageSize={(limit) => setParams({ limit })}
          noun="events"
        />
      </Stack>
    </>
  );
}
