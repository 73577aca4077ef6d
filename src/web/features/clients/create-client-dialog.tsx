import { NativeSelect, Textarea, TextInput } from '@mantine/core';
import { useState } from 'react';
import { DESCRIPTION_MAX_LENGTH, NAME_MAX_LENGTH } from '../../../shared/limits';
import { FormDialog } from '../../components/form-dialog';
import { nameAndDescriptionProblems, useFormState } from '../../lib/forms';
import type { CreatedApiClient } from '../../lib/types';
import { useCan } from '../session/session';
import { useRoles } from '../roles/roles.api';
import { PublicKeyField, publicKeyFromText } from './client-keys';
import { useCreateClient } from './clients.api';
import { expiresAtOf, SecretExpirySelect } from './secret-expiry-select';

type AuthMethod = CreatedApiClient['client']['authMethod'];

/** The create dialog's "no role" choice. */
const NO_ROLE = '';

/** "Add API Client": Name (required), Description, Role, how it authenticates (a secret and when it expires, or its first public key), then Create. */
export function CreateClientDialog({
  opened,
  onClose,
  onCreated,
  returnFocus = true,
}: {
  opened: boolean;
  onClose: () => void;
  onCreated: (created: CreatedApiClient) => void;
  /** False once the credentials dialog takes over: the focus must stay there. */
  returnFocus?: boolean;
}) {
  const create = useCreateClient();
  const can = useCan();
  const mayAssign = can('roles:assign') && can('roles:read');
  const roles = useRoles(opened && mayAssign);
  const { form, set, problems, setProblems, errors, accept, reset, dialog } = useFormState(
    { name: '', description: '', roleId: NO_ROLE, expiry: '', authMethod: 'client_secret' as AuthMethod, publicKey: '' },
    create,
    ['name', 'description', 'roleId', 'secretExpiresAt', 'publicKeys'],
  );
  const [converting, setConverting] = useState(false);
  const keyClient = form.authMethod === 'private_key_jwt';

  const submit = async () => {
    create.reset();
    let publicKey: { jwk: object } | { problem: string } | null = null;
    if (keyClient) {
      // The pasted key is checked (and a private key refused) before anything is sent.
      setConverting(true);
      publicKey = await publicKeyFromText(form.publicKey).finally(() => setConverting(false));
    }
    const found = { ...nameAndDescriptionProblems(form), ...(publicKey !== null && 'problem' in publicKey ? { publicKeys: publicKey.problem } : {}) };
    if (!accept(found)) return;
    const description = form.description.trim();
    const secretExpiresAt = keyClient ? null : expiresAtOf(form.expiry);
    create.mutate(
      {
        name: form.name.trim(),
        ...(description === '' ? {} : { description }),
        ...(form.roleId === NO_ROLE ? {} : { roleId: form.roleId }),
        ...(secretExpiresAt === null ? {} : { secretExpiresAt }),
        ...(publicKey !== null && 'jwk' in publicKey ? { authMethod: 'private_key_jwt' as const, publicKeys: [publicKey.jwk] } : {}),
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
    <FormDialog
      opened={opened}
      title="Add API Client"
      onSubmit={() => void submit()}
      {...dialog(onClose)}
      pending={create.isPending || converting}
      returnFocus={returnFocus}
    >
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
      <NativeSelect
        label="Authentication"
        description={
          keyClient
            ? 'No secret: the client signs a short-lived assertion with a private key only it holds (RFC 7523); Koios keeps the public key.'
            : 'A secret shown once, after Create.'
        }
        value={form.authMethod}
        onChange={(event) => set({ authMethod: event.currentTarget.value as AuthMethod })}
        data={[
          { value: 'client_secret', label: 'Client secret' },
          { value: 'private_key_jwt', label: 'Private key JWT' },
        ]}
      />
      {keyClient ? (
        <PublicKeyField value={form.publicKey} onChange={(publicKey) => set({ publicKey })} error={errors.of('publicKeys')} />
      ) : (
        <SecretExpirySelect label="Secret expires" choice={form.expiry} onChange={(expiry) => set({ expiry })} error={errors.of('secretExpiresAt')} />
      )}
    </FormDialog>
  );
}
