import type { ReactElement } from 'react';
import { createBrowserRouter, Navigate, type RouteObject } from 'react-router';
import { CONSOLE_PATHS, PUBLIC_CONSOLE_PATHS, type ConsolePath } from '../../shared/console-routes';
import { AuditPage } from '../features/audit/audit-page';
import { ClientDetailPage } from '../features/clients/client-detail-page';
import { ClientsPage } from '../features/clients/clients-page';
import { RoleDetailPage } from '../features/roles/role-detail-page';
import { RolesPage } from '../features/roles/roles-page';
import { LoginPage } from '../features/session/login-page';
import { RequireSession } from '../features/session/session';
import { SetupPage } from '../features/session/setup-page';
import { UserDetailPage } from '../features/users/user-detail-page';
import { UsersPage } from '../features/users/users-page';
import { Layout } from './layout';
import { NotFoundPage } from './not-found-page';

const toConnections = <Navigate to="/system/connections" replace />;

/**
 * The page of each console path. The paths are src/shared/console-routes.ts, which the server
 * also reads: a path added there without a page here (or the reverse) does not compile.
 */
const PAGES: Record<ConsolePath, ReactElement> = {
  '/': toConnections,
  '/login': <LoginPage />,
  '/setup': <SetupPage />,
  '/system': toConnections,
  '/system/connections': <ClientsPage />,
  '/system/connections/:id': <ClientDetailPage />,
  '/users': <UsersPage />,
  '/users/:id': <UserDetailPage />,
  '/roles': <RolesPage />,
  '/roles/:id': <RoleDetailPage />,
  '/audit': <AuditPage />,
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
