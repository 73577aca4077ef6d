import { Text, Textarea, TextInput } from '@mantine/core';
import { FormDialog } from '../../components/form-dialog';
import { nameAndDescriptionProblems, useFormState } from '../../lib/forms';
import type { Role } from '../../lib/types';
import { useCreateRole } from './roles.api';

/** "Create role": a name and a description; the permissions are chosen on the role's page next. */
export function CreateRoleDialog({ opened, onClose, onCreated }: { opened: boolean; onClose: () => void; onCreated: (role: Role) => void }) {
  const create = useCreateRole();
  const { form, set, errors, accept, reset, dialog } = useFormState({ name: '', description: '' }, create, ['name', 'description']);
  const submit = () => {
    if (!accept(nameAndDescriptionProblems(form))) return;
    create.mutate(
      { name: form.name.trim(), description: form.description.trim(), permissions: [] },
      {
        onSuccess: (role) => {
          reset();
          onCreated(role);
        },
      },
    );
  };
  return (
    <FormDialog opened={opened} title="Create role" onSubmit={submit} {...dialog(onClose)}>
      <TextInput
        label="Name"
        required
        data-autofocus
        value={form.name}
        onChange={(event) => set({ name: event.currentTarget.value })}
        error={errors.of('name')}
      />
      <Textarea
        label="Description"
        description="Optional: who this role is for"
        autosize
        minRows={2}
        value={form.description}
        onChange={(event) => set({ description: event.currentTarget.value })}
        error={errors.of('description')}
      />
      <Text size="sm" c="dimmed">
        You choose the role’s permissions next.
      </Text>
    </FormDialog>
  );
}
