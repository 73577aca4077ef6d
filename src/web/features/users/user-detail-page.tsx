import { Button, Card, Checkbox, Grid, Group, PasswordInput, SimpleGrid, Skeleton, Stack, Switch, Tabs, Text, TextInput, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconHistory, IconKey, IconListDetails, IconShieldLock, IconTrash, IconUserOff } from '../../components/icons';
import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { nameProblem, PASSWORD_MIN_LENGTH } from '../../../shared/limits';
import { ConfirmDialog } from '../../components/confirm-dialog';
import { EmptyState } from '../../components/empty-state';
import { ErrorAlert } from '../../components/error-alert';
import { PageHeader } from '../../components/page-header';
import { RelativeTime } from '../../components/relative-time';
import { StatusBadge } from '../../components/status-badge';
import { ApiError, errorMessage } from '../../lib/api';
import type { User } from '../../lib/types';
import { ActivityList } from '../audit/activity-list';
import { PermissionGroups } from '../permissions/permission-groups';
import { usePermissionCatalog } from '../permissions/permissions.api';
import { RoleChoice } from '../roles/role-choice';
import { useRoles } from '../roles/roles.api';
import { useCan, useSession } from '../session/session';
import { useDeleteUser, useUpdateUser, useUser, useUserPermissions } from './users.api';

const TABS = ['overview', 'roles', 'permissions', 'activity'] as const;
type Tab = (typeof TABS)[number];

function EnabledSwitch({ user, self }: { user: User; self: boolean }) {
  const update = useUpdateUser(user.id);
  const can = useCan();
  const shown = update.isPending && update.variables.enabled !== undefined ? update.variables.enabled : user.enabled;
  return (
    <Switch
      label="Enabled"
      aria-label="Enabled"
      aria-describedby={self ? 'user-enabled-self' : undefined}
      size="md"
      color="teal"
      checked={shown}
      disabled={!can('users:write') || update.isPending || self}
      description={self ? <span id="user-enabled-self">You cannot disable yourself</span> : undefined}
      onChange={(event) => {
        const enabled = event.currentTarget.checked;
        update.mutate(
          { enabled },
          {
            onSuccess: (saved) =>
              notifications.show({
                color: 'teal',
                title: enabled ? 'User enabled' : 'User disabled',
                message: enabled ? `${saved.email} can sign in again.` : `${saved.email} can no longer sign in.`,
              }),
            onError: (error) => notifications.show({ color: 'red', title: 'The user was not changed', message: errorMessage(error) }),
          },
        );
      }}
    />
  );
}

