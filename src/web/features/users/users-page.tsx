import { Anchor, Badge, Button, Group, Stack, Table, Text, Tooltip } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconFilterOff, IconPlus, IconUsers } from '../../components/icons';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { CursorPagination } from '../../components/cursor-pagination';
import { EmptyState } from '../../components/empty-state';
import { ErrorAlert } from '../../components/error-alert';
import { ListTableBody } from '../../components/list-table-body';
import { PageHeader } from '../../components/page-header';
import { RelativeTime } from '../../components/relative-time';
import { SearchInput } from '../../components/search-input';
import { StatusBadge } from '../../components/status-badge';
import { useListPage } from '../../lib/list-page';
import { useCan, useSession } from '../session/session';
import { CreateUserDialog } from './create-user-dialog';
import { fetchUserPage, userKeys } from './users.api';

const SORTS = ['email'] as const;

/** `/users`: console users, their roles, and who may sign in. */
export function UsersPage() {
  const navigate = useNavigate();
  const can = useCan();
  const me = useSession().data?.user;
  const { params, setParams, pages, data, busy, refreshing, failed, search, pagination } = useListPage({
    sort: 'email' as const,
    sorts: SORTS,
    query: ({ q, limit }) => ({ q, limit }),
    queryKey: userKeys.list,
    fetchPage: fetchUserPage,
  });
  const [creating, setCreating] = useState(false);

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
      <Stack gap="sm">
        <SearchInput label="Search users" placeholder="Search names or emails" q={params.q} onSearch={search} maw={420} />
        <Table.ScrollContainer minWidth={760}>
          <Table highlightOnHover verticalSpacing="sm" aria-label="Users" aria-busy={busy}>
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
            <ListTableBody
              hover
              rows={data?.items}
              skeletonWidths={[70, 140, 200, 120, 90, 90]}
              rowHeight={54}
              refreshing={refreshing}
              failure={failed === null ? undefined : <ErrorAlert error={failed} title="The users could not be loaded" onRetry={() => void pages.refetch()} />}
              empty={
                params.q === '' ? (
                  <EmptyState icon={<IconUsers size={24} />} title="No users on this page">
                    Add a user to let another person sign in to the console.
                  </EmptyState>
                ) : (
                  <EmptyState
                    icon={<IconFilterOff size={24} />}
                    title="No users match"
                    action={
                      <Button variant="light" onClick={() => setParams({ q: '' })}>
                        Show every user
                      </Button>
                    }
                  >
                    Nobody’s name or email contains “{params.q}”. Try part of a name, or an email’s domain.
                  </EmptyState>
                )
              }
            >
              {data?.items.map((user) => (
                <Table.Tr
                  key={user.id}
                  h={54}
                  className={user.enabled ? undefined : 'koios-row-disabled'}
                  style={{ cursor: 'pointer' }}
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
            </ListTableBody>
          </Table>
        </Table.ScrollContainer>
        {failed === null && <CursorPagination {...pagination} noun={{ one: 'user', other: 'users' }} />}
      </Stack>
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
