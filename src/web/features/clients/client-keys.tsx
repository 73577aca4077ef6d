import { Button, Group, Modal, Stack, Table, Text, Textarea, VisuallyHidden } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useState, type FormEvent } from 'react';
import { ConfirmDialog } from '../../components/confirm-dialog';
import { CopyAction } from '../../components/copy-action';
import { ErrorAlert } from '../../components/error-alert';
import { RelativeTime } from '../../components/relative-time';
import { SectionCard } from '../../components/section-card';
import { formErrors } from '../../lib/forms';
import type { ApiClient } from '../../lib/types';
import { useAddClientKey, useRemoveClientKey } from './clients.api';

type PublicKey = ApiClient['publicKeys'][number];

/**
 * A pasted JWK or PEM public key as a JWK, or what is wrong with it (a private key is refused here,
 * before anything is sent). jose is loaded only when a key is pasted, not with the console.
 */
export async function publicKeyFromText(text: string): Promise<{ jwk: object } | { problem: string }> {
  if (text.trim() === '') return { problem: 'Required' };
  const { publicJwkFromText } = await import('../../../shared/public-keys');
  const result = await publicJwkFromText(text);
  return 'problem' in result ? { problem: `The key ${result.problem}` } : result;
}

/** The textarea a public key is pasted into, as the create dialog and Add key both show it. */
export function PublicKeyField({ value, onChange, error }: { value: string; onChange: (value: string) => void; error: string | undefined }) {
  return (
    <Textarea
      label="Public key"
      description="A public JWK (JSON) or a PEM public key (-----BEGIN PUBLIC KEY-----): EdDSA, ES256, RS256 or PS256. Never the private key."
      required
      autosize
      minRows={4}
      maxRows={12}
      spellCheck={false}
      styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)' } }}
      value={value}
      onChange={(event) => onChange(event.currentTarget.value)}
      error={error}
    />
  );
}

function AddKeyDialog({ client, opened, onClose }: { client: ApiClient; opened: boolean; onClose: () => void }) {
  const [text, setText] = useState('');
  const [checked, setChecked] = useState<{ jwk?: string }>({});
  const [converting, setConverting] = useState(false);
  const add = useAddClientKey(client.id);
  const errors = formErrors(checked, add.error, ['jwk'] as const);
  const close = () => {
    setText('');
    setChecked({});
    add.reset();
    onClose();
  };
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    add.reset();
    setConverting(true);
    const result = await publicKeyFromText(text).finally(() => setConverting(false));
    if ('problem' in result) {
      setChecked({ jwk: result.problem });
      return;
    }
    setChecked({});
    add.mutate(result.jwk, {
      onSuccess: () => {
        notifications.show({ color: 'teal', title: 'Key added', message: `Assertions signed with it now authenticate ${client.name}.` });
        close();
      },
    });
  };
  return (
    <Modal opened={opened} onClose={close} title="Add key" centered size="lg">
      <form onSubmit={(event) => void submit(event)} noValidate>
        <Stack gap="sm">
          <PublicKeyField value={text} onChange={setText} error={errors.of('jwk')} />
          {errors.unplaced && <ErrorAlert error={add.error} />}
          <Group justify="flex-end" gap="sm">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button type="submit" loading={converting || add.isPending}>
              Add key
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

/** "Keys": the public keys a private_key_jwt client signs its assertions with (RFC 7523 §2.2). */
export function ClientKeys({ client, disabled }: { client: ApiClient; disabled: boolean }) {
  const [adding, setAdding] = useState(false);
  const [removing, setRemoving] = useState<PublicKey | null>(null);
  const remove = useRemoveClientKey(client.id);
  const keys = client.publicKeys;
  return (
    <SectionCard
      title="Keys"
      description="The public keys whose private halves sign this client's assertions. To rotate, add the new key, move the client to it, then remove the old one."
    >
      <Stack gap="sm">
        {keys.length === 0 && <Text size="sm">No keys: the client cannot authenticate until one is added.</Text>}
        {keys.length > 0 && (
          <Table.ScrollContainer minWidth={640}>
            <Table>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Key ID</Table.Th>
                  <Table.Th>Thumbprint</Table.Th>
                  <Table.Th>Algorithm</Table.Th>
                  <Table.Th>Added</Table.Th>
                  <Table.Th>Last Used</Table.Th>
                  <Table.Th>
                    <VisuallyHidden>Actions</VisuallyHidden>
                  </Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {keys.map((key) => (
                  <Table.Tr key={key.kid}>
                    <Table.Td ff="monospace" style={{ overflowWrap: 'anywhere' }}>
                      {key.kid}
                    </Table.Td>
                    <Table.Td>
                      <Group gap={4} wrap="nowrap">
                        <Text ff="monospace" size="sm" title={key.thumbprint}>
                          {key.thumbprint.slice(0, 12)}…
                        </Text>
                        <CopyAction value={key.thumbprint} label={`Copy the thumbprint of ${key.kid}`} size="sm" />
                      </Group>
                    </Table.Td>
                    <Table.Td>{key.alg}</Table.Td>
                    <Table.Td>
                      <RelativeTime value={key.addedAt} />
                    </Table.Td>
                    <Table.Td>
                      <RelativeTime value={key.lastUsedAt} fallback="Never" />
                    </Table.Td>
                    <Table.Td>
                      <Button variant="subtle" color="red" size="xs" disabled={disabled} aria-label={`Remove ${key.kid}`} onClick={() => setRemoving(key)}>
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
            Add key
          </Button>
        </Group>
      </Stack>
      <AddKeyDialog client={client} opened={adding} onClose={() => setAdding(false)} />
      <ConfirmDialog
        opened={removing !== null}
        title="Remove the key?"
        confirmLabel="Remove"
        onCancel={() => setRemoving(null)}
        onConfirm={async () => {
          await remove.mutateAsync(removing!.kid);
          notifications.show({ color: 'teal', title: 'Key removed', message: 'Its assertions and the tokens it authenticated no longer work.' });
          setRemoving(null);
        }}
      >
        <Text>
          Assertions signed with <code>{removing?.kid}</code> no longer authenticate {client.name}, and every access token it authenticated stops working
          immediately.
        </Text>
      </ConfirmDialog>
    </SectionCard>
  );
}
