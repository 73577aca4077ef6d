import { Alert, Button, Checkbox, Code, Group, Modal, Stack, Text, TextInput } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { IconAlertTriangle, IconDownload } from '../../components/icons';
import { useState, type RefObject } from 'react';
import { CopyAction } from '../../components/copy-action';
import { api } from '../../lib/api';
import { download } from '../../lib/download';

/** The token endpoint as the server announces it (RFC 8414), so the example works behind a proxy too. */
function useTokenUrl(): string {
  const metadata = useQuery({
    queryKey: ['oauth-metadata'],
    queryFn: () => api.get<{ token_endpoint: string }>('/.well-known/oauth-authorization-server'),
    staleTime: Infinity,
    retry: false,
  });
  return metadata.data?.token_endpoint ?? `${window.location.origin}/oauth/token`;
}

/** A shell word in single quotes, whatever it holds. */
const quoted = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

/** The ready-to-run request for a token with these credentials (client_secret_post). */
export function curlExample(tokenUrl: string, clientId: string, clientSecret: string): string {
  return [
    `curl -X POST ${quoted(tokenUrl)} \\`,
    `  -d grant_type=client_credentials \\`,
    `  --data-urlencode client_id=${quoted(clientId)} \\`,
    `  --data-urlencode client_secret=${quoted(clientSecret)}`,
  ].join('\n');
}

/** The credentials as a .env file for the system that will use them. */
export function envFile(tokenUrl: string, credentials: Credentials & { clientSecret: string }): string {
  return [
    `# Koios API client: ${credentials.clientName.replace(/[\r\n]+/g, ' ')}`,
    `KOIOS_TOKEN_URL=${tokenUrl}`,
    `KOIOS_CLIENT_ID=${credentials.clientId}`,
    `KOIOS_CLIENT_SECRET=${credentials.clientSecret}`,
    '',
  ].join('\n');
}

/** A file name from the client's name: "Billing export" → "billing-export.env". */
const fileName = (clientName: string) =>
  `${
    clientName
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'api-client'
  }.env`;

const MONOSPACE = { input: { fontFamily: 'var(--mantine-font-family-monospace)' } };

export interface Credentials {
  readonly clientId: string;
  /** Null for a private_key_jwt client, which has no secret. */
  readonly clientSecret: string | null;
  readonly clientName: string;
}

export interface CredentialsDialogProps {
  /** Null while there is nothing to show. */
  readonly credentials: Credentials | null;
  readonly title: string;
  readonly onClose: () => void;
  /**
   * Where the keyboard focus goes after Done (the button that led here). This dialog opens as
   * another closes, so what had the focus when it opened is gone by then.
   */
  readonly returnFocusTo?: RefObject<HTMLElement | null>;
}

/**
 * The one time a client secret is shown (only its hash is stored). The dialog cannot be dismissed
 * by accident — no click outside, no Escape, the close button disabled — until the person says
 * they have copied the secret.
 */
export function CredentialsDialog({ credentials, title, onClose, returnFocusTo }: CredentialsDialogProps) {
  const [copied, setCopied] = useState(false);
  const tokenUrl = useTokenUrl();
  // A key client has no secret to copy, so nothing needs acknowledging.
  const secret = credentials?.clientSecret ?? null;
  const acknowledged = copied || secret === null;
  const [shownFor, setShownFor] = useState(credentials);
  if (shownFor !== credentials) {
    // A new secret needs a new acknowledgement.
    setShownFor(credentials);
    setCopied(false);
  }
  const close = () => {
    if (!acknowledged) return;
    onClose();
    returnFocusTo?.current?.focus();
  };

  return (
    <Modal
      opened={credentials !== null}
      onClose={close}
      title={title}
      size="lg"
      centered
      closeOnClickOutside={false}
      closeOnEscape={false}
      returnFocus={returnFocusTo === undefined}
      closeButtonProps={{ disabled: !acknowledged, 'aria-label': 'Close' }}
    >
      {credentials !== null && credentials.clientSecret === null && (
        <Stack gap="md">
          <Text size="sm">
            <strong>{credentials.clientName}</strong> has no secret: it authenticates at the token endpoint (<code>{tokenUrl}</code>, grant type{' '}
            <code>client_credentials</code>) with a JWT it signs with its private key (RFC 7523 §2.2): <code>iss</code> and <code>sub</code> its client ID,{' '}
            <code>aud</code> the token endpoint, a short <code>exp</code> and a fresh <code>jti</code>, sent as <code>client_assertion</code> with{' '}
            <code>client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer</code>.
          </Text>
          <TextInput
            label="Client ID"
            value={credentials.clientId}
            readOnly
            styles={MONOSPACE}
            data-autofocus
            onFocus={(event) => event.currentTarget.select()}
            rightSection={<CopyAction value={credentials.clientId} label="Copy client ID" />}
          />
          <Group justify="flex-end">
            <Button onClick={close}>Done</Button>
          </Group>
        </Stack>
      )}
      {credentials !== null && secret !== null && (
        <Stack gap="md">
          <Text size="sm">
            Use these credentials for <strong>{credentials.clientName}</strong> at the token endpoint (<code>/oauth/token</code>, grant type{' '}
            <code>client_credentials</code>).
          </Text>
          <Alert color="orange" variant="light" icon={<IconAlertTriangle aria-hidden />} title="Copy the secret now">
            The client secret will not be shown again: only a hash of it is stored. If it is lost, regenerate it from the client’s page, which stops the old one
            from working.
          </Alert>
          <TextInput
            label="Client ID"
            value={credentials.clientId}
            readOnly
            styles={MONOSPACE}
            onFocus={(event) => event.currentTarget.select()}
            rightSection={<CopyAction value={credentials.clientId} label="Copy client ID" />}
          />
          <TextInput
            label="Client Secret"
            value={secret}
            readOnly
            styles={MONOSPACE}
            data-autofocus
            onFocus={(event) => event.currentTarget.select()}
            rightSection={<CopyAction value={secret} label="Copy client secret" />}
          />
          <Stack gap={4}>
            <Group justify="space-between" align="flex-end" wrap="nowrap">
              <Text size="sm" fw={500} id="token-example-label">
                Get a token
              </Text>
              <CopyAction value={curlExample(tokenUrl, credentials.clientId, secret)} label="Copy the curl example" />
            </Group>
            <Code block aria-labelledby="token-example-label" style={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}>
              {curlExample(tokenUrl, credentials.clientId, secret)}
            </Code>
          </Stack>
          <Group>
            <Button
              variant="default"
              leftSection={<IconDownload size={16} aria-hidden />}
              onClick={() => download(fileName(credentials.clientName), envFile(tokenUrl, { ...credentials, clientSecret: secret }))}
            >
              Download .env
            </Button>
          </Group>
          <Checkbox label="I have copied the secret" checked={copied} onChange={(event) => setCopied(event.currentTarget.checked)} />
          <Group justify="flex-end">
            <Button onClick={close} disabled={!copied}>
              Done
            </Button>
          </Group>
        </Stack>
      )}
    </Modal>
  );
}
