import { createElement, lazy, startTransition, Suspense, useLayoutEffect, useState, type ComponentType, type ReactNode } from 'react';
import { createPath, matchRoutes, Navigate, Router, useRoutes, type Navigator, type RouteObject } from 'react-router';
import { CONSOLE_PATHS, PUBLIC_CONSOLE_PATHS, type ConsolePath } from '../../shared/console-routes';
import { RequireSession } from '../features/session/session';
import type { ConsoleHistory } from './navigation';

type Page = Pick<RouteObject, 'element' | 'handle'>;

/** What a route's handle holds: how to load its code ahead of drawing it. */
interface Preload {
  readonly preload: () => Promise<unknown>;
}

const toConnections: Page = { element: <Navigate to="/system/connections" replace /> };

/**
 * A component in its own chunk. Once loaded it is drawn at once; before that, React suspends on it
 * (a navigation is a transition, so the page left stays on screen meanwhile). The first screen is
 * loaded before the first render (`preloadRoute`): a first render that suspended would show its
 * content only at React's next reveal, up to 300 ms later.
 */
function lazyPart(load: () => Promise<ComponentType>): { readonly Part: ComponentType; readonly preload: () => Promise<unknown> } {
  let loaded: ComponentType | undefined;
  let loading: Promise<ComponentType> | undefined;
  const preload = () => (loading ??= load().then((component) => (loaded = component)));
  const Lazy = lazy(async () => ({ default: await preload() }));
  return { Part: () => (loaded === undefined ? <Lazy /> : createElement(loaded)), preload };
}

/** A page in its own chunk: the first load carries only the page it opens on (src/web/first-load.ts starts that chunk with the HTML's own script). */
function page<K extends string>(load: () => Promise<Record<K, ComponentType>>, name: K): Page {
  const { Part, preload } = lazyPart(async () => (await load())[name]);
  return { element: <Part />, handle: { preload } satisfies Preload };
}

const layout = lazyPart(async () => (await import('./layout')).Layout);

/**
 * The page of each console path. The paths are src/shared/console-routes.ts, which the server
 * also reads: a path added there without a page here (or the reverse) does not compile.
 */
function pages(): Record<ConsolePath, Page> {
  return {
    '/': toConnections,
    '/login': page(() => import('../features/session/login-page'), 'LoginPage'),
    '/setup': page(() => import('../features/session/setup-page'), 'SetupPage'),
    '/system': toConnections,
    '/system/overview': page(() => import('../features/usage/overview-page'), 'OverviewPage'),
    '/system/connections': page(() => import('../features/clients/clients-page'), 'ClientsPage'),
    '/system/connections/:id': page(() => import('../features/clients/client-detail-page'), 'ClientDetailPage'),
    '/users': page(() => import('../features/users/users-page'), 'UsersPage'),
    '/users/:id': page(() => import('../features/users/user-detail-page'), 'UserDetailPage'),
    '/roles': page(() => import('../features/roles/roles-page'), 'RolesPage'),
    '/roles/:id': page(() => import('../features/roles/role-detail-page'), 'RoleDetailPage'),
    '/audit': page(() => import('../features/audit/audit-page'), 'AuditPage'),
  };
}

const isPublic = (path: ConsolePath) => (PUBLIC_CONSOLE_PATHS as readonly ConsolePath[]).includes(path);

/** Sign-in and setup stand alone; every other page needs a session and sits in the layout. */
export function consoleRoutes(): RouteObject[] {
  const PAGES = pages();
  return [
    ...PUBLIC_CONSOLE_PATHS.map((path) => ({ path, ...PAGES[path] })),
    {
      element: (
        <RequireSession>
          <layout.Part />
        </RequireSession>
      ),
      handle: { preload: layout.preload } satisfies Preload,
      children: [
        ...CONSOLE_PATHS.filter((path) => !isPublic(path)).map((path) => ({ path, ...PAGES[path] })),
        { path: '*', ...page(() => import('./not-found-page'), 'NotFoundPage') },
      ],
    },
  ];
}

let routes: RouteObject[] | undefined;
// Made once: a lazy page made anew on each render would load and mount anew.
const theRoutes = () => (routes ??= consoleRoutes());

function ConsoleRoutes() {
  return useRoutes(theRoutes());
}

/** Loads the code of the pages that `pathname` draws, so that the first render shows them at once. */
export async function preloadRoute(pathname: string): Promise<void> {
  await Promise.all((matchRoutes(theRoutes(), pathname) ?? []).map((match) => (match.route.handle as Preload | undefined)?.preload()));
}

/**
 * react-router's declarative router on the console's history (./navigation.ts), which can hold a
 * navigation while unsaved edits are asked about.
 */
export function ConsoleRouter({ history, children }: { history: ConsoleHistory; children?: ReactNode }) {
  const [state, setState] = useState({ action: history.action, location: history.location });
  useLayoutEffect(() => history.listen((update) => startTransition(() => setState(update))), [history]);
  return (
    <Router location={state.location} navigationType={state.action} navigator={history}>
      <Pages>{children}</Pages>
    </Router>
  );
}

/**
 * The pages in their boundary, with `children` beside them (nothing on screen): what must wait
 * until the page itself is there. One shape for the browser and the server, whose page the
 * browser takes over: React's ids count the elements of each list, so even an empty place counts.
 */
function Pages({ children }: { children?: ReactNode }) {
  return (
    <Suspense fallback={null}>
      <ConsoleRoutes />
      {children}
    </Suspense>
  );
}

const nowhere = () => {
  throw new Error('the server draws one address: nothing navigates there');
};
const serverNavigator: Navigator = { createHref: (to) => (typeof to === 'string' ? to : createPath(to)), push: nowhere, replace: nowhere, go: nowhere };

/** The console's router on the server (src/web/server-render.tsx), at the one address it draws, in the same tree as ConsoleRouter's. */
export function ServerConsoleRouter({ location }: { location: string }) {
  return (
    <Router location={location} navigator={serverNavigator} static>
      <Pages />
    </Router>
  );
}
