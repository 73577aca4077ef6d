import { Button, Group, Modal, NativeSelect, Stack, Table, Text, Textarea, TextInput, VisuallyHidden } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { ConfirmDialog } from '../../components/confirm-dialog';
import { ErrorAlert } from '../../components/error-alert';
import { RelativeTime } from '../../components/relative-time';
import { SectionCard } from '../../components/section-card';
import { api } from '../../lib/api';
import { fieldBinder, formErrors } from '../../lib/forms';
import type { ApiClient, FederatedCredential, FederatedCredentialList } from '../../lib/types';

/** Where a workload's OIDC token comes from: each preset fills the issuer and the shape of its subject. */
const PRESETS = {
  github: { label: 'GitHub Actions', issuer: 'https://token.actions.githubusercontent.com', subject: 'repo:ORG/REPO:ref:refs/heads/BRANCH' },
  gitlab: { label: 'GitLab CI', issuer: 'https://gitlab.com', subject: 'project_path:GROUP/PROJECT:ref_type:branch:ref:BRANCH' },
  kubernetes: { label: 'Kubernetes service account', issuer: '', subject: 'system:serviceaccount:NAMESPACE:NAME' },
  oidc: { label: 'Other OIDC issuer', issuer: '', subject: '' },
} as const;
type Preset = keyof typeof PRESETS;

const FIELDS = ['name', 'issuer', 'audience', 'subject', 'conditions'] as const;
type Field = (typeof FIELDS)[number];
type Form = Record<Field, string>;

const credentialsKey = (clientId: string) => ['clients', 'one', clientId, 'federated-credentials'];

function useFederatedCredentials(clientId: string) {
  return useQuery({
    queryKey: credentialsKey(clientId),
    queryFn: ({ signal }) => api.get<FederatedCredentialList>(`/api/v1/clients/${clientId}/federated-credentials`, undefined, signal),
  });
}

function useCredentialChange<V, R>(clientId: string, change: (variables: V) => Promise<R>) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: change,
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: credentialsKey(clientId) });
      void queryClient.invalidateQueries({ queryKey: ['audit'] });
    },
  });
}

/** `claim=value`, one a line, as the conditions object; a line without `=` is reported, not dropped. */
function conditionsOf(text: string): { conditions: Record<string, string>; problem?: string } {
  const conditions: Record<string, string> = {};
  for (const line of text.split('\n').map((entry) => entry.trim())) {
    if (line === '') continue;
    const equals = line.indexOf('=');
    if (equals <= 0) return { conditions, problem: `"${line}" is not claim=value` };
    conditions[line.slice(0, equals).trim()] = line.slice(equals + 1).trim();
  }
  return { conditions };
}

