import { Button, Group, Modal, Stack } from '@mantine/core';
import type { ReactNode } from 'react';
import { ErrorAlert } from './error-alert';

export interface FormDialogProps {
  readonly opened: boolean;
  readonly title: string;
  /** Cancel, Escape, the close button or a click outside; ignored while the request runs. */
  readonly onCancel: () => void;
  /** Enter in a field, or the submit button. */
  readonly onSubmit: () => void;
  readonly pending: boolean;
  /** A failure none of the fields explains, shown above the buttons; null when there is none. */
  readonly error: unknown;
  readonly submitLabel?: string;
  /** Whether closing gives the focus back to what had it before; not when another dialog takes over. */
  readonly returnFocus?: boolean;
  /** The fields. */
  readonly children: ReactNode;
}

/** A dialog holding one form ("Add API Client", "Add user", "Create role"): its fields, what failed, Cancel and Create. */
export function FormDialog({ opened, title, onCancel, onSubmit, pending, error, submitLabel = 'Create', returnFocus = true, children }: FormDialogProps) {
  const cancel = () => {
    if (!pending) onCancel();
  };
  return (
    <Modal opened={opened} onClose={cancel} title={title} centered size="md" returnFocus={returnFocus}>
      <form
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          onSubmit();
        }}
      >
        <Stack gap="md">
          {children}
          {error !== null && error !== undefined && <ErrorAlert error={error} />}
          <Group justify="flex-end">
            <Button variant="default" onClick={cancel} disabled={pending}>
              Cancel
            </Button>
            <Button type="submit" loading={pending}>
              {submitLabel}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
