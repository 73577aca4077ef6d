import { Anchor, Button, Group, Skeleton, Stack, Switch, Tabs, Text } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconHistory, IconKey, IconListDetails, IconShieldLock, IconTrash, IconUnlink } from '../../components/icons';
import { useState } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { ConfirmDialog } from '../../components/confirm-dialog';
import { EmptyState } from '../../components/empty-state';
import { ErrorAlert } from '../../components/error-alert';
import { PageHeader } from '../../components/page-header';
import { StatusBadge } from '../../components/status-badge';
import { ApiError, errorMessage } from '../../lib/api';
import type { ApiClient } from '../../lib/types';
import { ActivityList } from '../audit/activity-list';
import { PermissionGroups } from '../permissions/permission-groups';
import { useCan } from '../session/session';
import { ClientOverview } from './client-overview';
import { ClientRoles } from './client-roles';
import { useClient, useClientPermissions, useDeleteClient, useUpdateClient } from './clients.api';

const TABS = ['overview', 'roles', 'permissions', 'activity'] as const;
type Tab = (typeof TABS)[number];

/** The enable/disable switch of the header: the first switch on the page (CONTRACT §8). */
function EnabledSwitch({ client }: { client: ApiClient }) {
  const update = useUpdateClient(client.id);
  const can = useCan();
  const shown = update.isPending && update.variables.enabled !== undefined ? update.variables.enabled : client.enabled;
  return (
    <Switch
      label="Enabled"
      size="md"
      color="teal"
      checked={shown}
      disabled={!can('clients:update') || update.isPending}
      onChange={(event) => {
        const enabled = event.currentTarget.checked;
        update.mutate(
          { enabled },
          {
            onSuccess: (saved) =>
              notifications.show({
                color: 'teal',
                title: enabled ? 'API client enabled' : 'API client disabled',
                message: enabled
                  ? `${saved.name} can authenticate again with its current secret.`
                  : `Every request from ${saved.name} is refused until you enable it.`,
              }),
            onError: (error) =>
              notifications.show({
                color: 'red',
                title: enabled ? 'Could not enable the client' : 'Could not disable the client',
                message: errorMessage(error),
              }),
          },
        );
      }}
    />
  );
}

function ClientPermissions({ client }: { client: ApiClient }) {
  const permissions = useClientPermissions(client.id);
  return (
    <Stack gap="md">
      <Text size="sm" c="dimmed">
        {client.role === null ? (
          <>
            This client has no role, so it holds no permissions.{' '}
            <Anchor component={Link} to="?tab=roles" size="sm">
              Assign a role
            </Anchor>{' '}
            to grant some.
          </>
        ) : (
          <>
            Effective permissions from the role <strong>{client.role.name}</strong>. They change when the role or its permissions change:{' '}
            <Anchor component={Link} to="?tab=roles" size="sm">
              change the role
            </Anchor>
            .
          </>
        )}
      </Text>
      {permissions.isError ? (
        <ErrorAlert error={permissions.error} title="The permissions could not be loaded" onRetry={() => void permissions.refetch()} />
      ) : (
        <PermissionGroups categories={permissions.data?.categories} />
      )}
    </Stack>
  );
}

/** `/system/connections/:id`: header with the Enabled switch; tabs Overview, Roles, Permissions, Activity. */
export function ClientDetailPage() {
  const { id = '' } = useParams();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const can = useCan();
  const client = useClient(id);
  const remove = useDeleteClient(id);
  const [deleting, setDeleting] = useState(false);
  const tab: Tab = TABS.find((value) => value === params.get('tab')) ?? 'overview';
  const crumbs = [{ label: 'System' }, { label: 'Connections', to: '/system/connections' }];

  if (client.isPending) {
    return (
      <Stack gap="lg" aria-busy>
        <PageHeader title={<Skeleton h={32} w={260} />} crumbs={[...crumbs, { label: 'Loading…' }]} />
        <Skeleton h={36} w={420} />
        <Skeleton h={110} />
        <Skeleton h={160} />
      </Stack>
    );
  }
  if (client.isError) {
    const notFound = client.error instanceof ApiError && (client.error.status === 404 || client.error.status === 400);
    return (
      <>
        <PageHeader title={notFound ? 'API client not found' : 'API client'} crumbs={crumbs} />
        {notFound ? (
          <EmptyState
            icon={<IconUnlink size={24} />}
            title="This API client does not exist"
            action={
              <Button component={Link} to="/system/connections" variant="light">
                Back to API clients
              </Button>
            }
          >
            It may have been deleted. Check the link, or find the client in the list.
          </EmptyState>
        ) : (
          <ErrorAlert error={client.error} title="The API client could not be loaded" onRetry={() => void client.refetch()} />
        )}
      </>
    );
  }

  const data = client.data;
  return (
    <>
      <PageHeader
        title={data.name}
        crumbs={[...crumbs, { label: data.name }]}
        badge={<StatusBadge enabled={data.enabled} />}
        description={data.description ?? undefined}
        actions={
          <Group gap="lg">
            <EnabledSwitch client={data} />
            <Button
              variant="light"
              color="red"
              leftSection={<IconTrash size={16} aria-hidden />}
              onClick={() => setDeleting(true)}
              disabled={!can('clients:delete')}
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
          <ClientOverview client={data} />
        </Tabs.Panel>
        <Tabs.Panel value="roles">
          <ClientRoles client={data} />
        </Tabs.Panel>
        <Tabs.Panel value="permissions">
          <ClientPermissions client={data} />
        </Tabs.Panel>
        <Tabs.Panel value="activity">
          {can('audit:read') ? (
            <ActivityList targetId={data.id} noun="client" />
          ) : (
            <Text c="dimmed">You need the audit:read permission to see the activity.</Text>
          )}
        </Tabs.Panel>
      </Tabs>

      <ConfirmDialog
        opened={deleting}
        title={`Delete ${data.name}?`}
        confirmLabel="Delete API client"
        onCancel={() => setDeleting(false)}
        onConfirm={async () => {
          await remove.mutateAsync();
          notifications.show({ color: 'teal', title: 'API client deleted', message: `${data.name} and its credentials no longer work.` });
          void navigate('/system/connections', { replace: true });
        }}
      >
        <Text>Its credentials and access tokens stop working immediately. This cannot be undone.</Text>
      </ConfirmDialog>
    </>
  );
}
