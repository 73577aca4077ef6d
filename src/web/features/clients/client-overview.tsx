import {
  Alert,
  Anchor,
  Button,
  Group,
  NativeSelect,
  SimpleGrid,
  Stack,
  Text,
  Textarea,
  TextInput,
  Tooltip,
  UnstyledButton,
  VisuallyHidden,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconRefresh } from '../../components/icons';
import { useRef, useState, type FormEvent, type Ref } from 'react';
import { Link } from 'react-router';
import { ConfirmDialog } from '../../components/confirm-dialog';
import { CopyAction } from '../../components/copy-action';
import { ErrorAlert } from '../../components/error-alert';
import { UnsavedChangesGuard } from '../../components/unsaved-changes-guard';
import { FactCard } from '../../components/fact-card';
import { RelativeTime } from '../../components/relative-time';
import { SectionCard } from '../../components/section-card';
import { StatusBadge } from '../../components/status-badge';
import { readDraft, useDraft } from '../../lib/drafts';
import { formErrors, nameAndDescriptionProblems } from '../../lib/forms';
import { formatExact } from '../../lib/time';
import type { ApiClient } from '../../lib/types';
import { useCan } from '../session/session';
import { AllowedNetworks } from './allowed-networks';
import { RateLimits } from './rate-limits';
import { FederatedCredentials } from './federated-credentials';
import { ClientKeys } from './client-keys';
import { RequireDpopSwitch } from './require-dpop';
import { useEndPreviousSecret, useRegenerateSecret, useUpdateClient } from './clients.api';
import { CredentialsDialog, type Credentials } from './credentials-dialog';
import { SecretExpiry } from './secret-expiry';
import { expiresAtOf, OVERLAP_CHOICES, SecretExpirySelect } from './secret-expiry-select';

/** The previous secret while a rotation's overlap lasts, with End now (confirmed; the focus starts on Cancel). */
function PreviousSecretCard({ client, disabled }: { client: ApiClient; disabled: boolean }) {
  const end = useEndPreviousSecret(client.id);
  const [confirming, setConfirming] = useState(false);
  const previous = client.previousSecret;
  if (previous === null) return null;
  return (
    <Alert color="yellow" title="Previous secret still works" mt="md">
      <Group justify="space-between" wrap="wrap" gap="sm">
        <Text size="sm">
          Previous secret (ending in <code>{previous.hint}</code>) valid until {formatExact(previous.expiresAt)}, last used{' '}
          <RelativeTime value={previous.lastUsedAt} fallback="not since the rotation" />.
        </Text>
        <Button variant="default" color="red" disabled={disabled} onClick={() => setConfirming(true)}>
          End now
        </Button>
      </Group>
      <ConfirmDialog
        opened={confirming}
        title="End the previous secret now?"
        confirmLabel="End now"
        onCancel={() => setConfirming(false)}
        onConfirm={async () => {
          await end.mutateAsync(undefined);
          setConfirming(false);
          notifications.show({ color: 'teal', title: 'Previous secret ended', message: 'It and its access tokens no longer work.' });
        }}
      >
        <Text>
          The previous secret of <strong>{client.name}</strong> stops working immediately, and so does every access token issued with it.
        </Text>
      </ConfirmDialog>
    </Alert>
  );
}

/** The masked secret: a button that regenerates it (with confirmation), as the product describes. */
function MaskedSecret({ client, disabled, onClick, ref }: { client: ApiClient; disabled: boolean; onClick: () => void; ref?: Ref<HTMLButtonElement> }) {
  return (
    <Tooltip label={disabled ? 'You need the clients:secrets permission' : 'Regenerate the secret'} withArrow>
      <UnstyledButton
        ref={ref}
        onClick={onClick}
        disabled={disabled}
        style={{
          display: 'flex',
          alignItems: 'center',
          justifyContent: 'space-between',
          gap: 8,
          width: '100%',
          padding: '6px 10px',
          border: '1px solid var(--mantine-color-default-border)',
          borderRadius: 'var(--mantine-radius-sm)',
          background: 'var(--mantine-color-default)',
          cursor: disabled ? 'not-allowed' : 'pointer',
          opacity: disabled ? 0.6 : 1,
        }}
      >
        {/* Named by hidden text rather than aria-label: a label must contain the text it shows. */}
        <VisuallyHidden>Regenerate client secret (the current secret ends in {client.secretHint})</VisuallyHidden>
        <Text ff="monospace" size="sm" aria-hidden>
          {'•'.repeat(24)}
          {client.secretHint}
        </Text>
        <IconRefresh size={16} aria-hidden />
      </UnstyledButton>
    </Tooltip>
  );
}

