import type { QueryKey } from '@tanstack/react-query';
import { useListParams, type ListParams } from './list-params';
import { useCursorPages, type CursorPage } from './paging';

/**
 * A list page's state, as the API clients, users and audit lists share it: the search, filter,
 * sort and page in the URL (useListParams); the page of rows for them (useCursorPages), the
 * previous view's rows staying on screen, marked `refreshing`, while the next loads; and what the
 * pagination below the table shows and does.
 */
export function useListPage<S extends string, Q, P extends CursorPage & { readonly total?: number }>(options: {
  readonly sort: S;
  /** Every sort the list accepts: a constant, so that it stays the same between renders. */
  readonly sorts: readonly S[];
  /** What the API is asked, from the URL's state (the page aside). */
  readonly query: (params: ListParams<S>) => Q;
  readonly queryKey: (query: Q) => QueryKey;
  readonly fetchPage: (query: Q, cursor: string | null, signal: AbortSignal) => Promise<P>;
}) {
  const [params, setParams] = useListParams<S>({ sort: options.sort, sorts: options.sorts });
  const query = options.query(params);
  const pages = useCursorPages({
    queryKey: options.queryKey(query),
    page: params.page,
    onPageMoved: (page) => setParams({ page }, { replace: true }),
    fetchPage: (cursor, signal) => options.fetchPage(query, cursor, signal),
  });
  const data = pages.data?.data;
  return {
    params,
    setParams,
    pages,
    /** The rows on screen; undefined until the first answer. */
    data,
    refreshing: pages.isPlaceholderData,
    /** The table's aria-busy: loading its first rows, or the next view's. */
    busy: (data === undefined && !pages.isError) || pages.isPlaceholderData,
    /** Why there are no rows to show: the first answer failed (later failures keep the rows shown). */
    failed: data === undefined && pages.isError ? pages.error : null,
    /** A new search from the search box: it replaces the URL's entry, since each pause in typing makes one. */
    search: (q: string) => setParams({ q }, { replace: true }),
    pagination: {
      page: params.page,
      shownPage: pages.data?.page,
      pageSize: params.limit,
      itemCount: data?.items.length ?? 0,
      total: data?.total,
      hasNext: data !== undefined && data.nextCursor !== null,
      loading: data === undefined && !pages.isError,
      onPage: (page: number) => setParams({ page }),
      onPageSize: (limit: number) => setParams({ limit }),
    },
  };
}
