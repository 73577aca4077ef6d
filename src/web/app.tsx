import { QueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { createRoot, hydrateRoot, type Root } from 'react-dom/client';
import { ConsoleRoot } from './console-root';
import { ApiError, hadSession, onUnauthorized, setCsrfToken } from './lib/api';
import { handOver, type FirstLoad } from './first-load';
import { keepDrafts } from './lib/drafts';
import { RENDERED_AT_ATTRIBUTE } from '../shared/console-routes';
import { setRenderedAt } from './lib/hydration';
import { consoleHistory } from './routes/navigation';
import { ConsoleRouter, preloadRoute } from './routes/router';

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 10_000,
      // A 4xx will not get better by asking again; a network error or a 503 might.
      retry: (failures, error) => failures < 2 && !(error instanceof ApiError && error.status >= 400 && error.status < 500 && error.status !== 429),
    },
  },
});

// The session ended (expired, signed out elsewhere): sign in again and come back here.
// Unsaved forms are kept (drafts) so that they are there again after signing in.
onUnauthorized(() => {
  const here = window.location.pathname + window.location.search;
  if (window.location.pathname === '/login') return;
  const ended = hadSession();
  if (ended) keepDrafts(true);
  setCsrfToken(null);
  queryClient.clear();
  consoleHistory().replace(`/login?next=${encodeURIComponent(here)}${ended ? '&reason=session-ended' : ''}`);
});

/**
 * Once React has taken over the page the server drew, it works: the server sent it inert and hidden
 * from assistive technology (a click or a key there would have done nothing), now it is neither.
 */
function TakenOver({ root }: { readonly root: HTMLElement }) {
  useEffect(() => {
    for (const attribute of [RENDERED_AT_ATTRIBUTE, 'inert', 'aria-hidden']) root.removeAttribute(attribute);
  }, [root]);
  return null;
}

/**
 * Draws the console once the code of its first screen is here (src/web/first-load.ts has asked for
 * it already), with the first screen's answers that have come by then; or takes over the page the
 * server drew with those same answers (src/web/server-render.tsx), which is on screen already.
 * Resolves with the React root, which a test unmounts.
 */
export async function startConsole(first: FirstLoad): Promise<Root> {
  await preloadRoute(window.location.pathname);
  // Every script of the first screen has run by now: the console bench reads this mark.
  performance.mark('console:start');
  handOver(queryClient, first);
  const root = document.getElementById('root')!;
  const page = (
    <ConsoleRoot queryClient={queryClient}>
      <ConsoleRouter history={consoleHistory()}>
        <TakenOver root={root} />
      </ConsoleRouter>
    </ConsoleRoot>
  );
  const renderedAt = root.getAttribute(RENDERED_AT_ATTRIBUTE);
  if (renderedAt === null || root.firstElementChild === null) {
    const drawn = createRoot(root);
    drawn.render(page);
    return drawn;
  }
  setRenderedAt(Number(renderedAt));
  return hydrateRoot(root, page);
}