function UserOverview({ user, self }: { user: User; self: boolean }) {
  const can = useCan();
  const update = useUpdateUser(user.id);
  const password = useUpdateUser(user.id);
  const [form, setForm] = useState({ name: user.name, email: user.email });
  const [base, setBase] = useState(user);
  if (base.name !== user.name || base.email !== user.email) {
    setBase(user);
    setForm({ name: user.name, email: user.email });
  }
  const [problems, setProblems] = useState<{ name?: string; email?: string }>({});
  const [newPassword, setNewPassword] = useState('');
  const [passwordProblem, setPasswordProblem] = useState<string | undefined>();
  const editable = can('users:write') || self;
  const dirty = form.name.trim() !== user.name || form.email.trim() !== user.email;

  const save = (event: FormEvent) => {
    event.preventDefault();
    const found: typeof problems = {};
    const name = nameProblem(form.name);
    if (name !== null) found.name = `Name ${name}`;
    if (!/^[^\s@]+@[^\s@]+$/.test(form.email.trim())) found.email = 'Enter an email address';
    setProblems(found);
    if (Object.keys(found).length > 0) return;
    update.mutate(
      { ...(form.name.trim() !== user.name ? { name: form.name.trim() } : {}), ...(form.email.trim() !== user.email ? { email: form.email.trim() } : {}) },
      { onSuccess: () => notifications.show({ color: 'teal', title: 'Changes saved', message: 'The user’s details are up to date.' }) },
    );
  };
  const setPassword = (event: FormEvent) => {
    event.preventDefault();
    if (newPassword.length < PASSWORD_MIN_LENGTH) {
      setPasswordProblem(`Use at least ${PASSWORD_MIN_LENGTH} characters`);
      return;
    }
    setPasswordProblem(undefined);
    password.mutate(
      { password: newPassword },
      {
        onSuccess: () => {
          setNewPassword('');
          notifications.show({ color: 'teal', title: 'Password changed', message: `${user.email} signs in with the new password from now on.` });
        },
      },
    );
  };
  const fieldError = (field: 'name' | 'email') => problems[field] ?? (update.error instanceof ApiError ? update.error.fieldError(field) : undefined);

  return (
    <Stack gap="lg">
      <SimpleGrid cols={{ base: 1, sm: 3 }}>
        <Card withBorder radius="md" component="section" aria-label="Last Sign-in">
          <Text size="xs" tt="uppercase" fw={700} c="dimmed">
            Last Sign-in
          </Text>
          <Text fw={600} size="lg" mt={6}>
            <RelativeTime value={user.lastLoginAt} />
          </Text>
        </Card>
        <Card withBorder radius="md" component="section" aria-label="Status">
          <Text size="xs" tt="uppercase" fw={700} c="dimmed">
            Status
          </Text>
          <Text mt={6} component="div">
            <StatusBadge enabled={user.enabled} />
          </Text>
        </Card>
        <Card withBorder radius="md" component="section" aria-label="Created">
          <Text size="xs" tt="uppercase" fw={700} c="dimmed">
            Created
          </Text>
          <Text fw={600} size="lg" mt={6}>
            <RelativeTime value={user.createdAt} />
          </Text>
        </Card>
      </SimpleGrid>
      <SimpleGrid cols={{ base: 1, md: 2 }} spacing="lg">
        <Card withBorder radius="md" padding="lg" component="section" aria-labelledby="user-details-heading">
          <Title order={2} size="h4" id="user-details-heading" mb="sm">
            Details
          </Title>
          <form onSubmit={save} noValidate>
            <Stack gap="sm">
              <TextInput
                label="Name"
                required
                disabled={!editable}
                value={form.name}
                onChange={(event) => setForm({ ...form, name: event.currentTarget.value })}
                error={fieldError('name')}
              />
              <TextInput
                label="Email"
                type="email"
                required
                disabled={!editable}
                value={form.email}
                onChange={(event) => setForm({ ...form, email: event.currentTarget.value })}
                error={fieldError('email')}
              />
              {update.error !== null && fieldError('name') === undefined && fieldError('email') === undefined && <ErrorAlert error={update.error} />}
              <Group justify="flex-end">
                <Button type="submit" disabled={!dirty} loading={update.isPending}>
                  Save changes
                </Button>
              </Group>
            </Stack>
          </form>
        </Card>
        <Card withBorder radius="md" padding="lg" component="section" aria-labelledby="user-password-heading">
          <Title order={2} size="h4" id="user-password-heading" mb="sm">
            Password
          </Title>
          <form onSubmit={setPassword} noValidate>
            <Stack gap="sm">
              <PasswordInput
                label="New password"
                description={`At least ${PASSWORD_MIN_LENGTH} characters`}
                autoComplete="new-password"
                disabled={!editable}
                value={newPassword}
                onChange={(event) => setNewPassword(event.currentTarget.value)}
                error={passwordProblem ?? (password.error instanceof ApiError ? password.error.fieldError('password') : undefined)}
              />
              {password.error !== null && !(password.error instanceof ApiError && password.error.fieldError('password')) && (
                <ErrorAlert error={password.error} />
              )}
              <Group justify="flex-end">
                <Button type="submit" variant="default" disabled={newPassword === ''} loading={password.isPending}>
                  Set password
                </Button>
              </Group>
            </Stack>
          </form>
        </Card>
      </SimpleGrid>
    </Stack>
  );
}

