import type { QueryClient, QueryKey } from '@tanstack/react-query';
import { FIRST_LIST_PATHS } from '../shared/console-routes';
import { forgetAnswersInPage } from './lib/api';
import { CLIENT_LIST_SORT, CLIENT_SORTS, clientKeys, clientListQuery, fetchClientPage } from './features/clients/clients.requests';
import { fetchMe, fetchSession, meKey, sessionKey } from './features/session/session.requests';
import { pageKey, readListParams } from './lib/list-url';

interface FirstRequest {
  readonly queryKey: QueryKey;
  readonly fetch: () => Promise<unknown>;
  readonly answer: Promise<unknown>;
  /** The answer once it has come, so that the first render can show it. */
  data?: { readonly value: unknown };
}

export interface FirstLoad {
  readonly requests: readonly FirstRequest[];
  /** The first page's own chunks: loading beside the console's code rather than after it. */
  readonly page: Promise<unknown>;
}

/** Where the console opens: its API client list. */
const LIST_PATHS = new Set<string>(FIRST_LIST_PATHS);

/**
 * What the first screen needs, asked for at once by the HTML's own small script, before React and
 * the console's code have loaded: the session, who is signed in, the list's first page, and the
 * page's chunks. Without it they would wait for the code, then for each other. For a signed-in
 * browser the server has put their answers in the page itself (src/web/lib/api.ts), so they need
 * no request at all.
 */
export function startFirstLoad(where: { readonly pathname: string; readonly search: string }): FirstLoad {
  try {
    return firstRequests(where);
  } finally {
    // Each request above took its answer from the page, if the server put it there, as it started.
    forgetAnswersInPage();
  }
}

function firstRequests({ pathname, search }: { readonly pathname: string; readonly search: string }): FirstLoad {
  const requests: FirstRequest[] = [];
  const ask = (queryKey: QueryKey, fetch: () => Promise<unknown>) => {
    const request: FirstRequest = { queryKey, fetch, answer: fetch() };
    request.answer.then(
      (value) => (request.data = { value }),
      () => undefined,
    );
    requests.push(request);
  };
  if (pathname === '/login') {
    ask(sessionKey, fetchSession);
    return { requests, page: import('./features/session/login-page') };
  }
  if (pathname === '/setup') return { requests, page: Promise.resolve() };
  ask(sessionKey, fetchSession);
  ask(meKey, fetchMe);
  const chunks: Promise<unknown>[] = [import('./routes/layout')];
  if (LIST_PATHS.has(pathname)) {
    const url = new URLSearchParams(search);
    const params = readListParams(url, { sort: CLIENT_LIST_SORT, sorts: CLIENT_SORTS });
    // A later page is reached by walking the cursors from the first: the list itself does that.
    if (params.page === 1) {
      const query = clientListQuery(params, url);
      ask(pageKey(clientKeys.list(query), 1), async () => ({ page: 1, data: await fetchClientPage(query, null) }));
    }
    chunks.push(import('./features/clients/clients-page'));
  }
  return { requests, page: Promise.all(chunks) };
}

/**
 * Hands the first answers to the query cache: those already here are data for the first render,
 * the others become their queries' fetches in flight (asked anew if they fail and are tried again).
 */
export function handOver(queryClient: QueryClient, first: FirstLoad): void {
  for (const request of first.requests) {
    if (request.data !== undefined) {
      queryClient.setQueryData(request.queryKey, request.data.value);
      continue;
    }
    let answer: Promise<unknown> | null = request.answer;
    const queryFn = () => {
      const next = answer ?? request.fetch();
      answer = null;
      return next;
    };
    void queryClient.prefetchQuery({ queryKey: request.queryKey, queryFn, retry: false });
  }
}
