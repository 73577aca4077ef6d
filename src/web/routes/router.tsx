import { lazy, Suspense, type ComponentType, type ReactElement } from 'react';
import { Center, Loader } from '@mantine/core';
import { createBrowserRouter, Navigate, type RouteObject } from 'react-router';
import { CONSOLE_PATHS, PUBLIC_CONSOLE_PATHS, type ConsolePath } from '../../shared/console-routes';
import { ClientsPage } from '../features/clients/clients-page';
import { LoginPage } from '../features/session/login-page';
import { RequireSession } from '../features/session/session';
import { Layout } from './layout';
import { NotFoundPage } from './not-found-page';

const toConnections = <Navigate to="/system/connections" replace />;

/**
 * A page in its own chunk, loaded when first visited: the first load carries only the list of API
 * clients (where the console opens) and sign-in.
 */
function page<K extends string>(load: () => Promise<Record<K, ComponentType>>, name: K): ReactElement {
  const Page = lazy<ComponentType>(async () => ({ default: (await load())[name] }));
  return (
    <Suspense
      fallback={
        <Center mih={200}>
          <Loader aria-label="Loading the page" />
        </Center>
      }
    >
      <Page />
    </Suspense>
  );
}

/**
 * The page of each console path. The paths are src/shared/console-routes.ts, which the server
 * also reads: a path added there without a page here (or the reverse) does not compile.
 */
const PAGES: Record<ConsolePath, ReactElement> = {
  '/': toConnections,
  '/login': <LoginPage />,
  '/setup': page(() => import('../features/session/setup-page'), 'SetupPage'),
  '/system': toConnections,
  '/system/connections': <ClientsPage />,
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
    ...PUBLIC_CONSOLE_PATHS.map((path) => ({ path, element: PAGES[path] })),
    {
      element: (
        <RequireSession>
          <Layout />
        </RequireSession>
      ),
      children: [...CONSOLE_PATHS.filter((path) => !isPublic(path)).map((path) => ({ path, element: PAGES[path] })), { path: '*', element: <NotFoundPage /> }],
    },
  ];
}

export function createConsoleRouter() {
  return createBrowserRouter(consoleRoutes());
}
