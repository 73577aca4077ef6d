import { Checkbox, PasswordInput, Skeleton, Stack, Text, TextInput } from '@mantine/core';
import { nameProblem, PASSWORD_MIN_LENGTH } from '../../../shared/limits';
import { FormDialog } from '../../components/form-dialog';
import { emailProblem, useFormState } from '../../lib/forms';
import type { User } from '../../lib/types';
import { useRoles } from '../roles/roles.api';
import { useCan } from '../session/session';
import { useCreateUser } from './users.api';

const EMPTY = { email: '', name: '', password: '', roleIds: [] as string[] };
type Field = 'email' | 'name' | 'password' | 'roleIds';

/** A console user: Email, Name, an initial Password, and roles. */
export function CreateUserDialog({ opened, onClose, onCreated }: { opened: boolean; onClose: () => void; onCreated: (user: User) => void }) {
  const roles = useRoles();
  const can = useCan();
  const create = useCreateUser();
  const { form, set, errors, accept, reset, dialog } = useFormState(EMPTY, create, ['email', 'name', 'password', 'roleIds']);
  const submit = () => {
    const found: Partial<Record<Field, string>> = {};
    const email = emailProblem(form.email);
    if (email !== undefined) found.email = email;
    if (form.name.trim() !== '') {
      const problem = nameProblem(form.name);
      if (problem !== null) found.name = `Name ${problem}`;
    }
    if (form.password.length < PASSWORD_MIN_LENGTH) found.password = `Use at least ${PASSWORD_MIN_LENGTH} characters`;
    if (!accept(found)) return;
    create.mutate(
      { email: form.email.trim(), password: form.password, roleIds: form.roleIds, ...(form.name.trim() === '' ? {} : { name: form.name.trim() }) },
      {
        onSuccess: (user) => {
          reset();
          onCreated(user);
        },
      },
    );
  };
  return (
    <FormDialog opened={opened} title="Add user" onSubmit={submit} {...dialog(onClose)}>
      <TextInput
        label="Email"
        type="email"
        required
        data-autofocus
        autoComplete="off"
        value={form.email}
        onChange={(event) => set({ email: event.currentTarget.value })}
        error={errors.of('email')}
      />
      <TextInput
        label="Name"
        description="Optional; shown in the console and the audit log"
        value={form.name}
        onChange={(event) => set({ name: event.currentTarget.value })}
        error={errors.of('name')}
      />
      <PasswordInput
        label="Initial password"
        description={`At least ${PASSWORD_MIN_LENGTH} characters. Share it with the person safely.`}
        required
        autoComplete="new-password"
        value={form.password}
        onChange={(event) => set({ password: event.currentTarget.value })}
        error={errors.of('password')}
      />
      <Checkbox.Group
        label="Roles"
        description={can('roles:assign') ? 'A user holds the permissions of every role they have.' : 'You need the roles:assign permission to give roles.'}
        value={form.roleIds}
        onChange={(roleIds) => set({ roleIds })}
        error={errors.of('roleIds')}
      >
        <Stack gap={6} mt={6}>
          {roles.isPending && <Skeleton h={60} />}
          {roles.data?.map((role) => (
            <Checkbox key={role.id} value={role.id} label={role.name} disabled={!can('roles:assign')} />
          ))}
          {roles.isError && (
            <Text size="sm" c="red">
              The roles could not be loaded; add them later on the user’s page.
            </Text>
          )}
        </Stack>
      </Checkbox.Group>
    </FormDialog>
  );
}
