import { NativeSelect, Textarea, TextInput } from '@mantine/core';
import { DESCRIPTION_MAX_LENGTH, NAME_MAX_LENGTH } from '../../../shared/limits';
import { FormDialog } from '../../components/form-dialog';
import { nameAndDescriptionProblems, useFormState } from '../../lib/forms';
import type { ApiClientWithSecret } from '../../lib/types';
import { useCan } from '../session/session';
import { useRoles } from '../roles/roles.api';
import { useCreateClient } from './clients.api';
import { expiresAtOf, SecretExpirySelect } from './secret-expiry';

/** The create dialog's "no role" choice. */
const NO_ROLE = '';

/** "Add API Client": Name (required), Description, Role and when the secret expires, then Create. */
export function CreateClientDialog({
  opened,
  onClose,
  onCreated,
  returnFocus = true,
}: {
  opened: boolean;
  onClose: () => void;
  onCreated: (created: ApiClientWithSecret) => void;
  /** False once the credentials dialog takes over: the focus must stay there. */
  returnFocus?: boolean;
}) {
  const create = useCreateClient();
  const can = useCan();
  const mayAssign = can('roles:assign') && can('roles:read');
  const roles = useRoles(opened && mayAssign);
  const { form, set, problems, setProblems, errors, accept, reset, dialog } = useFormState({ name: '', description: '', roleId: NO_ROLE, expiry: '' }, create, [
    'name',
    'description',
    'roleId',
    'secretExpiresAt',
  ]);

  const submit = () => {
    if (!accept(nameAndDescriptionProblems(form))) return;
    const description = form.description.trim();
    const secretExpiresAt = expiresAtOf(form.expiry);
    create.mutate(
      {
        name: form.name.trim(),
        ...(description === '' ? {} : { description }),
        ...(form.roleId === NO_ROLE ? {} : { roleId: form.roleId }),
        ...(secretExpiresAt === null ? {} : { secretExpiresAt }),
      },
      {
        onSuccess: (created) => {
          reset();
          onCreated(created);
        },
      },
    );
  };

  return (
    <FormDialog opened={opened} title="Add API Client" onSubmit={submit} {...dialog(onClose)} returnFocus={returnFocus}>
      <TextInput
        label="Name"
        description={`How people will recognise it, e.g. the system that uses it (up to ${NAME_MAX_LENGTH} characters)`}
        required
        data-autofocus
        value={form.name}
        onChange={(event) => {
          const name = event.currentTarget.value;
          set({ name });
          // Once shown, the name's problem follows each key, so it goes away as soon as it is fixed.
          if (problems.name !== undefined) setProblems({ ...problems, name: nameAndDescriptionProblems({ name, description: '' }).name });
        }}
        error={errors.of('name')}
      />
      <Textarea
        label="Description"
        description={
          form.description.length > DESCRIPTION_MAX_LENGTH * 0.9
            ? `${form.description.length} of ${DESCRIPTION_MAX_LENGTH} characters`
            : 'Optional: what the client is for'
        }
        autosize
        minRows={2}
        maxRows={6}
        value={form.description}
        onChange={(event) => set({ description: event.currentTarget.value })}
        error={errors.of('description')}
      />
      <NativeSelect
        label="Role"
        description={
          form.roleId === NO_ROLE
            ? 'With no role the client can get tokens but call nothing that needs a permission. You can give it a role later.'
            : 'What the client may do: the role’s permissions.'
        }
        disabled={!mayAssign}
        value={form.roleId}
        onChange={(event) => set({ roleId: event.currentTarget.value })}
        error={errors.of('roleId')}
        data={[
          { value: NO_ROLE, label: 'No role (calls nothing)' },
          ...(roles.data ?? []).map((role) => ({
            value: role.id,
            label: `${role.name} · ${role.permissions.length} ${role.permissions.length === 1 ? 'permission' : 'permissions'}`,
          })),
        ]}
      />
      <SecretExpirySelect label="Secret expires" choice={form.expiry} onChange={(expiry) => set({ expiry })} error={errors.of('secretExpiresAt')} />
    </FormDialog>
  );
}
