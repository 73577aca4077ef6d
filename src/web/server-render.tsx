import { QueryClient } from '@tanstack/react-query';
import { renderToString } from 'react-dom/server';
import type { RenderConsole } from '../shared/console-routes';
import { ConsoleRoot } from './console-root';
import { handOver, startFirstLoad } from './first-load';
import { setAnswersInPage, setCsrfToken } from './lib/api';
import { setRenderedAt } from './lib/hydration';
import { preloadRoute, ServerConsoleRouter } from './routes/router';

/** The pages drawn on the server: the list the console opens on, at its own address and without a search. */
const DRAWN = new Set(['/system/connections']);

/**
 * The HTML of the console's first screen for a signed-in browser, drawn with the answers its page
 * carries, so that the first rows are on screen as soon as the page and its CSS have come; the
 * browser then takes it over (hydrateRoot in src/web/app.tsx) with those same answers. Null when
 * this page is not drawn here or an answer it needs is missing: the browser draws it, as before.
 */
export const renderConsole: RenderConsole = async ({ pathname, search, answers, now }) => {
  if (!DRAWN.has(pathname) || search !== '') return null;
  // The browser's own first load, answered from the page's answers alone (each taken as the request starts).
  setAnswersInPage(answers);
  const first = startFirstLoad({ pathname, search });
  const answered = await Promise.all(
    first.requests.map((request) =>
      request.answer.then(
        () => true,
        () => false,
      ),
    ),
  );
  // The session's answer handed its CSRF token to the request module, which sends nothing here.
  setCsrfToken(null);
  if (answered.includes(false)) return null;
  await Promise.all([first.page, preloadRoute(pathname)]);
  const queryClient = new QueryClient();
  try {
    handOver(queryClient, first);
    // Synchronous from here: no other page's clock or answers in between.
    setRenderedAt(now);
    return renderToString(
      <ConsoleRoot queryClient={queryClient}>
        <ServerConsoleRouter location={pathname} />
      </ConsoleRoot>,
    );
  } finally {
    queryClient.clear();
  }
};
