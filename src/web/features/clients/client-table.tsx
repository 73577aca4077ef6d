import { Button, Checkbox, Group, List, Menu, Skeleton, Stack, Table, Text, UnstyledButton } from '@mantine/core';
import { useMediaQuery } from '@mantine/hooks';
import { IconArrowDown, IconArrowUp, IconArrowsSort, IconChevronDown, IconPlayerPause, IconPlayerPlay, IconTrash } from '../../components/icons';
import { memo, useCallback, useState, type MouseEvent, type ReactNode } from 'react';
import { Link } from 'react-router';
import { loadWhenIdle } from '../../components/load-when-idle';
import { CopyButton, PlainTime, ShortId } from '../../components/list-cells';
import { CursorPagination, type CursorPaginationProps } from '../../components/cursor-pagination';
import { ListTableBody } from '../../components/list-table-body';
import { StatusBadge } from '../../components/status-badge';
import { usedRecently } from '../../lib/time';
import type { ApiClient, BulkAction } from '../../lib/types';
import { LookalikeBadge } from '../../components/lookalike-badge';
import type { ClientSort } from './clients.requests';

const ConfirmDialog = loadWhenIdle(
  async () => (await import('../../components/confirm-dialog')).ConfirmDialog,
  (props) => props.opened,
);

type SortField = 'name' | 'createdAt' | 'lastUsedAt';

export interface ClientTableProps {
  /** Undefined while the first page loads. */
  readonly clients: readonly ApiClient[] | undefined;
  /** The clients shown are the previous view's while the next one loads (another sort, filter or page). */
  readonly refreshing?: boolean;
  /** Selection is cleared whenever this changes (another page, filter or sort). */
  readonly selectionKey: string;
  readonly sort: ClientSort;
  readonly onSort: (sort: ClientSort) => void;
  readonly onOpen: (client: ApiClient) => void;
  /** Applies a bulk action; the selection is cleared when it succeeds. */
  readonly onBulk: (action: BulkAction, ids: string[]) => Promise<unknown>;
  readonly pagination: Omit<CursorPaginationProps, 'itemCount' | 'noun'>;
  /** Search and filters, shown left of the Actions menu. */
  readonly toolbar?: ReactNode;
  /** Shown instead of rows when the page is empty. */
  readonly empty?: ReactNode;
  /** Why the clients could not be loaded, shown instead of rows (the toolbar stays). */
  readonly failure?: ReactNode;
  readonly canUpdate?: boolean;
  readonly canDelete?: boolean;
  /** How many clients match the search and filters on every page; with loadAllMatching, offers to select them all. */
  readonly matching?: number | undefined;
  /** Every client matching the search and filters (all pages). */
  readonly loadAllMatching?: () => Promise<ApiClient[]>;
}

const ROW_HEIGHT = 58;

function SortableHeader({
  field,
  label,
  sort,
  onSort,
  width,
}: {
  field: SortField;
  label: string;
  sort: ClientSort;
  onSort: (s: ClientSort) => void;
  width?: number;
}) {
  const active = sort === field || sort === `-${field}`;
  const descending = sort.startsWith('-');
  // Names read best A→Z first; times newest first.
  const next: ClientSort = active ? ((descending ? field : `-${field}`) as ClientSort) : ((field === 'name' ? field : `-${field}`) as ClientSort);
  const Icon = !active ? IconArrowsSort : descending ? IconArrowDown : IconArrowUp;
  return (
    <Table.Th aria-sort={active ? (descending ? 'descending' : 'ascending') : 'none'} w={width}>
      <UnstyledButton onClick={() => onSort(next)} fw={700} fz="sm">
        <Group gap={4} wrap="nowrap">
          {label}
          <Icon size={14} aria-hidden style={{ opacity: active ? 1 : 0.4 }} />
        </Group>
      </UnstyledButton>
    </Table.Th>
  );
}

const plural = (count: number) => `${count} API ${count === 1 ? 'client' : 'clients'}`;

/** Below this width the list is cards: a table of seven columns cannot be read on a phone. */
const PHONE = '(max-width: 47.99em)';

