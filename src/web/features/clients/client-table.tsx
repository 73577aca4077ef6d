import { Checkbox, Group, rem, Stack, Text, UnstyledButton } from '@mantine/core';
import { startTransition, useEffect, useState, useSyncExternalStore, type CSSProperties, type ReactNode } from 'react';
import { CursorPagination, type CursorPaginationProps } from '../../components/cursor-pagination';
import { IconArrowDown, IconArrowUp, IconArrowsSort } from '../../components/icons';
import { ListTableBody } from '../../components/list-table-body';
import { TABLE } from '../../components/table-classes';
import type { ApiClient, BulkAction } from '../../lib/types';
import { BulkActionsMenu, DeleteClientsDialog, SelectAllBanner } from './client-bulk-actions';
import { ClientCards, ClientRow, PHONE, ROW_HEIGHT } from './client-rows';
import { useClientSelection } from './client-selection';
import type { ClientSort } from './clients.requests';

type SortField = 'name' | 'createdAt' | 'lastUsedAt' | 'requests7d';

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
  // Names read best A→Z first; times newest first; counts most first.
  const next: ClientSort = active ? ((descending ? field : `-${field}`) as ClientSort) : ((field === 'name' ? field : `-${field}`) as ClientSort);
  const Icon = !active ? IconArrowsSort : descending ? IconArrowDown : IconArrowUp;
  return (
    <th
      className={TABLE.th}
      aria-sort={active ? (descending ? 'descending' : 'ascending') : 'none'}
      style={width === undefined ? undefined : { width: rem(width) }}
    >
      <UnstyledButton onClick={() => onSort(next)} fw={700} fz="sm">
        <Group gap={4} wrap="nowrap">
          {label}
          <Icon size={14} aria-hidden style={{ opacity: active ? 1 : 0.4 }} />
        </Group>
      </UnstyledButton>
    </th>
  );
}

/** The table's header: select-all for the page, and the columns, four of them sortable. */
function ClientTableHead({
  sort,
  onSort,
  allSelected,
  someSelected,
  empty,
  onTogglePage,
}: {
  sort: ClientSort;
  onSort: (sort: ClientSort) => void;
  allSelected: boolean;
  someSelected: boolean;
  empty: boolean;
  onTogglePage: () => void;
}) {
  return (
    <thead className={TABLE.thead}>
      <tr className={TABLE.tr} data-with-row-border data-hover>
        <th className={TABLE.th} style={{ width: rem(40) }}>
          <Checkbox aria-label="Select all clients on this page" checked={allSelected} indeterminate={someSelected} disabled={empty} onChange={onTogglePage} />
        </th>
        <th className={TABLE.th} style={{ width: rem(96) }}>
          Status
        </th>
        <SortableHeader field="name" label="Name" sort={sort} onSort={onSort} />
        <th className={TABLE.th}>Role</th>
        <th className={TABLE.th} style={{ width: rem(150) }}>
          Client ID
        </th>
        <SortableHeader field="requests7d" label="Requests (7 days)" sort={sort} onSort={onSort} width={104} />
        <SortableHeader field="lastUsedAt" label="Last Used" sort={sort} onSort={onSort} width={118} />
        <SortableHeader field="createdAt" label="Created" sort={sort} onSort={onSort} width={118} />
      </tr>
    </thead>
  );
}

/** The rows a first screen shows, about: drawn at once, the rest of the page just after they are painted. */
const FIRST_ROWS = 15;

/**
 * How many of `count` rows to draw: at first only those a screen shows, so that they paint without
 * waiting for the other thirty-five of a page (a row costs about 2 ms to render on a slow machine);
 * the rest in the next frame, as an interruptible update. Later pages are drawn whole.
 */
const watchPhone = (notify: () => void) => {
  const query = window.matchMedia(PHONE);
  query.addEventListener('change', notify);
  return () => query.removeEventListener('change', notify);
};

/**
 * Whether the list is drawn as cards. The server draws the table (it cannot know the width) and the
 * browser takes its page over as drawn, then switches at once on a phone.
 */
function usePhone(): boolean {
  return useSyncExternalStore(
    watchPhone,
    () => window.matchMedia(PHONE).matches,
    () => false,
  );
}

function useRowsToDraw(count: number): number {
  const [whole, setWhole] = useState(false);
  const partial = !whole && count > FIRST_ROWS;
  useEffect(() => {
    if (!partial) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    // A timer set in the next frame runs after that frame has been painted.
    const frame = requestAnimationFrame(() => (timer = setTimeout(() => startTransition(() => setWhole(true)))));
    return () => {
      cancelAnimationFrame(frame);
      clearTimeout(timer);
    };
  }, [partial]);
  return partial ? FIRST_ROWS : count;
}

