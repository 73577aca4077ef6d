import { Center } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { Navigate, useLocation, useNavigate } from 'react-router';
import { ErrorAlert } from '../../components/error-alert';
import { api, ApiError, setCsrfToken } from '../../lib/api';
import { keepDrafts } from '../../lib/drafts';
import type { PermissionKey, Session } from '../../lib/types';
import { fetchMe, fetchSession, meKey, sessionKey } from './session.requests';

/** The console session; its CSRF token is handed to the API wrapper for every later change. */
export function useSession() {
  return useQuery({
    queryKey: sessionKey,
    queryFn: fetchSession,
    retry: false,
    staleTime: Infinity,
  });
}

/** Who is signed in and what they may do now (GET /api/v1/me). */
export function useMe() {
  return useQuery({ queryKey: meKey, queryFn: fetchMe, staleTime: 30_000 });
}

/** Whether the signed-in user holds `key`; true until known, since the server decides anyway. */
export function useCan(): (key: PermissionKey) => boolean {
  const { data } = useMe();
  return (key) => data === undefined || data.permissions.includes(key);
}

/** Where to return after signing in: only a path on this site (no open redirect). */
export function safeNext(raw: string | null): string {
  if (raw === null || !raw.startsWith('/') || raw.startsWith('//') || raw.startsWith('/\\') || raw.startsWith('/login')) return '/system/connections';
  return raw;
}

/** Signs in from the session response of sign-in or setup: the cache and the CSRF token. */
export function useAcceptSession() {
  const queryClient = useQueryClient();
  return (session: Session) => {
    queryClient.clear();
    setCsrfToken(session.csrfToken);
    keepDrafts(false);
    queryClient.setQueryData(sessionKey, session);
  };
}

export function useSignOut() {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  return useMutation({
    mutationFn: () => api.delete('/api/v1/session'),
    onSettled: () => {
      setCsrfToken(null);
      queryClient.clear();
      void navigate('/login', { replace: true });
    },
  });
}

/** The console's pages need a session: without one, go to sign-in and come back afterwards. */
export function RequireSession({ children }: { children: ReactNode }) {
  const session = useSession();
  const location = useLocation();
  // While the session is being checked the page already asks for its own data (me, the list) in
  // parallel: one round trip to the first row instead of three. A 401 among them leads to sign-in.
  if (session.error instanceof ApiError && session.error.status === 401) {
    const next = location.pathname + location.search;
    return <Navigate to={next === '/' ? '/login' : `/login?next=${encodeURIComponent(next)}`} replace />;
  }
  if (session.error !== null) {
    return (
      <Center h="100vh" p="md">
        <ErrorAlert error={session.error} title="The console cannot reach the server" onRetry={() => void session.refetch()} />
      </Center>
    );
  }
  return children;
}