function AddCredentialDialog({ client, opened, onClose }: { client: ApiClient; opened: boolean; onClose: () => void }) {
  const empty: Form = { name: '', issuer: PRESETS.github.issuer, audience: '', subject: PRESETS.github.subject, conditions: '' };
  const [preset, setPreset] = useState<Preset>('github');
  const [form, setForm] = useState<Form>(empty);
  const [checked, setChecked] = useState<Partial<Record<Field, string>>>({});
  const add = useCredentialChange(client.id, (body: object) => api.post<FederatedCredential>(`/api/v1/clients/${client.id}/federated-credentials`, body));
  const errors = formErrors(checked, add.error, FIELDS);
  const field = fieldBinder(form, setForm, errors);
  const close = () => {
    setForm(empty);
    setPreset('github');
    setChecked({});
    add.reset();
    onClose();
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const { conditions, problem } = conditionsOf(form.conditions);
    const local: Partial<Record<Field, string>> = {};
    for (const name of ['name', 'issuer', 'audience', 'subject'] as const) if (form[name].trim() === '') local[name] = 'Required';
    if (problem !== undefined) local.conditions = problem;
    setChecked(local);
    if (Object.keys(local).length > 0) return;
    add.mutate(
      { name: form.name.trim(), issuer: form.issuer.trim(), audience: form.audience.trim(), subject: form.subject.trim(), conditions },
      {
        onSuccess: (credential) => {
          notifications.show({
            color: 'teal',
            title: 'Federated credential added',
            message: `${credential.name} may now exchange its token for ${client.name}'s.`,
          });
          close();
        },
      },
    );
  };
  return (
    <Modal opened={opened} onClose={close} title="Add federated credential" centered size="lg">
      <form onSubmit={submit} noValidate>
        <Stack gap="sm">
          <NativeSelect
            label="Workload"
            description="Fills in the issuer and the shape of the subject; replace the capitals with yours."
            data={Object.entries(PRESETS).map(([value, { label }]) => ({ value, label }))}
            value={preset}
            onChange={(event) => {
              const next = event.currentTarget.value as Preset;
              setPreset(next);
              setForm({ ...form, issuer: PRESETS[next].issuer, subject: PRESETS[next].subject });
            }}
          />
          <TextInput label="Name" required {...field('name')} />
          <TextInput
            label="Issuer"
            required
            description={
              preset === 'kubernetes'
                ? "The cluster's service account issuer (kubectl get --raw /.well-known/openid-configuration)"
                : 'An https:// URL, exactly as the token’s iss'
            }
            {...field('issuer')}
          />
          <TextInput label="Audience" required description="What the workload asks its token for; the token’s aud must hold it" {...field('audience')} />
          <TextInput label="Subject" required description="The token’s sub exactly, or a prefix ending in *" {...field('subject')} />
          <Textarea
            label="Conditions"
            description="Optional: claim=value, one a line; each claim must have exactly this value"
            autosize
            minRows={2}
            {...field('conditions')}
          />
          {errors.unplaced && <ErrorAlert error={add.error} />}
          <Group justify="flex-end" gap="sm">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button type="submit" loading={add.isPending}>
              Add credential
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

/** "Federated credentials": the CI jobs and workloads that exchange their own OIDC token for this client's tokens, with no secret. */
export function FederatedCredentials({ client, disabled }: { client: ApiClient; disabled: boolean }) {
  const credentials = useFederatedCredentials(client.id);
  const [adding, setAdding] = useState(false);
  const [removing, setRemoving] = useState<FederatedCredential | null>(null);
  const remove = useCredentialChange(client.id, (id: string) => api.delete(`/api/v1/clients/${client.id}/federated-credentials/${id}`));
  const items = credentials.data?.items ?? [];
  return (
    <SectionCard
      title="Federated credentials"
      description="Workloads that exchange their own OIDC token (GitHub Actions, GitLab CI, Kubernetes) for this client's access tokens, with no secret."
    >
      <Stack gap="sm">
        {credentials.error !== null && <ErrorAlert error={credentials.error} />}
        {credentials.isSuccess && items.length === 0 && <Text size="sm">None yet: only the client secret works.</Text>}
        {items.length > 0 && (
          <Table.ScrollContainer minWidth={640}>
            <Table>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Name</Table.Th>
                  <Table.Th>Issuer</Table.Th>
                  <Table.Th>Subject</Table.Th>
                  <Table.Th>Last Used</Table.Th>
                  <Table.Th>
                    <VisuallyHidden>Actions</VisuallyHidden>
                  </Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {items.map((credential) => (
                  <Table.Tr key={credential.id}>
                    <Table.Td>{credential.name}</Table.Td>
                    <Table.Td style={{ overflowWrap: 'anywhere' }}>{credential.issuer}</Table.Td>
                    <Table.Td ff="monospace" style={{ overflowWrap: 'anywhere' }}>
                      {credential.subject}
                      {Object.keys(credential.conditions).length > 0 && (
                        <Text size="xs" c="dimmed">
                          {Object.entries(credential.conditions)
                            .map(([claim, value]) => `${claim}=${value}`)
                            .join(', ')}
                        </Text>
                      )}
                    </Table.Td>
                    <Table.Td>
                      <RelativeTime value={credential.lastUsedAt} fallback="Never" />
                    </Table.Td>
                    <Table.Td>
                      <Button
                        variant="subtle"
                        color="red"
                        size="xs"
                        disabled={disabled}
                        aria-label={`Remove ${credential.name}`}
                        onClick={() => setRemoving(credential)}
                      >
                        Remove
                      </Button>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
        <Group justify="flex-end">
          <Button variant="default" disabled={disabled} onClick={() => setAdding(true)}>
            Add federated credential
          </Button>
        </Group>
      </Stack>
      <AddCredentialDialog client={client} opened={adding} onClose={() => setAdding(false)} />
      <ConfirmDialog
        opened={removing !== null}
        title="Remove the federated credential?"
        confirmLabel="Remove"
        onCancel={() => setRemoving(null)}
        onConfirm={async () => {
          await remove.mutateAsync(removing!.id);
          notifications.show({ color: 'teal', title: 'Federated credential removed', message: 'Its access tokens no longer work.' });
          setRemoving(null);
        }}
      >
        <Text>
          Workloads matching <strong>{removing?.name}</strong> can no longer get tokens for {client.name}, and every access token they got stops working
          immediately.
        </Text>
      </ConfirmDialog>
    </SectionCard>
  );
}
