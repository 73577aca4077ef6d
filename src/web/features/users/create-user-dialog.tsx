import { Button, Checkbox, Group, Modal, PasswordInput, Skeleton, Stack, Text, TextInput } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { nameProblem, PASSWORD_MIN_LENGTH } from '../../../shared/limits';
import { ErrorAlert } from '../../components/error-alert';
import { ApiError } from '../../lib/api';
import type { User } from '../../lib/types';
import { useRoles } from '../roles/roles.api';
import { useCan } from '../session/session';
import { useCreateUser } from './users.api';

const EMPTY = { email: '', name: '', password: '', roleIds: [] as string[] };
type Field = 'email' | 'name' | 'password' | 'roleIds';

/** A console user: Email, Name, an initial Password, and roles. */
export function CreateUserDialog({ opened, onClose, onCreated }: { opened: boolean; onClose: () => void; onCreated: (user: User) => void }) {
  const [form, setForm] = useState(EMPTY);
  const [problems, setProblems] = useState<Partial<Record<Field, string>>>({});
  const roles = useRoles();
  const can = useCan();
  const create = useCreateUser();

  const cancel = () => {
    if (create.isPending) return;
    setForm(EMPTY);
    setProblems({});
    create.reset();
    onClose();
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const found: Partial<Record<Field, string>> = {};
    if (!/^[^\s@]+@[^\s@]+$/.test(form.email.trim())) found.email = 'Enter an email address';
    if (form.name.trim() !== '') {
      const problem = nameProblem(form.name);
      if (problem !== null) found.name = `Name ${problem}`;
    }
    if (form.password.length < PASSWORD_MIN_LENGTH) found.password = `Use at least ${PASSWORD_MIN_LENGTH} characters`;
    setProblems(found);
    if (Object.keys(found).length > 0) return;
    create.mutate(
      { email: form.email.trim(), password: form.password, roleIds: form.roleIds, ...(form.name.trim() === '' ? {} : { name: form.name.trim() }) },
      {
        onSuccess: (user) => {
          setForm(EMPTY);
          onCreated(user);
        },
      },
    );
  };
  const serverError = create.error instanceof ApiError ? create.error : null;
  const fieldError = (field: Field) => problems[field] ?? serverError?.fieldError(field);
  const placed = (['email', 'name', 'password', 'roleIds'] as const).some((field) => fieldError(field) !== undefined);

  return (
    <Modal opened={opened} onClose={cancel} title="Add user" centered size="md">
      <form onSubmit={submit} noValidate>
        <Stack gap="md">
          <TextInput
            label="Email"
            type="email"
            required
            data-autofocus
            autoComplete="off"
            value={form.email}
            onChange={(event) => setForm({ ...form, email: event.currentTarget.value })}
            error={fieldError('email')}
          />
          <TextInput
            label="Name"
            description="Optional; shown in the console and the audit log"
            value={form.name}
            onChange={(event) => setForm({ ...form, name: event.currentTarget.value })}
            error={fieldError('name')}
          />
          <PasswordInput
            label="Initial password"
            description={`At least ${PASSWORD_MIN_LENGTH} characters. Share it with the person safely.`}
            required
            autoComplete="new-password"
            value={form.password}
            onChange={(event) => setForm({ ...form, password: event.currentTarget.value })}
            error={fieldError('password')}
          />
          <Checkbox.Group
            label="Roles"
            description={can('roles:assign') ? 'A user holds the permissions of every role they have.' : 'You need the roles:assign permission to give roles.'}
            value={form.roleIds}
            onChange={(roleIds) => setForm({ ...form, roleIds })}
            error={fieldError('roleIds')}
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
          {create.error !== null && !placed && <ErrorAlert error={create.error} />}
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
