import { useDebouncedValue } from '@mantine/hooks';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useSearchParams } from 'react-router';
import { DEFAULT_PAGE_SIZE, readListParams, type ListDefaults, type ListParams } from './list-url';

export { PAGE_SIZES, type ListParams } from './list-url';

/**
 * A list's search, filter, sort and page live in the URL (`?q=&status=&sort=&page=&limit=`), so a
 * view can be shared and Back works. Changing anything but the page goes back to page 1.
 */
export function useListParams<S extends string>(defaults: ListDefaults<S>) {
  const [params, setParams] = useSearchParams();
  const defaultLimit = defaults.limit ?? DEFAULT_PAGE_SIZE;
  const value = useMemo<ListParams<S>>(
    () => readListParams(params, { sort: defaults.sort, sorts: defaults.sorts, limit: defaultLimit }),
    [params, defaults.sort, defaults.sorts, defaultLimit],
  );

  const update = useCallback(
    (patch: Partial<ListParams<S>>, options: { replace?: boolean } = {}) => {
      setParams(
        (current) => {
          const next = new URLSearchParams(current);
          const set = (key: string, raw: string | number | null | undefined, fallback: string | number | null) => {
            if (raw === undefined) return;
            if (raw === null || raw === '' || raw === fallback) next.delete(key);
            else next.set(key, String(raw));
          };
          set('q', patch.q, '');
          set('status', patch.status, null);
          set('sort', patch.sort, defaults.sort);
          set('limit', patch.limit, defaultLimit);
          if (patch.page !== undefined) set('page', patch.page, 1);
          else if (Object.keys(patch).length > 0) next.delete('page');
          return next;
        },
        { replace: options.replace ?? false },
      );
    },
    [setParams, defaults.sort, defaultLimit],
  );

  return [value, update] as const;
}

/**
 * A search box bound to `q` in the URL: it answers each key at once, and the URL (and so the
 * request) follows when typing pauses. A `q` changed elsewhere (Back, a link) refills the box.
 */
export function useSearchBox(q: string, commit: (q: string) => void, delayMs = 300): [string, (text: string) => void] {
  const [text, setText] = useState(q);
  const [debounced] = useDebouncedValue(text, delayMs);
  const latest = useRef({ q, commit });
  useEffect(() => {
    latest.current = { q, commit };
  });
  useEffect(() => {
    if (debounced.trim() !== latest.current.q.trim()) latest.current.commit(debounced);
  }, [debounced]);
  const [seen, setSeen] = useState(q);
  if (seen !== q) {
    setSeen(q);
    if (q.trim() !== text.trim()) setText(q);
  }
  return [text, setText];
}
