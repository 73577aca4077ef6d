import { Button, Group, Modal, Stack, Text } from '@mantine/core';
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
}

/** "Are you sure?" for changes that cannot be undone; the failure is shown in the dialog. */
export function ConfirmDialog({ opened, title, children, confirmLabel, color = 'red', onCancel, onConfirm, returnFocus = true }: ConfirmDialogProps) {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const cancel = () => {
    if (pending) return;
    setError(null);
    onCancel();
  };
  return (
    <Modal opened={opened} onClose={cancel} title={title} centered returnFocus={returnFocus}>
      <Stack>
        {typeof children === 'string' ? <Text>{children}</Text> : children}
        {error !== null && <ErrorAlert error={error} />}
        <Group justify="flex-end">
          <Button variant="default" onClick={cancel} disabled={pending}>
            Cancel
          </Button>
          <Button
            color={color}
            loading={pending}
            data-autofocus
            onClick={() => {
              setPending(true);
              setError(null);
              onConfirm().then(
                () => setPending(false),
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