function DetailsForm({ client, disabled }: { client: ApiClient; disabled: boolean }) {
  const update = useUpdateClient(client.id);
  const stored = { name: client.name, description: client.description ?? '' };
  const draftKey = `client:${client.id}`;
  const [form, setForm] = useState(() => readDraft(draftKey, stored) ?? stored);
  const [problems, setProblems] = useState<{ name?: string; description?: string }>({});
  const [base, setBase] = useState(client);
  if (base.name !== client.name || base.description !== client.description) {
    // Someone (or this form) saved: show what is stored now.
    setBase(client);
    setForm({ name: client.name, description: client.description ?? '' });
  }
  const dirty = form.name.trim() !== client.name || form.description.trim() !== (client.description ?? '');
  useDraft(draftKey, stored, form, dirty);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const found = nameAndDescriptionProblems(form);
    setProblems(found);
    if (Object.keys(found).length > 0) return;
    const description = form.description.trim();
    update.mutate(
      {
        ...(form.name.trim() !== client.name ? { name: form.name.trim() } : {}),
        ...(description !== (client.description ?? '') ? { description: description === '' ? null : description } : {}),
      },
      { onSuccess: (saved) => notifications.show({ color: 'teal', title: 'Changes saved', message: `${saved.name} is up to date.` }) },
    );
  };
  const errors = formErrors(problems, update.error, ['name', 'description']);
  return (
    <SectionCard title="Details">
      <UnsavedChangesGuard dirty={dirty && !update.isPending} what="changes to the name or description" />
      <form onSubmit={submit} noValidate>
        <Stack gap="sm">
          <TextInput
            label="Name"
            required
            disabled={disabled}
            value={form.name}
            onChange={(event) => setForm({ ...form, name: event.currentTarget.value })}
            error={errors.of('name')}
          />
          <Textarea
            label="Description"
            description="The client’s purpose: who runs it and what it does with the Koios APIs"
            placeholder="No description yet"
            autosize
            minRows={2}
            maxRows={8}
            disabled={disabled}
            value={form.description}
            onChange={(event) => setForm({ ...form, description: event.currentTarget.value })}
            error={errors.of('description')}
          />
          {errors.unplaced && <ErrorAlert error={update.error} />}
          <Group justify="flex-end" gap="sm">
            <Button
              variant="default"
              disabled={!dirty || update.isPending}
              onClick={() => {
                setForm({ name: client.name, description: client.description ?? '' });
                setProblems({});
                update.reset();
              }}
            >
              Discard
            </Button>
            <Button type="submit" disabled={!dirty || disabled} loading={update.isPending}>
              Save changes
            </Button>
          </Group>
        </Stack>
      </form>
    </SectionCard>
  );
}

