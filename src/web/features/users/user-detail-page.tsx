import { Button, Group, PasswordInput, SimpleGrid, Stack, TextInput } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconUserOff } from '../../components/icons';
import { useState, type FormEvent } from 'react';
import { useNavigate, useParams } from 'react-router';
import { nameProblem, PASSWORD_MIN_LENGTH } from '../../../shared/limits';
import { DeleteButton } from '../../components/delete-button';
import { UnsavedChangesGuard } from '../../components/unsaved-changes-guard';
import { DetailPageFallback } from '../../components/detail-page-fallback';
import { DetailTabs } from '../../components/detail-tabs';
import { EnabledSwitch } from '../../components/enabled-switch';
import { ErrorAlert } from '../../components/error-alert';
import { FactCard } from '../../components/fact-card';
import { PageHeader } from '../../components/page-header';
import { SectionCard } from '../../components/section-card';
import { RelativeTime } from '../../components/relative-time';
import { StatusBadge } from '../../components/status-badge';
import { emailProblem, fieldBinder, formErrors } from '../../lib/forms';
import type { User } from '../../lib/types';
import { ActivityList } from '../audit/activity-list';
import { EffectivePermissions } from '../permissions/effective-permissions';
import { RoleAssignment } from '../roles/role-assignment';
import { useCan, useSession } from '../session/session';
import { useDeleteUser, useUpdateUser, useUser, useUserPermissions } from './users.api';

const CRUMBS = [{ label: 'Users', to: '/users' }];

function UserOverview({ user, self }: { user: User; self: boolean }) {
  const can = useCan();
  const update = useUpdateUser(user.id);
  const password = useUpdateUser(user.id);
  const [form, setForm] = useState({ name: user.name, email: user.email, currentPassword: '' });
  const [base, setBase] = useState(user);
  if (base.name !== user.name || base.email !== user.email) {
    setBase(user);
    setForm({ name: user.name, email: user.email, currentPassword: '' });
  }
  const [problems, setProblems] = useState<{ name?: string; email?: string; currentPassword?: string }>({});
  const [newPassword, setNewPassword] = useState('');
  const [currentPassword, setCurrentPassword] = useState('');
  const [passwordProblem, setPasswordProblem] = useState<string | undefined>();
  const [currentPasswordProblem, setCurrentPasswordProblem] = useState<string | undefined>();
  const editable = can('users:write') || self;
  const dirty = form.name.trim() !== user.name || form.email.trim() !== user.email;
  // Your own email is a way into your account: changing it takes your current password, as the API asks.
  const emailChanged = form.email.trim().toLowerCase() !== user.email.toLowerCase();
  const asksCurrentPassword = self && emailChanged;

  const save = (event: FormEvent) => {
    event.preventDefault();
    const found: typeof problems = {};
    const name = nameProblem(form.name);
    if (name !== null) found.name = `Name ${name}`;
    const email = emailProblem(form.email);
    if (email !== undefined) found.email = email;
    if (asksCurrentPassword && form.currentPassword === '') found.currentPassword = 'Enter your current password to change your email';
    setProblems(found);
    if (Object.keys(found).length > 0) return;
    update.mutate(
      {
        ...(form.name.trim() !== user.name ? { name: form.name.trim() } : {}),
        ...(form.email.trim() !== user.email ? { email: form.email.trim() } : {}),
        ...(asksCurrentPassword ? { currentPassword: form.currentPassword } : {}),
      },
      {
        onSuccess: () => {
          setForm((current) => ({ ...current, currentPassword: '' }));
          notifications.show({ color: 'teal', title: 'Changes saved', message: 'The user’s details are up to date.' });
        },
      },
    );
  };
  const setPassword = (event: FormEvent) => {
    event.preventDefault();
    if (newPassword.length < PASSWORD_MIN_LENGTH) {
      setPasswordProblem(`Use at least ${PASSWORD_MIN_LENGTH} characters`);
      return;
    }
    if (self && currentPassword === '') {
      setPasswordProblem(undefined);
      setCurrentPasswordProblem('Enter your current password');
      return;
    }
    setPasswordProblem(undefined);
    setCurrentPasswordProblem(undefined);
    password.mutate(
      { password: newPassword, ...(self ? { currentPassword } : {}) },
      {
        onSuccess: () => {
          setNewPassword('');
          setCurrentPassword('');
          // A password change ends every session of the user, this one too: say so on the sign-in page.
          if (self) window.location.assign('/login?reason=password-changed');
          else notifications.show({ color: 'teal', title: 'Password changed', message: `${user.email} signs in with the new password from now on.` });
        },
      },
    );
  };
  const errors = formErrors(problems, update.error, ['name', 'email', 'currentPassword']);
  const field = fieldBinder(form, setForm, errors);
  const passwordErrors = formErrors({ password: passwordProblem, currentPassword: currentPasswordProblem }, password.error, ['password', 'currentPassword']);

  return (
    <Stack gap="lg">
      <SimpleGrid cols={{ base: 1, sm: 3 }}>
        <FactCard title="Last Sign-in">
          <RelativeTime value={user.lastLoginAt} />
        </FactCard>
        <FactCard title="Status">
          <StatusBadge enabled={user.enabled} />
        </FactCard>
        <FactCard title="Created">
          <RelativeTime value={user.createdAt} />
        </FactCard>
      </SimpleGrid>
      <SimpleGrid cols={{ base: 1, md: 2 }} spacing="lg">
        <SectionCard title="Details">
          <form onSubmit={save} noValidate>
            <Stack gap="sm">
              <UnsavedChangesGuard dirty={dirty && !update.isPending} what="changes to the name or email" />
              <TextInput label="Name" required disabled={!editable} {...field('name')} />
              <TextInput label="Email" type="email" required disabled={!editable} {...field('email')} />
              {asksCurrentPassword && (
                <PasswordInput
                  label="Current password"
                  description="Changing your own email takes your current password"
                  autoComplete="current-password"
                  required
                  {...field('currentPassword')}
                />
              )}
              {errors.unplaced && <ErrorAlert error={update.error} />}
              <Group justify="flex-end">
                <Button type="submit" disabled={!dirty} loading={update.isPending}>
                  Save changes
                </Button>
              </Group>
            </Stack>
          </form>
        </SectionCard>
        <SectionCard title="Password">
          <form onSubmit={setPassword} noValidate>
            <Stack gap="sm">
              {self && (
                <PasswordInput
                  label="Current password"
                  autoComplete="current-password"
                  required
                  value={currentPassword}
                  onChange={(event) => setCurrentPassword(event.currentTarget.value)}
                  error={passwordErrors.of('currentPassword')}
                />
              )}
              <PasswordInput
                label="New password"
                description={`At least ${PASSWORD_MIN_LENGTH} characters`}
                autoComplete="new-password"
                disabled={!editable}
                value={newPassword}
                onChange={(event) => setNewPassword(event.currentTarget.value)}
                error={passwordErrors.of('password')}
              />
              {passwordErrors.unplaced && <ErrorAlert error={password.error} />}
              <Group justify="flex-end">
                <Button type="submit" variant="default" disabled={newPassword === ''} loading={password.isPending}>
                  Set password
                </Button>
              </Group>
            </Stack>
          </form>
        </SectionCard>
      </SimpleGrid>
    </Stack>
  );
}

