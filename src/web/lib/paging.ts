import { keepPreviousData, useQuery, type QueryClient, type QueryKey } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import { pageKey } from './list-url';

export interface CursorPage {
  readonly items: readonly unknown[];
  readonly nextCursor: string | null;
}

export interface ResolvedPage<P> {
  /** The page actually shown: lower than asked for when the list ends sooner. */
  readonly page: number;
  readonly data: P;
}

/**
 * The API pages by keyset cursor ("the rows after X"), the console by number. The stack keeps,
 * per list (its filters and sort), the cursor that starts each page seen so far: Previous is one
 * request, and a page number from a shared URL is reached by walking forward once.
 */
export class CursorStack {
  private readonly stacks = new Map<string, (string | null)[]>();

  private stack(list: string): (string | null)[] {
    let stack = this.stacks.get(list);
    if (stack === undefined) {
      stack = [null];
      this.stacks.set(list, stack);
    }
    return stack;
  }

  /** The cursor that starts `page` (1-based): null for the first, undefined when not known yet. */
  cursorFor(list: string, page: number): string | null | undefined {
    return this.stack(list)[page - 1];
  }

  /** A page that was fetched another way (src/web/first-load.ts): where the next one starts is known. */
  remember(list: string, page: number, nextCursor: string | null): void {
    const stack = this.stack(list);
    if (stack.length === page && nextCursor !== null) stack.push(nextCursor);
  }

  async resolve<P extends CursorPage>(list: string, page: number, fetchPage: (cursor: string | null) => Promise<P>): Promise<ResolvedPage<P>> {
    const stack = this.stack(list);
    const wanted = Math.max(1, Math.floor(page));
    while (stack.length < wanted) {
      const known = stack.length;
      const data = await fetchPage(stack[known - 1] ?? null);
      if (data.nextCursor === null) return { page: known, data };
      stack.push(data.nextCursor);
    }
    const data = await fetchPage(stack[wanted - 1] ?? null);
    // Everything on the last pages was deleted: show the page before instead of an empty one.
    if (data.items.length === 0 && wanted > 1) {
      stack.length = wanted - 1;
      return this.resolve(list, wanted - 1, fetchPage);
    }
    if (data.nextCursor === null) stack.length = wanted;
    else stack[wanted] = data.nextCursor;
    return { page: wanted, data };
  }
}

/** One numbered page of a cursor-paged list, keeping the previous page on screen while the next loads. */
export function useCursorPages<P extends CursorPage>(options: {
  readonly queryKey: QueryKey;
  readonly page: number;
  readonly fetchPage: (cursor: string | null, signal: AbortSignal) => Promise<P>;
  readonly enabled?: boolean;
  /** Called when the list ends before the page asked for (a shared URL, rows deleted): the page shown instead. */
  readonly onPageMoved?: (page: number) => void;
}) {
  const stack = useRef(new CursorStack()).current;
  const list = JSON.stringify(options.queryKey);
  const query = useQuery({
    queryKey: pageKey(options.queryKey, options.page),
    queryFn: ({ signal }) => stack.resolve(list, options.page, (cursor) => options.fetchPage(cursor, signal)),
    placeholderData: keepPreviousData,
    enabled: options.enabled ?? true,
  });
  const shown = query.isPlaceholderData ? undefined : query.data?.page;
  const nextCursor = query.isPlaceholderData ? undefined : query.data?.data.nextCursor;
  useEffect(() => {
    if (shown !== undefined && nextCursor !== undefined) stack.remember(list, shown, nextCursor);
  }, [stack, list, shown, nextCursor]);
  const moved = useRef(options.onPageMoved);
  useEffect(() => {
    moved.current = options.onPageMoved;
  });
  useEffect(() => {
    if (shown !== undefined && shown !== options.page) moved.current?.(shown);
  }, [shown, options.page]);
  return query;
}

/** Drops a deleted row from every cached page of a list at once, before the list is read again. */
export function removeFromPages(queryClient: QueryClient, queryKey: QueryKey, id: string): void {
  type Rows = ResolvedPage<{ readonly items: readonly { readonly id: string }[]; readonly nextCursor: string | null; readonly total?: number }>;
  queryClient.setQueriesData<Rows>({ queryKey }, (old) =>
    old === undefined || !old.data.items.some((item) => item.id === id)
      ? old
      : {
          ...old,
          data: {
            ...old.data,
            items: old.data.items.filter((item) => item.id !== id),
            ...(old.data.total === undefined ? {} : { total: old.data.total - 1 }),
          },
        },
  );
  void queryClient.invalidateQueries({ queryKey });
}