const openRow = (event: MouseEvent, client: ApiClient, onOpen: (client: ApiClient) => void) => {
  // Text being selected, or a click on a control in the row, is not "open".
  if (window.getSelection()?.toString() || (event.target as HTMLElement).closest('button, a, input, label')) return;
  onOpen(client);
};

/**
 * One client's row, memoised: selecting one client renders one row, not fifty. Its cells are plain
 * elements (no Tooltip, no Menu per row), so that a page of rows renders fast.
 */
const ClientRow = memo(function ClientRow({
  client,
  selected,
  onToggle,
  onOpen,
}: {
  client: ApiClient;
  selected: boolean;
  onToggle: (id: string, on: boolean) => void;
  onOpen: (client: ApiClient) => void;
}) {
  return (
    <Table.Tr
      h={ROW_HEIGHT}
      bg={selected ? 'var(--mantine-primary-color-light)' : undefined}
      className={client.enabled ? undefined : 'koios-row-disabled'}
      style={{ cursor: 'pointer' }}
      data-disabled={client.enabled ? undefined : true}
      onClick={(event) => openRow(event, client, onOpen)}
    >
      <Table.Td>
        <Checkbox aria-label={`Select ${client.name}`} checked={selected} onChange={(event) => onToggle(client.id, event.currentTarget.checked)} />
      </Table.Td>
      <Table.Td>
        <StatusBadge enabled={client.enabled} />
      </Table.Td>
      <Table.Td style={{ overflowWrap: 'break-word', minWidth: 160 }}>
        <Link to={`/system/connections/${client.id}`} className="koios-card-name">
          {client.name}
        </Link>
        <LookalikeBadge name={client.name} />
        {client.description !== null && client.description !== '' && (
          <Text size="xs" c="dimmed" lineClamp={1}>
            {client.description}
          </Text>
        )}
      </Table.Td>
      <Table.Td style={{ overflowWrap: 'break-word' }}>
        {client.role === null ? <span className="koios-secondary koios-nowrap">No role</span> : client.role.name}
      </Table.Td>
      <Table.Td>
        <span className="koios-nowrap">
          <ShortId value={client.id} />
          <CopyButton value={client.id} label={`Copy client ID of ${client.name}`} />
        </span>
      </Table.Td>
      <Table.Td className="koios-nowrap">
        <PlainTime value={client.lastUsedAt} />
      </Table.Td>
      <Table.Td className="koios-nowrap">
        <PlainTime value={client.createdAt} />
      </Table.Td>
    </Table.Tr>
  );
});

