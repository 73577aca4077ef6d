import { Alert, Button, Checkbox, Group, Modal, Stack, Text, TextInput } from '@mantine/core';
import { IconAlertTriangle } from '../../components/icons';
import { useState, type RefObject } from 'react';
import { CopyAction } from '../../components/copy-action';

const MONOSPACE = { input: { fontFamily: 'var(--mantine-font-family-monospace)' } };

export interface Credentials {
  readonly clientId: string;
  readonly clientSecret: string;
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
  const [shownFor, setShownFor] = useState(credentials);
  if (shownFor !== credentials) {
    // A new secret needs a new acknowledgement.
    setShownFor(credentials);
    setCopied(false);
  }
  const close = () => {
    if (!copied) return;
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
      closeButtonProps={{ disabled: !copied, 'aria-label': 'Close' }}
    >
      {credentials !== null && (
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
            value={credentials.clientSecret}
            readOnly
            styles={MONOSPACE}
            data-autofocus
            onFocus={(event) => event.currentTarget.select()}
            rightSection={<CopyAction value={credentials.clientSecret} label="Copy client secret" />}
          />
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
