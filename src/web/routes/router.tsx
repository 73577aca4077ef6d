import type { ComponentType } from 'react';
import { createBrowserRouter, Navigate, type RouteObject } from 'react-router';
import { CONSOLE_PATHS, PUBLIC_CONSOLE_PATHS, type ConsolePath } from '../../shared/console-routes';
import { RequireSession } from '../features/session/session';

type Page = Omit<RouteObject, 'path' | 'children' | 'index'>;

const toConnections: Page = { element: <Navigate to="/system/connections" replace /> };

/**
 * A page in its own chunk, which the router loads before showing it: the first load carries only
 * the page it opens on (src/web/first-load.ts starts that chunk with the HTML's own script).
 */
function page<K extends string>(load: () => Promise<Record<K, ComponentType>>, name: K): Page {
  return { lazy: async () => ({ Component: (await load())[name] }) };
}

/**
 * The page of each console path. The paths are src/shared/console-routes.ts, which the server
 * also reads: a path added there without a page here (or the reverse) does not compile.
 */
const PAGES: Record<ConsolePath, Page> = {
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

const isPublic = (path: ConsolePath) => (PUBLIC_CONSOLE_PATHS as readonly ConsolePath[]).includes(path);

/** Sign-in and setup stand alone; every other page needs a session and sits in the layout. */
export function consoleRoutes(): RouteObject[] {
  return [
    ...PUBLIC_CONSOLE_PATHS.map((path) => ({ path, ...PAGES[path] })),
    {
      lazy: async () => {
        const { Layout } = await import('./layout');
        return {
          element: (
            <RequireSession>
              <Layout />
            </RequireSession>
          ),
        };
      },
      children: [
        ...CONSOLE_PATHS.filter((path) => !isPublic(path)).map((path) => ({ path, ...PAGES[path] })),
        { path: '*', ...page(() => import('./not-found-page'), 'NotFoundPage') },
      ],
    },
  ];
}

export function createConsoleRouter() {
  return createBrowserRouter(consoleRoutes());
}