/** Roles tab: several roles, as checkboxes; the preview shows the union of their permissions. */
function UserRoles({ user }: { user: User }) {
  const roles = useRoles();
  const catalog = usePermissionCatalog();
  const update = useUpdateUser(user.id);
  const can = useCan();
  const current = user.roles.map((role) => role.id).sort();
  const [choice, setChoice] = useState<string[]>(current);
  const [seen, setSeen] = useState(current.join());
  if (seen !== current.join()) {
    setSeen(current.join());
    setChoice(current);
  }
  const dirty = [...choice].sort().join() !== current.join();
  const granted = new Set((roles.data ?? []).filter((role) => choice.includes(role.id)).flatMap((role) => role.permissions));

  return (
    <Grid gutter="xl">
      <Grid.Col span={{ base: 12, md: 5 }}>
        {roles.isError ? (
          <ErrorAlert error={roles.error} title="The roles could not be loaded" onRetry={() => void roles.refetch()} />
        ) : (
          <Checkbox.Group
            label="Roles"
            description="A user holds the permissions of every role they have. Tick roles to preview, then save."
            value={choice}
            onChange={(value) => {
              update.reset();
              setChoice(value);
            }}
          >
            <Stack gap="xs" mt="sm">
              {roles.isPending
                ? [0, 1].map((index) => <Skeleton key={index} h={62} radius="md" />)
                : roles.data.map((role) => (
                    <RoleChoice
                      key={role.id}
                      role={role}
                      selected={choice.includes(role.id)}
                      control={(label, description) => <Checkbox value={role.id} label={label} aria-label={role.name} description={description} />}
                    />
                  ))}
              {roles.data?.length === 0 && (
                <Text size="sm" c="dimmed">
                  There are no roles yet. Create one on the <Link to="/roles">Roles</Link> page.
                </Text>
              )}
            </Stack>
          </Checkbox.Group>
        )}
        <Stack gap="sm" mt="md">
          {update.error !== null && <ErrorAlert error={update.error} title="The roles were not changed" />}
          <Group gap="sm">
            <Button
              disabled={!dirty || !can('roles:assign')}
              loading={update.isPending}
              onClick={() =>
                update.mutate(
                  { roleIds: choice },
                  {
                    onSuccess: (saved) =>
                      notifications.show({ color: 'teal', title: 'Roles saved', message: `${saved.email} has ${saved.roles.length} role(s) now.` }),
                  },
                )
              }
            >
              Save roles
            </Button>
            <Button variant="default" disabled={!dirty || update.isPending} onClick={() => setChoice(current)}>
              Discard
            </Button>
          </Group>
        </Stack>
      </Grid.Col>
      <Grid.Col span={{ base: 12, md: 7 }}>
        <Stack gap="sm" aria-live="polite">
          <Title order={2} size="h4">
            What these roles grant
          </Title>
          <Text size="sm" c="dimmed">
            {dirty ? 'A preview: nothing changes until you save.' : 'What the user may do now.'}
          </Text>
          <PermissionGroups categories={catalog} granted={granted} compact idPrefix="preview" />
        </Stack>
      </Grid.Col>
    </Grid>
  );
}

function UserPermissions({ user }: { user: User }) {
  const permissions = useUserPermissions(user.id);
  return (
    <Stack gap="md">
      <Text size="sm" c="dimmed">
        {user.roles.length === 0
          ? 'This user has no role, so they hold no permissions.'
          : `Effective permissions: everything granted by ${user.roles.map((role) => role.name).join(', ')}.`}
      </Text>
      {permissions.isError ? (
        <ErrorAlert error={permissions.error} title="The permissions could not be loaded" onRetry={() => void permissions.refetch()} />
      ) : (
        <PermissionGroups categories={permissions.data?.categories} />
      )}
    </Stack>
  );
}

