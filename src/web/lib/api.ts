/**
 * The console's one door to the server. Every request carries the session cookie (same origin);
 * every change carries the session's CSRF token; every failure becomes an ApiError
 * holding the RFC 9457 problem body, so a form can put `errors[].message` under its field.
 */

import { FIRST_DATA_ELEMENT_ID } from '../../shared/console-routes';
import type { Problem as ProblemBody } from '../../shared/schemas/problem';

/** The server's problem details without the type URI: the console goes by `code`, and makes problems of its own (network, internal) that have none. */
export type Problem = Omit<ProblemBody, 'type'>;

export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail || problem.title);
    this.name = 'ApiError';
  }

  get status(): number {
    return this.problem.status;
  }

  /** The message for one field (`name`, `roleIds[0]`…), or undefined. */
  fieldError(field: string): string | undefined {
    return this.problem.errors?.find((error) => error.field === field || error.field.startsWith(`${field}[`) || error.field.startsWith(`${field}.`))?.message;
  }
}

/** The problem of any thrown value, for showing "what went wrong" where it happened. */
export function problemOf(error: unknown): Problem {
  if (error instanceof ApiError) return error.problem;
  return { title: 'Something went wrong', status: 0, detail: error instanceof Error ? error.message : String(error), code: 'internal' };
}

/** A sentence for a notification or an alert: the server's detail, capitalised. */
export function errorMessage(error: unknown): string {
  const { detail, title } = problemOf(error);
  const text = detail || title;
  return text.charAt(0).toUpperCase() + text.slice(1);
}

let csrfToken: string | null = null;

/** Set from the session response (sign-in, setup, or GET /api/v1/session at start). */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** What a person is told when their session ended under them (expired, or signed out elsewhere). */
export const SESSION_ENDED = 'Your session has ended — sign in again';

/** Whether this page had a session (it holds a CSRF token): a 401 then means the session ended. */
export function hadSession(): boolean {
  return csrfToken !== null;
}

let unauthorizedHandler: (() => void) | null = null;
/** A 401 answered before the console set its handler (the first requests start before React loads). */
let unauthorizedEarly = false;

function unauthorized(): void {
  if (unauthorizedHandler === null) unauthorizedEarly = true;
  else unauthorizedHandler();
}

/** What to do when the session has ended (401); a 401 that came before the handler was set is handled at once. */
export function onUnauthorized(handler: () => void): void {
  unauthorizedHandler = handler;
  if (unauthorizedEarly) {
    unauthorizedEarly = false;
    handler();
  }
}

/** Sign-in, sign-out and setup answer 401 as part of their own flow, not because the session ended. */
const OWN_401 = /^\/api\/v1\/(session|setup)(\?|$)/;

const SAFE_METHODS = new Set(['GET', 'HEAD']);

export type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface RequestOptions {
  readonly body?: unknown;
  readonly query?: Record<string, string | number | null | undefined>;
  readonly signal?: AbortSignal;
}

function withQuery(path: string, query: RequestOptions['query']): string {
  if (query === undefined) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  const text = params.toString();
  return text === '' ? path : `${path}?${text}`;
}

async function readProblem(response: Response): Promise<Problem> {
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text) as Partial<Problem>;
    if (typeof body === 'object' && body !== null && (typeof body.detail === 'string' || typeof body.title === 'string')) {
      return {
        title: body.title ?? response.statusText,
        status: body.status ?? response.status,
        detail: body.detail ?? body.title ?? '',
        code: body.code ?? 'internal',
        ...(Array.isArray(body.errors) ? { errors: body.errors } : {}),
      };
    }
  } catch {
    // Not JSON: a proxy's page, or nothing at all.
  }
  return { title: response.statusText || 'Request failed', status: response.status, detail: `the server answered ${response.status}`, code: 'internal' };
}

/**
 * The API answers the server put in the page for a signed-in browser (src/server/http/console.ts),
 * by URL: the first load's requests take them instead of asking again, once each.
 */
const answersInPage: Map<string, unknown> = (() => {
  const element = typeof document === 'undefined' ? null : document.getElementById(FIRST_DATA_ELEMENT_ID);
  if (element === null) return new Map();
  try {
    return new Map(Object.entries(JSON.parse(element.textContent ?? '') as Record<string, unknown>));
  } catch {
    return new Map();
  }
})();

/** On the server (src/web/server-render.tsx): the answers its page is drawn with, taken as the browser takes those in its page. */
export function setAnswersInPage(answers: Readonly<Record<string, unknown>>): void {
  answersInPage.clear();
  for (const [url, answer] of Object.entries(answers)) answersInPage.set(url, answer);
}

/** Once the first load has asked: a later request wants the server's answer of then, not the page's. */
export function forgetAnswersInPage(): void {
  answersInPage.clear();
}

export async function request<T>(method: Method, path: string, options: RequestOptions = {}): Promise<T> {
  if (method === 'GET' && answersInPage.size > 0) {
    const url = withQuery(path, options.query);
    if (answersInPage.has(url)) {
      const answer = answersInPage.get(url);
      answersInPage.delete(url);
      return answer as T;
    }
  }
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  if (!SAFE_METHODS.has(method) && csrfToken !== null) headers['X-CSRF-Token'] = csrfToken;
  let response: Response;
  try {
    response = await fetch(withQuery(path, options.query), {
      method,
      headers,
      credentials: 'same-origin',
      body: options.body === undefined ? null : JSON.stringify(options.body),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError({ title: 'Network error', status: 0, detail: 'the server cannot be reached; check the connection and try again', code: 'network' });
  }
  if (!response.ok) {
    const problem = await readProblem(response);
    if (response.status === 401 && !OWN_401.test(path)) {
      unauthorized();
      // The server's words are for developers ("send Authorization: Bearer …"); say what happened.
      throw new ApiError({ ...problem, title: 'Session ended', detail: SESSION_ENDED, code: 'session_ended' });
    }
    throw new ApiError(problem);
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

export const api = {
  get: <T>(path: string, query?: RequestOptions['query'], signal?: AbortSignal) =>
    request<T>('GET', path, { ...(query === undefined ? {} : { query }), ...(signal === undefined ? {} : { signal }) }),
  post: <T>(path: string, body?: unknown) => request<T>('POST', path, body === undefined ? {} : { body }),
  patch: <T>(path: string, body: unknown) => request<T>('PATCH', path, { body }),
  put: <T>(path: string, body: unknown) => request<T>('PUT', path, { body }),
  delete: (path: string) => request<void>('DELETE', path),
};
