import { api, setCsrfToken } from '../../lib/api';
import type { Me, Session } from '../../lib/types';

/** The session's requests and cache keys, free of React: the first screen asks for them before React loads. */

export const sessionKey = ['session'] as const;
export const meKey = ['me'] as const;

/** GET /api/v1/session; its CSRF token is handed to the API wrapper for every later change. */
export async function fetchSession(): Promise<Session> {
  const session = await api.get<Session>('/api/v1/session');
  setCsrfToken(session.csrfToken);
  return session;
}

/** Who is signed in and what they may do now (GET /api/v1/me). */
export const fetchMe = () => api.get<Me>('/api/v1/me');
