import { useCallback, useState } from 'react';
import type { ApiClient } from '../../lib/types';

/**
 * The clients chosen in the table: rows of the page, or (from the banner over it) every client
 * matching the search and filters. Both are cleared whenever `selectionKey` changes (another page,
 * filter or sort).
 */
export function useClientSelection({
  selectionKey,
  rows,
  matching,
  loadAllMatching,
}: {
  selectionKey: string;
  rows: readonly ApiClient[];
  matching: number | undefined;
  loadAllMatching: (() => Promise<ApiClient[]>) | undefined;
}) {
  const [allMatching, setAllMatching] = useState<{ key: string; on: boolean }>({ key: selectionKey, on: false });
  if (allMatching.key !== selectionKey) setAllMatching({ key: selectionKey, on: false });
  const [selection, setSelection] = useState<{ key: string; ids: ReadonlySet<string> }>({ key: selectionKey, ids: new Set() });
  if (selection.key !== selectionKey) setSelection({ key: selectionKey, ids: new Set() });

  const selected = selection.key === selectionKey ? rows.filter((client) => selection.ids.has(client.id)) : [];
  const allSelected = rows.length > 0 && selected.length === rows.length;
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
  const everything = allMatching.on && allSelected && matching !== undefined && loadAllMatching !== undefined;

  return {
    ids: selection.ids,
    allSelected,
    someSelected: selected.length > 0 && !allSelected,
    /** Every client matching the filters is chosen, beyond this page. */
    everything,
    count: everything ? matching : selected.length,
    toggle,
    /** Selects every row of the page, or none. */
    togglePage: () => setIds(allSelected ? [] : rows.map((client) => client.id)),
    selectEverything: () => setAllMatching({ key: selectionKey, on: true }),
    clearPage: () => setIds([]),
    clear: () => {
      setIds([]);
      setAllMatching({ key: selectionKey, on: false });
    },
    /** The clients an action applies to: the selection, or every one matching when that was chosen. */
    targets: async (): Promise<readonly ApiClient[]> => (everything ? loadAllMatching() : selected),
  };
}
