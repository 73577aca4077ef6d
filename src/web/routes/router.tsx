import { createBrowserRouter, Navigate } from 'react-router';
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

/**
 * The console's routes (CONTRACT §8). The server answers index.html for exactly these paths
 * (src/server/http/console.ts): keep the two lists in step.
 */
export const CONSOLE_PATHS = [
  '/',
  '/login',
  '/setup',
  '/system/connections',
  '/system/connections/:id',
  '/users',
  '/users/:id',
  '/roles',
  '/roles/:id',
  '/audit',
] as const;

export function createConsoleRouter() {
  return createBrowserRouter([
    { path: '/login', element: <LoginPage /> },
    { path: '/setup', element: <SetupPage /> },
    {
      element: (
        <RequireSession>
          <Layout />
        </RequireSession>
      ),
      children: [
        { index: true, element: <Navigate to="/system/connections" replace /> },
        { path: 'system', element: <Navigate to="/system/connections" replace /> },
        { path: 'system/connections', element: <ClientsPage /> },
        { path: 'system/connections/:id', element: <ClientDetailPage /> },
        { path: 'users', element: <UsersPage /> },
        { path: 'users/:id', element: <UserDetailPage /> },
        { path: 'roles', element: <RolesPage /> },
        { path: 'roles/:id', element: <RoleDetailPage /> },
        { path: 'audit', element: <AuditPage /> },
        { path: '*', element: <NotFoundPage /> },
      ],
    },
  ]);
}