/** `/users/:id`: the Enabled switch, then Overview, Roles, Permissions and Activity. */
export function UserDetailPage() {
  const { id = '' } = useParams();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const can = useCan();
  const me = useSession().data?.user;
  const user = useUser(id);
  const remove = useDeleteUser(id);
  const [deleting, setDeleting] = useState(false);
  const tab: Tab = TABS.find((value) => value === params.get('tab')) ?? 'overview';
  const crumbs = [{ label: 'Users', to: '/users' }];

  if (user.isPending) {
    return (
      <Stack gap="lg" aria-busy>
        <PageHeader title={<Skeleton h={32} w={260} />} crumbs={[...crumbs, { label: 'Loading…' }]} />
        <Skeleton h={36} w={420} />
        <Skeleton h={110} />
      </Stack>
    );
  }
  if (user.isError) {
    const notFound = user.error instanceof ApiError && (user.error.status === 404 || user.error.status === 400);
    return (
      <>
        <PageHeader title={notFound ? 'User not found' : 'User'} crumbs={crumbs} />
        {notFound ? (
          <EmptyState
            icon={<IconUserOff size={24} />}
            title="This user does not exist"
            action={
              <Button component={Link} to="/users" variant="light">
                Back to users
              </Button>
            }
          >
            It may have been deleted. Check the link, or find the user in the list.
          </EmptyState>
        ) : (
          <ErrorAlert error={user.error} title="The user could not be loaded" onRetry={() => void user.refetch()} />
        )}
      </>
    );
  }

  const data = user.data;
  const self = data.id === me?.id;
  return (
    <>
      <PageHeader
        title={data.name || data.email}
        crumbs={[...crumbs, { label: data.name || data.email }]}
        badge={<StatusBadge enabled={data.enabled} />}
        description={data.email}
        actions={
          <Group gap="lg">
            <EnabledSwitch user={data} self={self} />
            <Button
              variant="light"
              color="red"
              leftSection={<IconTrash size={16} aria-hidden />}
              onClick={() => setDeleting(true)}
              disabled={!can('users:write') || self}
              title={self ? 'You cannot delete your own account' : undefined}
            >
              Delete
            </Button>
          </Group>
        }
      />
      <Tabs value={tab} onChange={(value) => setParams(value === 'overview' || value === null ? {} : { tab: value }, { replace: true })} keepMounted={false}>
        <Tabs.List mb="lg">
          <Tabs.Tab value="overview" leftSection={<IconListDetails size={16} aria-hidden />}>
            Overview
          </Tabs.Tab>
          <Tabs.Tab value="roles" leftSection={<IconShieldLock size={16} aria-hidden />}>
            Roles
          </Tabs.Tab>
          <Tabs.Tab value="permissions" leftSection={<IconKey size={16} aria-hidden />}>
            Permissions
          </Tabs.Tab>
          <Tabs.Tab value="activity" leftSection={<IconHistory size={16} aria-hidden />}>
            Activity
          </Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="overview">
          <UserOverview user={data} self={self} />
        </Tabs.Panel>
        <Tabs.Panel value="roles">
          <UserRoles user={data} />
        </Tabs.Panel>
        <Tabs.Panel value="permissions">
          <UserPermissions user={data} />
        </Tabs.Panel>
        <Tabs.Panel value="activity">
          {can('audit:read') ? (
            <ActivityList targetId={data.id} noun="user" />
          ) : (
            <Text c="dimmed">You need the audit:read permission to see the activity.</Text>
          )}
        </Tabs.Panel>
      </Tabs>
      <ConfirmDialog
        opened={deleting}
        title={`Delete ${data.email}?`}
        confirmLabel="Delete user"
        onCancel={() => setDeleting(false)}
        onConfirm={async () => {
          await remove.mutateAsync();
          notifications.show({ color: 'teal', title: 'User deleted', message: `${data.email} can no longer sign in.` });
          void navigate('/users', { replace: true });
        }}
      >
        <Text>Their sessions end and they can no longer sign in. This cannot be undone.</Text>
      </ConfirmDialog>
    </>
  );
}
