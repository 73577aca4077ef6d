import { MantineProvider } from '@mantine/core';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { ApiError, hadSession, onUnauthorized, setCsrfToken } from './lib/api';
import { loadWhenIdle } from './components/load-when-idle';
import { handOver, type FirstLoad } from './first-load';
import { keepDrafts } from './lib/drafts';
import { consoleHistory } from './routes/navigation';
import { ConsoleRouter, preloadRoute } from './routes/router';
import { cssVariablesResolver, theme } from './theme';

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

// Nothing to show at first: loaded once the first screen is drawn. A notification shown before then waits in its store.
const Notifications = loadWhenIdle(async () => (await import('./components/notifications-host')).NotificationsHost);

/**
 * Draws the console once the code of its first screen is here (src/web/first-load.ts has asked for
 * it already), with the first screen's answers that have come by then.
 */
export async function startConsole(first: FirstLoad): Promise<void> {
  await preloadRoute(window.location.pathname);
  // Every script of the first screen has run by now: the console bench reads this mark.
  performance.mark('console:start');
  handOver(queryClient, first);
  createRoot(document.getElementById('root')!).render(
    <StrictMode>
      <MantineProvider theme={theme} cssVariablesResolver={cssVariablesResolver} defaultColorScheme="auto">
        <Notifications />
        <QueryClientProvider client={queryClient}>
          <ConsoleRouter history={consoleHistory()} />
        </QueryClientProvider>
      </MantineProvider>
    </StrictMode>,
  );
}
