import { Alert, Button, Card, Group, Stack, Text, Textarea, TextInput, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconLock, IconShieldOff } from '../../components/icons';
import { useState } from 'react';
import { useNavigate, useParams } from 'react-router';
import { DeleteButton } from '../../components/delete-button';
import { UnsavedChangesGuard } from '../../components/unsaved-changes-guard';
import { DetailPageFallback } from '../../components/detail-page-fallback';
import { ErrorAlert } from '../../components/error-alert';
import { PageHeader } from '../../components/page-header';
import { SectionCard } from '../../components/section-card';
import { fieldBinder, formErrors, nameAndDescriptionProblems } from '../../lib/forms';
import type { PermissionKey, Role } from '../../lib/types';
import { PermissionGroups } from '../permissions/permission-groups';
import { usePermissionCatalog } from '../permissions/permissions.api';
import { useCan } from '../session/session';
import { useDeleteRole, useRole, useUpdateRole } from './roles.api';

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().join() === [...b].sort().join();
}

/** The role editor: name, description and permission toggles by category; built-in roles only show. */
function RoleEditor({ role }: { role: Role }) {
  const can = useCan();
  const catalog = usePermissionCatalog();
  const update = useUpdateRole(role.id);
  const editable = !role.builtIn && can('roles:write');
  const [form, setForm] = useState({ name: role.name, description: role.description ?? '', permissions: role.permissions as string[] });
  const [base, setBase] = useState(role);
  if (base !== role && (base.name !== role.name || base.description !== role.description || !sameKeys(base.permissions, role.permissions))) {
    setBase(role);
    setForm({ name: role.name, description: role.description ?? '', permissions: role.permissions });
  }
  const [problems, setProblems] = useState<{ name?: string; description?: string }>({});
  const dirty = form.name.trim() !== role.name || form.description.trim() !== (role.description ?? '') || !sameKeys(form.permissions, role.permissions);

  const toggle = (key: PermissionKey, on: boolean) =>
    setForm((current) => ({ ...current, permissions: on ? [...new Set([...current.permissions, key])] : current.permissions.filter((k) => k !== key) }));
  const save = () => {
    const found = nameAndDescriptionProblems(form);
    setProblems(found);
    if (Object.keys(found).length > 0) return;
    update.mutate(
      {
        ...(form.name.trim() !== role.name ? { name: form.name.trim() } : {}),
        ...(form.description.trim() !== (role.description ?? '') ? { description: form.description.trim() } : {}),
        ...(!sameKeys(form.permissions, role.permissions) ? { permissions: form.permissions } : {}),
      },
      {
        onSuccess: (saved) =>
          notifications.show({
            color: 'teal',
            title: 'Role saved',
            message: `${saved.name} grants ${saved.permissions.length} ${saved.permissions.length === 1 ? 'permission' : 'permissions'}. Clients and users with it get them on their next request.`,
          }),
      },
    );
  };
  const errors = formErrors(problems, update.error, ['name', 'description']);
  const field = fieldBinder(form, setForm, errors);

  return (
    <Stack gap="lg">
      {role.builtIn && (
        <Alert color="gray" variant="light" icon={<IconLock aria-hidden />} title="Built-in role">
          Built-in roles are present from the first start and cannot be edited or deleted. Create a custom role for a different set of permissions.
        </Alert>
      )}
      {!role.builtIn && (
        <SectionCard title="Details">
          <Stack gap="sm">
            <TextInput label="Name" required disabled={!editable} {...field('name')} />
            <Textarea label="Description" autosize minRows={2} disabled={!editable} {...field('description')} />
          </Stack>
        </SectionCard>
      )}
      <UnsavedChangesGuard dirty={dirty && !update.isPending} what="changes to this role" />
      <Stack gap="sm" component="section" aria-labelledby="role-permissions-heading">
        <Title order={2} size="h4" id="role-permissions-heading">
          Permissions
        </Title>
        <Text size="sm" c="dimmed">
          {editable
            ? 'Turn on what this role may do. You can only grant permissions you hold yourself.'
            : role.builtIn
              ? `${role.name} grants these permissions.`
              : 'You need the roles:write permission to change this role.'}
        </Text>
        <PermissionGroups categories={catalog} granted={new Set(form.permissions)} onToggle={editable ? toggle : undefined} idPrefix="role" />
      </Stack>
      {editable && (
        <Card withBorder radius="md" padding="sm" style={{ position: 'sticky', bottom: 12, zIndex: 2 }}>
          <Stack gap="xs">
            {errors.unplaced && <ErrorAlert error={update.error} title="The role was not saved" />}
            <Group justify="space-between">
              <Text size="sm" c="dimmed" aria-live="polite">
                {dirty ? 'You have unsaved changes.' : 'All changes saved.'}
              </Text>
              <Group gap="sm">
                <Button
                  variant="default"
                  disabled={!dirty || update.isPending}
                  onClick={() => {
                    setForm({ name: role.name, description: role.description ?? '', permissions: role.permissions });
                    setProblems({});
                    update.reset();
                  }}
                >
                  Discard
                </Button>
                <Button onClick={save} disabled={!dirty} loading={update.isPending}>
                  Save changes
                </Button>
              </Group>
            </Group>
          </Stack>
        </Card>
      )}
    </Stack>
  );
}

const CRUMBS = [{ label: 'Roles', to: '/roles' }];

/** `/roles/:id`: a custom role's name, description and permissions, editable; a built-in one, shown. */
export function RoleDetailPage() {
  const { id = '' } = useParams();
  const navigate = useNavigate();
  const can = useCan();
  const role = useRole(id);
  const remove = useDeleteRole(id);

  if (role.data === undefined) {
    return (
      <DetailPageFallback
        query={role}
        noun="role"
        crumbs={CRUMBS}
        back={{ to: '/roles', label: 'Back to roles' }}
        icon={<IconShieldOff size={24} />}
        skeleton={{ blocks: [160, 240] }}
      />
    );
  }
  const data = role.data;
  return (
    <>
      <PageHeader
        title={data.name}
        crumbs={[...CRUMBS, { label: data.name }]}
        description={data.description || undefined}
        actions={
          data.builtIn ? undefined : (
            <DeleteButton
              label="Delete role"
              title={`Delete ${data.name}?`}
              confirmLabel="Delete role"
              disabled={!can('roles:write')}
              onConfirm={async () => {
                await remove.mutateAsync();
                notifications.show({ color: 'teal', title: 'Role deleted', message: `${data.name} was removed from every client and user that had it.` });
                void navigate('/roles', { replace: true });
              }}
            >
              API clients and users with this role lose its permissions on their next request. This cannot be undone.
            </DeleteButton>
          )
        }
      />
      <RoleEditor role={data} />
    </>
  );
}
