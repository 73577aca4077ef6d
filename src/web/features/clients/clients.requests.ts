import { api } from '../../lib/api';
import type { ListParams } from '../../lib/list-url';
import type { ClientPage } from '../../lib/types';

/**
 * The API client list's requests and cache keys, free of React: the first request for the list
 * starts from these before the console's code has loaded.
 */

export const CLIENT_SORTS = ['name', '-name', 'createdAt', '-createdAt', 'lastUsedAt', '-lastUsedAt', 'requests7d', '-requests7d'] as const;
export type ClientSort = (typeof CLIENT_SORTS)[number];

/** Newest first. */
export const CLIENT_LIST_SORT: ClientSort = '-createdAt';

export interface ClientListQuery {
  readonly q: string;
  readonly status: 'enabled' | 'disabled' | null;
  /** Only the clients holding this role. */
  readonly roleId: string | null;
  /** Only the clients never used, or not used for this many days (`90d`). */
  readonly unusedFor: string | null;
  /** Only the clients never used. */
  readonly neverUsed: boolean;
  /** Only the clients whose secret expires within this many days (`30d`). */
  readonly expiringWithin: string | null;
  /** Only the clients whose secret has expired. */
  readonly expired: boolean;
  readonly sort: ClientSort;
  readonly limit: number;
}

/**
 * The list's own filters in its URL: by role (`roleId`), by last use (`neverUsed=true` or
 * `unusedFor=90d`) and by secret expiry (`expired=true` or `expiringWithin=30d`).
 */
export function clientListFilters(url: URLSearchParams): Pick<ClientListQuery, 'roleId' | 'unusedFor' | 'neverUsed' | 'expiringWithin' | 'expired'> {
  const neverUsed = url.get('neverUsed') === 'true';
  const expired = url.get('expired') === 'true';
  return {
    roleId: url.get('roleId') || null,
    unusedFor: neverUsed ? null : url.get('unusedFor') || null,
    neverUsed,
    expiringWithin: expired ? null : url.get('expiringWithin') || null,
    expired,
  };
}

/** What the list asks the API for its URL: the search, status filter, sort and page size, and its own filters. */
export function clientListQuery({ q, status, sort, limit }: ListParams<ClientSort>, url: URLSearchParams): ClientListQuery {
  return { q, status, sort, limit, ...clientListFilters(url) };
}

export const clientKeys = {
  all: ['clients'] as const,
  list: (query: ClientListQuery) => ['clients', 'list', query] as const,
  one: (id: string) => ['clients', 'one', id] as const,
  permissions: (id: string) => ['clients', 'one', id, 'permissions'] as const,
};

export function fetchClientPage(query: ClientListQuery, cursor: string | null, signal?: AbortSignal) {
  return api.get<ClientPage>(
    '/api/v1/clients',
    {
      limit: query.limit,
      cursor,
      q: query.q.trim(),
      status: query.status,
      roleId: query.roleId,
      unusedFor: query.unusedFor,
      neverUsed: query.neverUsed ? 'true' : null,
      expiringWithin: query.expiringWithin,
      expired: query.expired ? 'true' : null,
      sort: query.sort,
    },
    signal,
  );
}
