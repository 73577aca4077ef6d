import type { QueryKey } from '@tanstack/react-query';

/**
 * A list's search, filter, sort and page as its URL holds them (`?q=&status=&sort=&page=&limit=`),
 * read without React: the first requests start from it before the console's code has loaded.
 */

export const PAGE_SIZES = [10, 25, 50, 100] as const;

export const DEFAULT_PAGE_SIZE = 50;

export interface ListParams<S extends string> {
  readonly q: string;
  readonly status: 'enabled' | 'disabled' | null;
  readonly sort: S;
  readonly page: number;
  readonly limit: number;
}

export interface ListDefaults<S extends string> {
  readonly sort: S;
  readonly sorts: readonly S[];
  readonly limit?: number;
}

/** The list's state in `params`, anything missing or unknown taking its default. */
export function readListParams<S extends string>(params: URLSearchParams, defaults: ListDefaults<S>): ListParams<S> {
  const defaultLimit = defaults.limit ?? DEFAULT_PAGE_SIZE;
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
}

/** The cache key of one numbered page of a list (useCursorPages). */
export const pageKey = (listKey: QueryKey, page: number): QueryKey => [...listKey, { page }];
