import { Anchor, Group } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconUnlink } from '../../components/icons';
import { Link, useNavigate, useParams } from 'react-router';
import { DeleteButton } from '../../components/delete-button';
import { DetailPageFallback } from '../../components/detail-page-fallback';
import { DetailTabs } from '../../components/detail-tabs';
import { EnabledSwitch } from '../../components/enabled-switch';
import { PageHeader } from '../../components/page-header';
import { usedRecently } from '../../lib/time';
import type { ApiClient } from '../../lib/types';
import { EffectivePermissions } from '../permissions/effective-permissions';
import { RoleAssignment } from '../roles/role-assignment';
import { useCan } from '../session/session';
import { ClientActivity } from './client-activity';
import { ClientOverview } from './client-overview';
import { useClient, useClientPermissions, useDeleteClient, useUpdateClient } from './clients.api';
import { LookalikeBadge } from '../../components/lookalike-badge';

const CRUMBS = [{ label: 'System' }, { label: 'Connections', to: '/system/connections' }];

/** Roles tab: one role or none; choosing previews what it grants (an API client has one role at a time). */
function ClientRoles({ client }: { client: ApiClient }) {
  const update = useUpdateClient(client.id);
  return (
    <RoleAssignment
      current={client.role === null ? [] : [client.role.id]}
      multiple={false}
      holder="the client"
      description="Select a role to preview what it grants, then save. An API client has one role at a time."
      saving={update.isPending}
      error={update.error}
      onEdit={update.reset}
      onSave={([roleId]) =>
        update.mutate(
          { roleId: roleId ?? null },
          {
            onSuccess: (saved) =>
              notifications.show({
                color: 'teal',
                title: 'Role saved',
                message: saved.role === null ? `${saved.name} has no role now.` : `${saved.name} now has the role ${saved.role.name}.`,
              }),
          },
        )
      }
    />
  );
}

function ClientPermissions({ client }: { client: ApiClient }) {
  const rolesTab = (text: string) => (
    <Anchor component={Link} to="?tab=roles" size="sm">
      {text}
    </Anchor>
  );
  return (
    <EffectivePermissions
      permissions={useClientPermissions(client.id)}
      note={
        !client.enabled ? (
          <>
            This client is disabled, so it may do nothing at all until it is enabled again, whatever its role grants
            {client.role === null ? (
              ''
            ) : (
              <>
                {' '}
                (the role <strong>{client.role.name}</strong>, below)
              </>
            )}
            .
          </>
        ) : client.role === null ? (
          <>This client has no role, so it holds no permissions. {rolesTab('Assign a role')} to grant some.</>
        ) : (
          <>
            Effective permissions from the role <strong>{client.role.name}</strong>. They change when the role or its permissions change:{' '}
            {rolesTab('change the role')}.
          </>
        )
      }
    />
  );
}

/** `/system/connections/:id`: header with the Enabled switch; tabs Overview, Roles, Permissions, Activity. */
export function ClientDetailPage() {
  const { id = '' } = useParams();
  const navigate = useNavigate();
  const can = useCan();
  const client = useClient(id);
  const update = useUpdateClient(id);
  const remove = useDeleteClient(id);

  if (client.data === undefined) {
    return (
      <DetailPageFallback
        query={client}
        noun="API client"
        crumbs={CRUMBS}
        back={{ to: '/system/connections', label: 'Back to API clients' }}
        icon={<IconUnlink size={24} />}
        skeleton={{ tabs: true, blocks: [110, 160] }}
      />
    );
  }

  const data = client.data;
  return (
    <>
      <PageHeader
        title={data.name}
        badge={<LookalikeBadge name={data.name} />}
        crumbs={[...CRUMBS, { label: data.name }]}
        actions={
          <Group gap="lg">
            <EnabledSwitch
              enabled={data.enabled}
              save={(enabled) => update.mutateAsync({ enabled })}
              disabled={!can('clients:update')}
              noun="client"
              saved={(saved, enabled) =>
                enabled
                  ? {
                      title: 'API client enabled',
                      message: `${saved.name} can authenticate again with its current ${saved.authMethod === 'private_key_jwt' ? 'keys' : 'secret'}.`,
                    }
                  : { title: 'API client disabled', message: `Every request from ${saved.name} is refused until you enable it.` }
              }
            />
            <DeleteButton
              title={`Delete ${data.name}?`}
              confirmLabel="Delete API client"
              typeToConfirm={usedRecently(data.lastUsedAt) ? data.name : undefined}
              disabled={!can('clients:delete')}
              onConfirm={async () => {
                await remove.mutateAsync();
                notifications.show({ color: 'teal', title: 'API client deleted', message: `${data.name} and its credentials no longer work.` });
                void navigate('/system/connections', { replace: true });
              }}
            >
              {usedRecently(data.lastUsedAt) ? 'It authenticated in the last 30 days: something may still depend on it. ' : ''}
              Its credentials and access tokens stop working immediately. This cannot be undone.
            </DeleteButton>
          </Group>
        }
      />
      <DetailTabs
        panels={{
          overview: <ClientOverview client={data} />,
          roles: <ClientRoles client={data} />,
          permissions: <ClientPermissions client={data} />,
          activity: <ClientActivity client={data} />,
        }}
      />
    </>
  );
}
