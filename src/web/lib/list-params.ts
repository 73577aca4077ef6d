import { useDebouncedValue } from '@mantine/hooks';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useSearchParams } from 'react-router';

export const PAGE_SIZES = [10, 25, 50, 100] as const;

export interface ListParams<S extends string> {
  readonly q: string;
  readonly status: 'enabled' | 'disabled' | null;
  readonly sort: S;
  readonly page: number;
  readonly limit: number;
}

/**
 * A list's search, filter, sort and page live in the URL (`?q=&status=&sort=&page=&limit=`), so a
 * view can be shared and Back works. Changing anything but the page goes back to page 1.
 */
export function useListParams<S extends string>(defaults: { sort: S; sorts: readonly S[]; limit?: number }) {
  const [params, setParams] = useSearchParams();
  const defaultLimit = defaults.limit ?? 50;
  const value = useMemo<ListParams<S>>(() => {
    const status = params.get('status');
    const sort = params.get('sort') as S | null;
    const page = Number(params.get('page') ?? '1');
    const limit = Number(params.get('limit') ?? defaultLimit);
    return {
      q: params.get('q') ?? '',
      status: status === 'enabled' || status === 'disabled' ? status : null,
      sort: sort !== null && defaults.sorts.includes(sort) ? sort : defaults.sort,
      page: Number.isInteger(page) && page >= 1 ? page : 1,
      limit: (PAGE_SIZES as readonly number[]).includes(limit) ? limit : defaultLimit,
    };
  }, [params, defaults.sort, defaults.sorts, defaultLimit]);

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
