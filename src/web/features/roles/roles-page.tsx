import { Anchor, Badge, Button, Group, Modal, Skeleton, Stack, Table, Text, Textarea, TextInput, Tooltip } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconPlus, IconShieldLock } from '../../components/icons';
import { useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { descriptionProblem, nameProblem } from '../../../shared/limits';
import { EmptyState } from '../../components/empty-state';
import { ErrorAlert } from '../../components/error-alert';
import { PageHeader } from '../../components/page-header';
import { ApiError } from '../../lib/api';
import type { Role } from '../../lib/types';
import { useCan } from '../session/session';
import { useCreateRole, useRoles } from './roles.api';

function CreateRoleDialog({ opened, onClose, onCreated }: { opened: boolean; onClose: () => void; onCreated: (role: Role) => void }) {
  const [form, setForm] = useState({ name: '', description: '' });
  const [problems, setProblems] = useState<{ name?: string; description?: string }>({});
  const create = useCreateRole();
  const cancel = () => {
    if (create.isPending) return;
    setForm({ name: '', description: '' });
    setProblems({});
    create.reset();
    onClose();
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const name = nameProblem(form.name);
    const description = descriptionProblem(form.description);
    const found = { ...(name === null ? {} : { name: `Name ${name}` }), ...(description === null ? {} : { description: `Description ${description}` }) };
    setProblems(found);
    if (Object.keys(found).length > 0) return;
    create.mutate(
      { name: form.name.trim(), description: form.description.trim(), permissions: [] },
      {
        onSuccess: (role) => {
          setForm({ name: '', description: '' });
          onCreated(role);
        },
      },
    );
  };
  const fieldError = (field: 'name' | 'description') => problems[field] ?? (create.error instanceof ApiError ? create.error.fieldError(field) : undefined);
  return (
    <Modal opened={opened} onClose={cancel} title="Create role" centered>
      <form onSubmit={submit} noValidate>
        <Stack gap="md">
          <TextInput
            label="Name"
            required
            data-autofocus
            value={form.name}
            onChange={(event) => setForm({ ...form, name: event.currentTarget.value })}
            error={fieldError('name')}
          />
          <Textarea
            label="Description"
            description="Optional: who this role is for"
            autosize
            minRows={2}
            value={form.description}
            onChange={(event) => setForm({ ...form, description: event.currentTarget.value })}
            error={fieldError('description')}
          />
          <Text size="sm" c="dimmed">
            You choose the role’s permissions next.
          </Text>
          {create.error !== null && fieldError('name') === undefined && fieldError('description') === undefined && <ErrorAlert error={create.error} />}
          <Group justify="flex-end">
            <Button variant="default" onClick={cancel} disabled={create.isPending}>
              Cancel
            </Button>
            <Button type="submit" loading={create.isPending}>
              Create
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

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
            <Table.Tbody>
              {roles.isPending &&
                [0, 1].map((row) => (
                  <Table.Tr key={row} h={52} aria-hidden>
                    {[120, 280, 70, 40].map((width, cell) => (
                      <Table.Td key={cell}>
                        <Skeleton h={14} w={width} />
                      </Table.Td>
                    ))}
                  </Table.Tr>
                ))}
              {roles.data?.length === 0 && (
                <Table.Tr>
                  <Table.Td colSpan={4}>
                    <EmptyState icon={<IconShieldLock size={24} />} title="No roles">
                      Create a role to group the permissions an API client or a user needs.
                    </EmptyState>
                  </Table.Td>
                </Table.Tr>
              )}
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
            </Table.Tbody>
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
