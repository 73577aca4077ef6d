import { Anchor, Badge, Button, Table, Text, Tooltip } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconPlus, IconShieldLock } from '../../components/icons';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { EmptyState } from '../../components/empty-state';
import { ErrorAlert } from '../../components/error-alert';
import { ListTableBody } from '../../components/list-table-body';
import { PageHeader } from '../../components/page-header';
import { useCan } from '../session/session';
import { CreateRoleDialog } from './create-role-dialog';
import { useRoles } from './roles.api';

/** `/roles`: the built-in roles and the custom ones, each a set of permissions. */
export function RolesPage() {
  const roles = useRoles();
  const can = useCan();
  const navigate = useNavigate();
  const [creating, setCreating] = useState(false);
  return (
    <>
      <PageHeader
        title="Roles"
        description="A role is a named set of permissions. Give roles to API clients (one each) and users (any number)."
        actions={
          <Tooltip label="You need the roles:write permission" disabled={can('roles:write')}>
            <Button leftSection={<IconPlus size={16} aria-hidden />} onClick={() => setCreating(true)} disabled={!can('roles:write')}>
              Create role
            </Button>
          </Tooltip>
        }
      />
      {roles.isError ? (
        <ErrorAlert error={roles.error} title="The roles could not be loaded" onRetry={() => void roles.refetch()} />
      ) : (
        <Table.ScrollContainer minWidth={640}>
          <Table highlightOnHover verticalSpacing="sm" aria-label="Roles" aria-busy={roles.isPending}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Description</Table.Th>
                <Table.Th w={120}>Type</Table.Th>
                <Table.Th w={130}>Permissions</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <ListTableBody
              hover
              rows={roles.data}
              skeletonWidths={[120, 280, 70, 40]}
              rowHeight={52}
              skeletonRows={2}
              empty={
                <EmptyState icon={<IconShieldLock size={24} />} title="No roles">
                  Create a role to group the permissions an API client or a user needs.
                </EmptyState>
              }
            >
              {roles.data?.map((role) => (
                <Table.Tr
                  key={role.id}
                  h={52}
                  style={{ cursor: 'pointer' }}
                  onClick={(event) => {
                    if (!(event.target as HTMLElement).closest('a, button')) void navigate(`/roles/${role.id}`);
                  }}
                >
                  <Table.Td>
                    <Anchor component={Link} to={`/roles/${role.id}`} fw={600} c="inherit" underline="hover">
                      {role.name}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm" c={role.description ? undefined : 'dimmed'} lineClamp={2}>
                      {role.description || 'No description'}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    <Badge variant={role.builtIn ? 'outline' : 'light'} color={role.builtIn ? 'gray' : 'indigo'} radius="sm">
                      {role.builtIn ? 'Built-in' : 'Custom'}
                    </Badge>
                  </Table.Td>
                  <Table.Td>{role.permissions.length}</Table.Td>
                </Table.Tr>
              ))}
            </ListTableBody>
          </Table>
        </Table.ScrollContainer>
      )}
      <CreateRoleDialog
        opened={creating}
        onClose={() => setCreating(false)}
        onCreated={(role) => {
          setCreating(false);
          notifications.show({ color: 'teal', title: 'Role created', message: `Now choose what ${role.name} may do.` });
          void navigate(`/roles/${role.id}`);
        }}
      />
    </>
  );
}
