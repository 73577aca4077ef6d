import { Button, Group, Modal, Stack, Text } from '@mantine/core';
import { useEffect, useState, useSyncExternalStore } from 'react';
import { heldNavigation, holdNavigation } from '../routes/navigation';

/**
 * The forms on the page with unsaved changes, each by what it holds. Only the last hold set asks,
 * so with two forms on a page (a client's Details and Allowed networks) every guard asks about all
 * of them, and the one that holds the navigation names them all.
 */
const unsaved = new Map<symbol, string>();

/**
 * Asks before an unsaved form is left: another page, another tab of the page, Back, or closing the
 * browser tab. Going to sign-in because the session ended is never held (the form is kept as a draft).
 */
export function UnsavedChangesGuard({ dirty, what = 'changes' }: { dirty: boolean; what?: string }) {
  const [form] = useState(() => Symbol(what));
  useEffect(() => {
    if (!dirty) return;
    unsaved.set(form, what);
    return () => void unsaved.delete(form);
  }, [dirty, what, form]);
  useEffect(
    () => holdNavigation(form, (from, to) => unsaved.size > 0 && to.pathname !== '/login' && (from.pathname !== to.pathname || from.search !== to.search)),
    [form],
  );
  useEffect(() => {
    if (!dirty) return;
    const warn = (event: BeforeUnloadEvent) => event.preventDefault();
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [dirty]);
  const held = useSyncExternalStore(heldNavigation.subscribe, heldNavigation.current);
  const blocked = held?.by === form;
  return (
    <Modal opened={blocked} onClose={() => held?.reset()} title="Leave without saving?" centered>
      <Stack>
        <Text>Your {blocked ? [...new Set(unsaved.values())].join(' and ') : what} are not saved. Leaving now drops them.</Text>
        <Group justify="flex-end">
          <Button variant="default" data-autofocus onClick={() => held?.reset()}>
            Stay
          </Button>
          <Button color="red" onClick={() => held?.proceed()}>
            Leave without saving
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