/** The list on a phone: one card per client (name, status, ID with copy, last used). */
function ClientCards({
  clients,
  selected,
  onToggle,
  empty,
  failure,
  refreshing,
}: {
  clients: readonly ApiClient[] | undefined;
  selected: ReadonlySet<string>;
  onToggle: (id: string, on: boolean) => void;
  empty?: ReactNode;
  failure?: ReactNode;
  refreshing: boolean;
}) {
  if (failure !== undefined) return <>{failure}</>;
  if (clients === undefined) return <Skeleton h={ROW_HEIGHT * 3} aria-label="Loading the API clients" />;
  if (clients.length === 0) return <>{empty}</>;
  return (
    <ul className="koios-cards" aria-label="API clients" aria-busy={refreshing} style={{ opacity: refreshing ? 0.6 : 1 }}>
      {clients.map((client) => (
        <li key={client.id} className={`koios-card${client.enabled ? '' : ' koios-row-disabled'}`}>
          <Checkbox
            aria-label={`Select ${client.name}`}
            checked={selected.has(client.id)}
            onChange={(event) => onToggle(client.id, event.currentTarget.checked)}
          />
          <Link to={`/system/connections/${client.id}`} className="koios-card-name">
            {client.name}
          </Link>
          <LookalikeBadge name={client.name} />
          <StatusBadge enabled={client.enabled} />
          <div className="koios-card-line">
            <ShortId value={client.id} />
            <CopyButton value={client.id} label={`Copy client ID of ${client.name}`} />
          </div>
          <div className="koios-card-line">
            <span className="koios-secondary">Last used</span> <PlainTime value={client.lastUsedAt} />
            {client.role !== null && <span className="koios-secondary">· {client.role.name}</span>}
          </div>
        </li>
      ))}
    </ul>
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

/**
 * The API client list: Status, Name, Client ID, Last Used, Created; row checkboxes with
 * select-all for the page, and the Actions menu (Enable, Disable, Delete) for the selection.
 */
export function ClientTable({
  clients,
  refreshing = false,
  selectionKey,
  sort,
  onSort,
  onOpen,
  onBulk,
  pagination,
  toolbar,
  empty,
  failure,
  canUpdate = true,
  canDelete = true,
  matching,
  loadAllMatching,
}: ClientTableProps) {
  // Every client matching the filters, beyond this page: chosen from the banner over the table.
  const [allMatching, setAllMatching] = useState<{ key: string; on: boolean }>({ key: selectionKey, on: false });
  if (allMatching.key !== selectionKey) setAllMatching({ key: selectionKey, on: false });
  const [selection, setSelection] = useState<{ key: string; ids: ReadonlySet<string> }>({ key: selectionKey, ids: new Set() });
  if (selection.key !== selectionKey) setSelection({ key: selectionKey, ids: new Set() });
  // The clients stay in the dialog's words while it closes.
  const [deleteDialog, setDeleteDialog] = useState<{ opened: boolean; clients: readonly ApiClient[] }>({ opened: false, clients: [] });
  const deleting = deleteDialog.clients;
  const [busy, setBusy] = useState<BulkAction | null>(null);

  const rows = clients ?? [];
  const selected = selection.key === selectionKey ? rows.filter((client) => selection.ids.has(client.id)) : [];
  const allSelected = rows.length > 0 && selected.length === rows.length;
  const someSelected = selected.length > 0 && !allSelected;

  const setIds = (ids: Iterable<string>) => setSelection({ key: selectionKey, ids: new Set(ids) });
  // Stable, so that a row's memo holds: only the rows whose selection changed render again.
  const toggle = useCallback((id: string, on: boolean) => {
    setSelection((current) => {
      const ids = new Set(current.ids);
      if (on) ids.add(id);
      else ids.delete(id);
      return { key: current.key, ids };
    });
  }, []);
  const phone = useMediaQuery(PHONE, false, { getInitialValueInEffect: false });
  const everything = allMatching.on && allSelected && matching !== undefined && loadAllMatching !== undefined;
  const selectedCount = everything ? matching : selected.length;
  /** The clients an action applies to: the selection, or every one matching when that was chosen. */
  const targets = async (): Promise<readonly ApiClient[]> => (everything ? loadAllMatching() : selected);
  const run = async (action: BulkAction, targets: readonly ApiClient[]) => {
    setBusy(action);
    try {
      await onBulk(
        action,
        targets.map((client) => client.id),
      );
      setIds([]);
      setAllMatching({ key: selectionKey, on: false });
    } finally {
      setBusy(null);
    }
  };

  return (
    <Stack gap="sm">
      <Group justify="space-between" align="flex-end" wrap="wrap" gap="sm">
        <Group gap="sm" align="flex-end" wrap="wrap">
          {toolbar}
        </Group>
        <Group gap="sm" wrap="nowrap">
          <Text size="sm" c="dimmed" aria-live="polite" miw={80} ta="right">
            {selectedCount > 0 ? `${selectedCount} selected` : ''}
          </Text>
          <Menu position="bottom-end" withArrow>
            <Menu.Target>
              <Button variant="default" rightSection={<IconChevronDown size={14} aria-hidden />} disabled={selectedCount === 0} loading={busy !== null}>
                Actions
              </Button>
            </Menu.Target>
            <Menu.Dropdown>
              <Menu.Label>{plural(selectedCount)}</Menu.Label>
              <Menu.Item
                leftSection={<IconPlayerPlay size={16} aria-hidden />}
                disabled={!canUpdate}
                onClick={() =>
                  void targets()
                    .then((clients) => run('enable', clients))
                    .catch(() => undefined)
                }
              >
                Enable
              </Menu.Item>
              <Menu.Item
                leftSection={<IconPlayerPause size={16} aria-hidden />}
                disabled={!canUpdate}
                onClick={() =>
                  void targets()
                    .then((clients) => run('disable', clients))
                    .catch(() => undefined)
                }
              >
                Disable
              </Menu.Item>
              <Menu.Divider />
              <Menu.Item
                color="red"
                // The item tints its text with shade 6, below AA contrast: the theme's readable red instead.
                c="var(--mantine-color-red-text)"
                leftSection={<IconTrash size={16} aria-hidden />}
                disabled={!canDelete}
                onClick={() => void targets().then((clients) => setDeleteDialog({ opened: true, clients }))}
              >
                Delete
              </Menu.Item>
            </Menu.Dropdown>
          </Menu>
        </Group>
      </Group>

      {allSelected && matching !== undefined && matching > rows.length && loadAllMatching !== undefined && (
        <Group gap="xs" justify="center" className="koios-select-banner" role="status">
          {everything ? (
            <>
              <Text size="sm">All {plural(matching)} that match are selected.</Text>
              <Button variant="subtle" size="compact-sm" onClick={() => setIds([])}>
                Clear the selection
              </Button>
            </>
          ) : (
            <>
              <Text size="sm">All {plural(rows.length)} on this page are selected.</Text>
              <Button variant="subtle" size="compact-sm" onClick={() => setAllMatching({ key: selectionKey, on: true })}>
                Select all {plural(matching)} that match
              </Button>
            </>
          )}
        </Group>
      )}
      {phone ? (
        <ClientCards clients={clients} selected={selection.ids} onToggle={toggle} empty={empty} failure={failure} refreshing={refreshing} />
      ) : (
        <Table.ScrollContainer minWidth={720}>
          <Table highlightOnHover verticalSpacing="sm" aria-label="API clients" aria-busy={(clients === undefined && failure === undefined) || refreshing}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th w={40}>
                  <Checkbox
                    aria-label="Select all clients on this page"
                    checked={allSelected}
                    indeterminate={someSelected}
                    disabled={rows.length === 0}
                    onChange={() => setIds(allSelected ? [] : rows.map((client) => client.id))}
                  />
                </Table.Th>
                <Table.Th w={96}>Status</Table.Th>
                <SortableHeader field="name" label="Name" sort={sort} onSort={onSort} />
                <Table.Th>Role</Table.Th>
                <Table.Th w={150}>Client ID</Table.Th>
                <SortableHeader field="lastUsedAt" label="Last Used" sort={sort} onSort={onSort} width={118} />
                <SortableHeader field="createdAt" label="Created" sort={sort} onSort={onSort} width={118} />
              </Table.Tr>
            </Table.Thead>
            <ListTableBody
              rows={clients}
              skeletonWidths={[20, 70, 180, 80, 140, 80, 80]}
              rowHeight={ROW_HEIGHT}
              skeletonRows={5}
              refreshing={refreshing}
              empty={empty}
              failure={failure}
            >
              {rows.map((client) => (
                <ClientRow key={client.id} client={client} selected={selection.ids.has(client.id)} onToggle={toggle} onOpen={onOpen} />
              ))}
            </ListTableBody>
          </Table>
        </Table.ScrollContainer>
      )}

      {failure === undefined && <CursorPagination {...pagination} itemCount={rows.length} noun={{ one: 'client', other: 'clients' }} />}

      <ConfirmDialog
        opened={deleteDialog.opened}
        title={`Delete ${plural(deleting.length)}?`}
        confirmLabel={`Delete ${plural(deleting.length)}`}
        typeToConfirm={confirmationText(deleting)}
        onCancel={() => setDeleteDialog({ opened: false, clients: deleting })}
        onConfirm={async () => {
          await run('delete', deleting);
          setDeleteDialog({ opened: false, clients: deleting });
        }}
      >
        <DeletionSummary clients={deleting} />
      </ConfirmDialog>
    </Stack>
  );
}
