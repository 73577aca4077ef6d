import { Button, Text } from '@mantine/core';
import { useState, type ReactNode } from 'react';
import { ConfirmDialog } from './confirm-dialog';
import { IconTrash } from './icons';

export interface DeleteButtonProps {
  readonly label?: string;
  /** The question the confirmation asks: "Delete Billing export?". */
  readonly title: string;
  readonly confirmLabel: string;
  readonly disabled?: boolean;
  /** Why it is disabled, on hover. */
  readonly reason?: string | undefined;
  /** Deletes; the dialog shows the failure if it throws. */
  readonly onConfirm: () => Promise<unknown>;
  /** What deleting does, in the dialog. */
  readonly children: ReactNode;
  /** Text to type before Delete is allowed (the name of a client in use). */
  readonly typeToConfirm?: string | undefined;
}

/** A detail page's Delete: asks first, says what will happen, and shows a failure in the dialog. */
export function DeleteButton({ label = 'Delete', title, confirmLabel, disabled = false, reason, onConfirm, children, typeToConfirm }: DeleteButtonProps) {
  const [opened, setOpened] = useState(false);
  return (
    <>
      <Button variant="light" color="red" leftSection={<IconTrash size={16} aria-hidden />} onClick={() => setOpened(true)} disabled={disabled} title={reason}>
        {label}
      </Button>
      <ConfirmDialog
        opened={opened}
        title={title}
        confirmLabel={confirmLabel}
        typeToConfirm={typeToConfirm}
        onCancel={() => setOpened(false)}
        onConfirm={async () => {
          await onConfirm();
          setOpened(false);
        }}
      >
        <Text>{children}</Text>
      </ConfirmDialog>
    </>
  );
}
