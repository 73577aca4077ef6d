import { Button, Group, Modal, Stack, Text, TextInput } from '@mantine/core';
import { useState, type ReactNode } from 'react';
import { ErrorAlert } from './error-alert';

export interface ConfirmDialogProps {
  readonly opened: boolean;
  readonly title: string;
  readonly children: ReactNode;
  readonly confirmLabel: string;
  readonly color?: string;
  readonly onCancel: () => void;
  /** The change; the dialog stays open showing the error if it fails. */
  readonly onConfirm: () => Promise<unknown>;
  /** Whether closing gives the focus back to what had it before; not when another dialog takes over. */
  readonly returnFocus?: boolean;
  /** Text the person must type before the change is allowed (a client's name when it is in use). */
  readonly typeToConfirm?: string | undefined;
}

/**
 * "Are you sure?" for changes that cannot be undone; the failure is shown in the dialog. The focus
 * starts on Cancel, so Enter pressed twice (once on the button that opened it) changes nothing.
 */
export function ConfirmDialog({
  opened,
  title,
  children,
  confirmLabel,
  color = 'red',
  onCancel,
  onConfirm,
  returnFocus = true,
  typeToConfirm,
}: ConfirmDialogProps) {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [typed, setTyped] = useState('');
  const cancel = () => {
    if (pending) return;
    setError(null);
    setTyped('');
    onCancel();
  };
  const matches = typeToConfirm === undefined || typed.trim() === typeToConfirm.trim();
  return (
    <Modal opened={opened} onClose={cancel} title={title} centered returnFocus={returnFocus}>
      <Stack>
        {typeof children === 'string' ? <Text>{children}</Text> : children}
        {typeToConfirm !== undefined && (
          <TextInput
            label={
              <>
                Type <strong>{typeToConfirm}</strong> to confirm
              </>
            }
            autoComplete="off"
            spellCheck={false}
            value={typed}
            onChange={(event) => setTyped(event.currentTarget.value)}
          />
        )}
        {error !== null && <ErrorAlert error={error} />}
        <Group justify="flex-end">
          <Button variant="default" onClick={cancel} disabled={pending} data-autofocus>
            Cancel
          </Button>
          <Button
            color={color}
            loading={pending}
            disabled={!matches}
            onClick={() => {
              setPending(true);
              setError(null);
              onConfirm().then(
                () => {
                  setPending(false);
                  setTyped('');
                },
                (failure: unknown) => {
                  setPending(false);
                  setError(failure);
                },
              );
            }}
          >
            {confirmLabel}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