/** Roles tab: several roles, as checkboxes; the preview shows the union of their permissions. */
function UserRoles({ user }: { user: User }) {
  const update = useUpdateUser(user.id);
  return (
    <RoleAssignment
      current={user.roles.map((role) => role.id)}
      multiple
      holder="the user"
      description="A user holds the permissions of every role they have. Tick roles to preview, then save."
      saving={update.isPending}
      error={update.error}
      onEdit={update.reset}
      onSave={(roleIds) =>
        update.mutate(
          { roleIds },
          {
            onSuccess: (saved) =>
              notifications.show({
                color: 'teal',
                title: 'Roles saved',
                message: `${saved.email} has ${saved.roles.length === 1 ? 'one role' : `${saved.roles.length} roles`} now.`,
              }),
          },
        )
      }
    />
  );
}

function UserPermissions({ user }: { user: User }) {
  return (
    <EffectivePermissions
      permissions={useUserPermissions(user.id)}
      note={
        user.roles.length === 0
          ? 'This user has no role, so they hold no permissions.'
          : `Effective permissions: everything granted by ${user.roles.map((role) => role.name).join(', ')}.`
      }
    />
  );
}

/** `/users/:id`: the Enabled switch, then Overview, Roles, Permissions and Activity. */
export function UserDetailPage() {
  const { id = '' } = useParams();
  const navigate = useNavigate();
  const can = useCan();
  const me = useSession().data?.user;
  const user = useUser(id);
  const update = useUpdateUser(id);
  const remove = useDeleteUser(id);

  if (user.data === undefined) {
    return (
      <DetailPageFallback
        query={user}
        noun="user"
        crumbs={CRUMBS}
        back={{ to: '/users', label: 'Back to users' }}
        icon={<IconUserOff size={24} />}
        skeleton={{ tabs: true, blocks: [110, 240] }}
      />
    );
  }

  const data = user.data;
  const self = data.id === me?.id;
  return (
    <>
      <PageHeader
        title={data.name || data.email}
        crumbs={[...CRUMBS, { label: data.name || data.email }]}
        badge={<StatusBadge enabled={data.enabled} />}
        description={data.email}
        actions={
          <Group gap="lg">
            <EnabledSwitch
              enabled={data.enabled}
              save={(enabled) => update.mutateAsync({ enabled })}
              disabled={!can('users:write') || self}
              reason={self ? 'You cannot disable yourself' : undefined}
              noun="user"
              saved={(saved, enabled) =>
                enabled
                  ? { title: 'User enabled', message: `${saved.email} can sign in again.` }
                  : { title: 'User disabled', message: `${saved.email} can no longer sign in, and their sessions have ended.` }
              }
            />
            <DeleteButton
              title={`Delete ${data.email}?`}
              confirmLabel="Delete user"
              disabled={!can('users:write') || self}
              reason={self ? 'You cannot delete your own account' : undefined}
              onConfirm={async () => {
                await remove.mutateAsync();
                notifications.show({ color: 'teal', title: 'User deleted', message: `${data.email} can no longer sign in.` });
                void navigate('/users', { replace: true });
              }}
            >
              Their sessions end and they can no longer sign in. This cannot be undone.
            </DeleteButton>
          </Group>
        }
      />
      <DetailTabs
        panels={{
          overview: <UserOverview user={data} self={self} />,
          roles: <UserRoles user={data} />,
          permissions: <UserPermissions user={data} />,
          activity: <ActivityList targetId={data.id} noun="user" />,
        }}
      />
    </>
  );
}
