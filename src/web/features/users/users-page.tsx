import { Anchor, Badge, Button, Group, Skeleton, Stack, Table, Text, Tooltip } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconPlus, IconUsers } from '../../components/icons';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { CursorPagination } from '../../components/cursor-pagination';
import { EmptyState } from '../../components/empty-state';
import { ErrorAlert } from '../../components/error-alert';
import { PageHeader } from '../../components/page-header';
import { RelativeTime } from '../../components/relative-time';
import { StatusBadge } from '../../components/status-badge';
import { useListParams } from '../../lib/list-params';
import { useCursorPages } from '../../lib/paging';
import { useCan, useSession } from '../session/session';
import { CreateUserDialog } from './create-user-dialog';
import { fetchUserPage, userKeys } from './users.api';

const SORTS = ['email'] as const;

/** `/users`: console users, their roles, and who may sign in. */
export function UsersPage() {
  const navigate = useNavigate();
  const can = useCan();
  const me = useSession().data?.user;
  const [params, setParams] = useListParams<'email'>({ sort: 'email', sorts: SORTS });
  const query = { limit: params.limit };
  const pages = useCursorPages({
    queryKey: userKeys.list(query),
    page: params.page,
    onPageMoved: (page) => setParams({ page }, { replace: true }),
    fetchPage: (cursor, signal) => fetchUserPage(query, cursor, signal),
  });
  const [creating, setCreating] = useState(false);
  const data = pages.data?.data;

  return (
    <>
      <PageHeader
        title="Users"
        description="People who sign in to this console. What they may do comes from their roles."
        actions={
          <Tooltip label="You need the users:write permission" disabled={can('users:write')}>
            <Button leftSection={<IconPlus size={16} aria-hidden />} onClick={() => setCreating(true)} disabled={!can('users:write')}>
              Add user
            </Button>
          </Tooltip>
        }
      />
      {pages.isError && data === undefined ? (
        <ErrorAlert error={pages.error} title="The users could not be loaded" onRetry={() => void pages.refetch()} />
      ) : (
        <Stack gap="sm">
          <Table.ScrollContainer minWidth={760}>
            <Table highlightOnHover verticalSpacing="sm" aria-label="Users" aria-busy={data === undefined}>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th w={110}>Status</Table.Th>
                  <Table.Th>Name</Table.Th>
                  <Table.Th>Email</Table.Th>
                  <Table.Th>Roles</Table.Th>
                  <Table.Th w={150}>Last Sign-in</Table.Th>
                  <Table.Th w={150}>Created</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {data === undefined &&
                  [0, 1, 2].map((row) => (
                    <Table.Tr key={row} h={54} aria-hidden>
                      {[70, 140, 200, 120, 90, 90].map((width, cell) => (
                        <Table.Td key={cell}>
                          <Skeleton h={14} w={width} />
                        </Table.Td>
                      ))}
                    </Table.Tr>
                  ))}
                {data?.items.length === 0 && (
                  <Table.Tr>
                    <Table.Td colSpan={6}>
                      <EmptyState icon={<IconUsers size={24} />} title="No users on this page">
                        Add a user to let another person sign in to the console.
                      </EmptyState>
                    </Table.Td>
                  </Table.Tr>
                )}
                {data?.items.map((user) => (
                  <Table.Tr
                    key={user.id}
                    h={54}
                    style={{ opacity: user.enabled ? 1 : 0.55, cursor: 'pointer' }}
                    onClick={(event) => {
                      if (!(event.target as HTMLElement).closest('a, button')) void navigate(`/users/${user.id}`);
                    }}
                  >
                    <Table.Td>
                      <StatusBadge enabled={user.enabled} />
                    </Table.Td>
                    <Table.Td>
                      <Group gap={6} wrap="nowrap">
                        <Anchor component={Link} to={`/users/${user.id}`} fw={600} c="inherit" underline="hover">
                          {user.name || user.email}
                        </Anchor>
                        {user.id === me?.id && (
                          <Badge size="xs" variant="light">
                            You
                          </Badge>
                        )}
                      </Group>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">{user.email}</Text>
                    </Table.Td>
                    <Table.Td>
                      <Group gap={4}>
                        {user.roles.length === 0 ? (
                          <Text size="sm" c="dimmed">
                            No roles
                          </Text>
                        ) : (
                          user.roles.map((role) => (
                            <Badge key={role.id} variant="outline" color="gray" radius="sm">
                              {role.name}
                            </Badge>
                          ))
                        )}
                      </Group>
                    </Table.Td>
                    <Table.Td>
                      <RelativeTime value={user.lastLoginAt} />
                    </Table.Td>
                    <Table.Td>
                      <RelativeTime value={user.createdAt} />
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          <CursorPagination
            page={params.page}
            pageSize={params.limit}
            itemCount={data?.items.length ?? 0}
            total={data?.total}
            hasNext={data?.nextCursor !== null && data?.nextCursor !== undefined}
            onPage={(page) => setParams({ page })}
            onPageSize={(limit) => setParams({ limit })}
            noun="users"
          />
        </Stack>
      )}
      <CreateUserDialog
        opened={creating}
        onClose={() => setCreating(false)}
        onCreated={(user) => {
          setCreating(false);
          notifications.show({ color: 'teal', title: 'User created', message: `${user.email} can now sign in.` });
          void navigate(`/users/${user.id}`);
        }}
      />
    </>
  );
}
