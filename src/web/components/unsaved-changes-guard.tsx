import { Button, Group, Modal, Stack, Text } from '@mantine/core';
import { useEffect, useState } from 'react';
import { useBlocker } from 'react-router';

/**
 * The forms on the page with unsaved changes, each by what it holds. The router heeds only the last
 * blocker set, so with two forms on a page (a client's Details and Allowed networks) every guard
 * asks about all of them, and the one that holds the navigation names them all.
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
  const blocker = useBlocker(
    ({ currentLocation, nextLocation }) =>
      unsaved.size > 0 &&
      nextLocation.pathname !== '/login' &&
      (currentLocation.pathname !== nextLocation.pathname || currentLocation.search !== nextLocation.search),
  );
  useEffect(() => {
    if (!dirty) return;
    const warn = (event: BeforeUnloadEvent) => event.preventDefault();
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [dirty]);
  const blocked = blocker.state === 'blocked';
  return (
    <Modal opened={blocked} onClose={() => blocker.reset?.()} title="Leave without saving?" centered>
      <Stack>
        <Text>Your {blocked ? [...new Set(unsaved.values())].join(' and ') : what} are not saved. Leaving now drops them.</Text>
        <Group justify="flex-end">
          <Button variant="default" data-autofocus onClick={() => blocker.reset?.()}>
            Stay
          </Button>
          <Button color="red" onClick={() => blocker.proceed?.()}>
            Leave without saving
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
