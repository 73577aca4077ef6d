import { Button, Group, List, Stack, Text } from '@mantine/core';
import { useRef } from 'react';
import { IconChevronDown, IconPlayerPause, IconPlayerPlay, IconTrash } from '../../components/icons';
import { useLaterMenu } from '../../components/later-floating';
import { loadWhenIdle } from '../../components/load-when-idle';
import { usedRecently } from '../../lib/time';
import type { ApiClient, BulkAction } from '../../lib/types';

const ConfirmDialog = loadWhenIdle(
  async () => (await import('../../components/confirm-dialog')).ConfirmDialog,
  (props) => props.opened,
);

export const plural = (count: number) => `${count} API ${count === 1 ? 'client' : 'clients'}`;

/**
 * The Actions menu for the selection: Enable, Disable, Delete (the deletion asks first). Until the
 * menu's code has loaded (when the page is idle) the button stands alone; a click then opens it.
 */
export function BulkActionsMenu({
  selectedCount,
  busy,
  canUpdate,
  canDelete,
  onAction,
}: {
  selectedCount: number;
  busy: boolean;
  canUpdate: boolean;
  canDelete: boolean;
  onAction: (action: BulkAction) => void;
}) {
  const target = useRef<HTMLButtonElement>(null);
  const { parts, openAtOnce, trigger } = useLaterMenu(target);
  const button = (
    <Button ref={target} variant="default" rightSection={<IconChevronDown size={14} aria-hidden />} disabled={selectedCount === 0} loading={busy} {...trigger}>
      Actions
    </Button>
  );
  if (parts === undefined) return button;
  const { Menu } = parts;
  return (
    <Menu position="bottom-end" withArrow defaultOpened={openAtOnce}>
      <Menu.Target>{button}</Menu.Target>
      <Menu.Dropdown>
        <Menu.Label>{plural(selectedCount)}</Menu.Label>
        <Menu.Item leftSection={<IconPlayerPlay size={16} aria-hidden />} disabled={!canUpdate} onClick={() => onAction('enable')}>
          Enable
        </Menu.Item>
        <Menu.Item leftSection={<IconPlayerPause size={16} aria-hidden />} disabled={!canUpdate} onClick={() => onAction('disable')}>
          Disable
        </Menu.Item>
        <Menu.Divider />
        <Menu.Item
          color="red"
          // The item tints its text with shade 6, below AA contrast: the theme's readable red instead.
          c="var(--mantine-color-red-text)"
          leftSection={<IconTrash size={16} aria-hidden />}
          disabled={!canDelete}
          onClick={() => onAction('delete')}
        >
          Delete
        </Menu.Item>
      </Menu.Dropdown>
    </Menu>
  );
}

/** Over a page whose rows are all selected: offers every client that matches, or clears that choice. */
export function SelectAllBanner({
  pageCount,
  matching,
  everything,
  onSelectEverything,
  onClear,
}: {
  pageCount: number;
  matching: number;
  everything: boolean;
  onSelectEverything: () => void;
  onClear: () => void;
}) {
  return (
    <Group gap="xs" justify="center" className="koios-select-banner" role="status">
      {everything ? (
        <>
          <Text size="sm">All {plural(matching)} that match are selected.</Text>
          <Button variant="subtle" size="compact-sm" onClick={onClear}>
            Clear the selection
          </Button>
        </>
      ) : (
        <>
          <Text size="sm">All {plural(pageCount)} on this page are selected.</Text>
          <Button variant="subtle" size="compact-sm" onClick={onSelectEverything}>
            Select all {plural(matching)} that match
          </Button>
        </>
      )}
    </Group>
  );
}

/** How many names a bulk deletion lists before "and N more". */
const NAMED = 5;

/** What must be typed to delete these clients: needed only when one of them was used lately. */
function confirmationText(clients: readonly ApiClient[]): string | undefined {
  if (!clients.some((client) => usedRecently(client.lastUsedAt))) return undefined;
  return clients.length === 1 ? clients[0]!.name : `delete ${clients.length} clients`;
}

/** The clients a deletion removes, by name (the first few and a count), and which are in use. */
function DeletionSummary({ clients }: { clients: readonly ApiClient[] }) {
  const recent = clients.filter((client) => usedRecently(client.lastUsedAt)).length;
  return (
    <Stack gap="xs">
      {clients.length === 1 ? (
        <Text>
          <strong>{clients[0]!.name}</strong> will be deleted.
        </Text>
      ) : (
        <>
          <Text>These clients will be deleted:</Text>
          <List size="sm" withPadding>
            {clients.slice(0, NAMED).map((client) => (
              <List.Item key={client.id}>{client.name}</List.Item>
            ))}
            {clients.length > NAMED && <List.Item>and {clients.length - NAMED} more</List.Item>}
          </List>
        </>
      )}
      {recent > 0 && (
        <Text size="sm">
          {clients.length === 1 ? 'It' : recent === 1 ? 'One of them' : `${recent} of them`} authenticated in the last 30 days: something may still depend on{' '}
          {recent === 1 ? 'it' : 'them'}.
        </Text>
      )}
      <Text>Their credentials and access tokens stop working immediately. This cannot be undone.</Text>
    </Stack>
  );
}

/** "Delete N API clients?", naming them; typing is asked for when one of them was used lately. */
export function DeleteClientsDialog({
  opened,
  clients,
  onCancel,
  onConfirm,
}: {
  opened: boolean;
  clients: readonly ApiClient[];
  onCancel: () => void;
  onConfirm: () => Promise<unknown>;
}) {
  return (
    <ConfirmDialog
      opened={opened}
      title={`Delete ${plural(clients.length)}?`}
      confirmLabel={`Delete ${plural(clients.length)}`}
      typeToConfirm={confirmationText(clients)}
      onCancel={onCancel}
      onConfirm={onConfirm}
    >
      <DeletionSummary clients={clients} />
    </ConfirmDialog>
  );
}