/** Overview: Last Activity, Status, Client Credentials, Description. */
export function ClientOverview({ client }: { client: ApiClient }) {
  const can = useCan();
  const regenerate = useRegenerateSecret(client.id);
  const [confirming, setConfirming] = useState(false);
  const [overlap, setOverlap] = useState('0');
  const [expiryDays, setExpiryDays] = useState('');
  const [credentials, setCredentials] = useState<Credentials | null>(null);
  const secretButtonRef = useRef<HTMLButtonElement>(null);
  const keepPreviousFor = Number(overlap);
  const keyClient = client.authMethod === 'private_key_jwt';

  return (
    <Stack gap="lg">
      <SimpleGrid cols={{ base: 1, sm: 3 }}>
        <FactCard title="Last Activity" footer={client.lastUsedAt === null ? 'It has not authenticated yet.' : formatExact(client.lastUsedAt)}>
          <RelativeTime value={client.lastUsedAt} fallback="Never" />
        </FactCard>
        <FactCard title="Status" footer={client.enabled ? 'It can authenticate and call the APIs.' : 'Every request is refused until it is enabled again.'}>
          <StatusBadge enabled={client.enabled} />
        </FactCard>
        <FactCard
          title="Role"
          footer={
            <Anchor component={Link} to="?tab=roles" size="sm">
              {client.role === null ? 'Assign a role' : 'Change the role'}
            </Anchor>
          }
        >
          {client.role?.name ?? 'No role'}
        </FactCard>
      </SimpleGrid>

      <SectionCard
        title="Client Credentials"
        description={
          <>
            External systems exchange {keyClient ? 'a signed assertion' : 'these'} at <code>/oauth/token</code> for an access token.
          </>
        }
      >
        <SimpleGrid cols={{ base: 1, md: 2 }} spacing="lg">
          <div>
            <Text size="sm" fw={500} mb={4}>
              Client ID
            </Text>
            <Group
              gap={4}
              wrap="nowrap"
              style={{ border: '1px solid var(--mantine-color-default-border)', borderRadius: 'var(--mantine-radius-sm)', padding: '2px 4px 2px 10px' }}
            >
              <Text ff="monospace" size="sm" style={{ flex: 1, overflowWrap: 'anywhere' }}>
                {client.id}
              </Text>
              <CopyAction value={client.id} label="Copy client ID" />
            </Group>
          </div>
          {keyClient ? (
            <div>
              <Text size="sm" fw={500} mb={4}>
                Authentication
              </Text>
              <Text size="sm">Private key JWT</Text>
              <Text size="xs" c="dimmed" mt={4}>
                No secret: the client signs a short-lived assertion with a private key only it holds (RFC 7523), checked against its keys below.
              </Text>
            </div>
          ) : (
            <div>
              <Text size="sm" fw={500} mb={4}>
                Client Secret
              </Text>
              <MaskedSecret ref={secretButtonRef} client={client} disabled={!can('clients:secrets')} onClick={() => setConfirming(true)} />
              <Text size="xs" c="dimmed" mt={4}>
                Shown only once, when created. Click it to regenerate a new one.{' '}
                {client.secretExpiresAt === null ? 'It never expires.' : <SecretExpiry expiresAt={client.secretExpiresAt} />}
              </Text>
            </div>
          )}
        </SimpleGrid>
        <RequireDpopSwitch client={client} disabled={!can('clients:update')} />
        {!keyClient && <PreviousSecretCard client={client} disabled={!can('clients:secrets')} />}
      </SectionCard>

      {keyClient && <ClientKeys client={client} disabled={!can('clients:secrets')} />}

      <FederatedCredentials client={client} disabled={!can('clients:secrets')} />

      <DetailsForm client={client} disabled={!can('clients:update')} />

      <AllowedNetworks client={client} disabled={!can('clients:update')} />

      <RateLimits client={client} disabled={!can('clients:update')} />

      <Text size="sm" c="dimmed">
        Created <RelativeTime value={client.createdAt} /> · last changed <RelativeTime value={client.updatedAt} />
      </Text>

      <ConfirmDialog
        opened={confirming}
        returnFocus={credentials === null}
        title="Regenerate the client secret?"
        confirmLabel="Regenerate secret"
        onCancel={() => setConfirming(false)}
        onConfirm={async () => {
          const result = await regenerate.mutateAsync({ keepPreviousFor, expiresAt: expiresAtOf(expiryDays) });
          setConfirming(false);
          setOverlap('0');
          setExpiryDays('');
          setCredentials({ clientId: result.client.id, clientSecret: result.clientSecret, clientName: result.client.name });
          notifications.show({
            color: 'teal',
            title: 'Client secret regenerated',
            message:
              result.client.previousSecret === null
                ? 'The old secret and its access tokens no longer work.'
                : `The old secret keeps working until ${formatExact(result.client.previousSecret.expiresAt)}.`,
          });
        }}
      >
        <Text>
          {keepPreviousFor === 0 ? (
            <>
              The current secret of <strong>{client.name}</strong> stops working immediately, and so does every access token issued with it. Systems using it
              will fail to authenticate until they are given the new secret.
            </>
          ) : (
            <>
              The current secret of <strong>{client.name}</strong> keeps working beside the new one for{' '}
              {OVERLAP_CHOICES.find((choice) => choice.value === overlap)?.label}; then it and its access tokens stop working.
            </>
          )}
        </Text>
        <NativeSelect
          label="Keep the previous secret working for"
          value={overlap}
          onChange={(event) => setOverlap(event.currentTarget.value)}
          data={OVERLAP_CHOICES}
        />
        <SecretExpirySelect label="New secret expires" choice={expiryDays} onChange={setExpiryDays} />
      </ConfirmDialog>
      <CredentialsDialog credentials={credentials} title="New client secret" onClose={() => setCredentials(null)} returnFocusTo={secretButtonRef} />
    </Stack>
  );
}