/**
 * The API client list: Status, Name, Role, Client ID, Requests (7 days), Last Used, Created; row checkboxes with
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
  const rows = clients ?? [];
  const drawn = useRowsToDraw(rows.length);
  const selection = useClientSelection({ selectionKey, rows, matching, loadAllMatching });
  // The clients stay in the dialog's words while it closes.
  const [deleteDialog, setDeleteDialog] = useState<{ opened: boolean; clients: readonly ApiClient[] }>({ opened: false, clients: [] });
  const [busy, setBusy] = useState<BulkAction | null>(null);
  const phone = usePhone();

  const run = async (action: BulkAction, targets: readonly ApiClient[]) => {
    setBusy(action);
    try {
      await onBulk(
        action,
        targets.map((client) => client.id),
      );
      selection.clear();
    } finally {
      setBusy(null);
    }
  };
  const act = (action: BulkAction) => {
    if (action === 'delete') void selection.targets().then((targets) => setDeleteDialog({ opened: true, clients: targets }));
    else
      void selection
        .targets()
        .then((targets) => run(action, targets))
        .catch(() => undefined);
  };

  return (
    <Stack gap="sm">
      <Group justify="space-between" align="flex-end" wrap="wrap" gap="sm">
        <Group gap="sm" align="flex-end" wrap="wrap">
          {toolbar}
        </Group>
        <Group gap="sm" wrap="nowrap">
          <Text size="sm" c="dimmed" aria-live="polite" miw={80} ta="right">
            {selection.count > 0 ? `${selection.count} selected` : ''}
          </Text>
          <BulkActionsMenu selectedCount={selection.count} busy={busy !== null} canUpdate={canUpdate} canDelete={canDelete} onAction={act} />
        </Group>
      </Group>

      {selection.allSelected && matching !== undefined && matching > rows.length && loadAllMatching !== undefined && (
        <SelectAllBanner
          pageCount={rows.length}
          matching={matching}
          everything={selection.everything}
          onSelectEverything={selection.selectEverything}
          onClear={selection.clearPage}
        />
      )}
      {phone ? (
        <ClientCards clients={clients} selected={selection.ids} onToggle={selection.toggle} empty={empty} failure={failure} refreshing={refreshing} />
      ) : (
        // Mantine's Table.ScrollContainer and Table, as their elements and classes (src/web/components/table-classes.ts);
        // the container scrolls natively, as Mantine's does with type="native".
        <div className={TABLE.scrollContainer} style={{ '--table-min-width': rem(720), '--table-overflow': 'auto' } as CSSProperties}>
          <div className={TABLE.scrollContainerInner}>
            <table
              className={`${TABLE.table} koios-client-table`}
              style={{ '--table-vertical-spacing': 'var(--mantine-spacing-sm)' } as CSSProperties}
              aria-label="API clients"
              aria-busy={(clients === undefined && failure === undefined) || refreshing}
            >
              <ClientTableHead
                sort={sort}
                onSort={onSort}
                allSelected={selection.allSelected}
                someSelected={selection.someSelected}
                empty={rows.length === 0}
                onTogglePage={selection.togglePage}
              />
              <ListTableBody
                rows={clients}
                hover
                skeletonWidths={[20, 70, 180, 80, 140, 50, 80, 80]}
                rowHeight={ROW_HEIGHT}
                skeletonRows={5}
                refreshing={refreshing}
                empty={empty}
                failure={failure}
              >
                {rows.slice(0, drawn).map((client) => (
                  <ClientRow key={client.id} client={client} selected={selection.ids.has(client.id)} onToggle={selection.toggle} onOpen={onOpen} />
                ))}
              </ListTableBody>
            </table>
          </div>
        </div>
      )}

      {failure === undefined && <CursorPagination {...pagination} itemCount={rows.length} noun={{ one: 'client', other: 'clients' }} />}

      <DeleteClientsDialog
        opened={deleteDialog.opened}
        clients={deleteDialog.clients}
        onCancel={() => setDeleteDialog({ opened: false, clients: deleteDialog.clients })}
        onConfirm={async () => {
          await run('delete', deleteDialog.clients);
          setDeleteDialog({ opened: false, clients: deleteDialog.clients });
        }}
      />
    </Stack>
  );
}
