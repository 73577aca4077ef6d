import { randomBytes } from 'node:crypto';
import { SYSTEM_ACTOR } from '../../src/server/actor.js';
import { PERMISSION_KEYS, type PermissionKey } from '../../src/shared/permissions.js';
import { actorWith } from './oauth.js';
import type { TestServer } from './server.js';

/** A signed-in console user: the cookie, and the CSRF token a change must carry. */
export interface ConsoleSession {
  readonly userId: string;
  readonly cookie: string;
  readonly csrfToken: string;
}

/** Who calls: a bearer token, a console session, a raw Authorization header, or nobody. */
export type Caller = { readonly token: string } | { readonly session: ConsoleSession } | { readonly authorization: string } | null;

export interface RestAnswer<T = Record<string, unknown>> {
  readonly status: number;
  readonly headers: Headers;
  /** The parsed JSON body; null for an empty one. */
  readonly body: T;
  readonly text: string;
}

/** One REST call as a client would make it, through real HTTP. */
export async function rest<T = Record<string, unknown>>(
  server: TestServer,
  method: string,
  path: string,
  caller: Caller,
  body?: unknown,
): Promise<RestAnswer<T>> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (caller !== null && 'token' in caller) headers['authorization'] = `Bearer ${caller.token}`;
  if (caller !== null && 'authorization' in caller) headers['authorization'] = caller.authorization;
  if (caller !== null && 'session' in caller) {
    headers['cookie'] = caller.session.cookie;
    if (method !== 'GET') Object.assign(headers, { 'x-csrf-token': caller.session.csrfToken, origin: server.url });
  }
  const response = await fetch(`${server.url}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: (text.length === 0 ? null : JSON.parse(text)) as T, text };
}

/** `POST /api/v1/session` with email and password, as the console signs in. */
export async function signIn(server: TestServer, email: string, password: string): Promise<ConsoleSession> {
  const response = await fetch(`${server.url}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  if (response.status !== 200) throw new Error(`sign-in failed: ${response.status} ${await response.text()}`);
  const cookie = response.headers.getSetCookie().find((line) => line.startsWith('koios_session='));
  if (cookie === undefined) throw new Error('sign-in set no session cookie');
  const body = (await response.json()) as { user: { id: string }; csrfToken: string };
  return { userId: body.user.id, cookie: cookie.split(';')[0]!, csrfToken: body.csrfToken };
}

export const PASSWORD = 'a long enough password';

/** A unique suffix, so names and emails never collide between tests sharing a server. */
export const unique = () => randomBytes(4).toString('hex');

/** A user created by the operator, with a built-in role, a custom role of `permissions`, or none; signed in. */
export async function userWith(server: TestServer, role: 'Administrator' | 'Viewer' | PermissionKey[] | null, password = PASSWORD) {
  let roleIds: string[] = [];
  if (Array.isArray(role)) roleIds = [(await server.services.roles.create(SYSTEM_ACTOR, { name: `user role ${unique()}`, permissions: role })).id];
  else if (role !== null) roleIds = [(await server.services.roles.list(SYSTEM_ACTOR)).find((candidate) => candidate.name === role)!.id];
  const email = `user-${unique()}@example.com`;
  const user = await server.services.users.create(SYSTEM_ACTOR, { email, password, roleIds });
  return { user, email, password, session: await signIn(server, email, password) };
}

/** Every permission of the catalog but the ones named. */
export const allBut = (...missing: PermissionKey[]): PermissionKey[] => PERMISSION_KEYS.filter((key) => !missing.includes(key));

/** API clients with every permission but one, made once per server and permission. */
export function clientsLackingOne(server: TestServer) {
  const made = new Map<PermissionKey, Promise<{ id: string; token: string }>>();
  return (permission: PermissionKey) => {
    let actor = made.get(permission);
    if (actor === undefined) {
      actor = actorWith(server, `all but ${permission} ${unique()}`, allBut(permission));
      made.set(permission, actor);
    }
    return actor;
  };
}

/**
 * What a refused request must leave as it was: every client, role, user and role assignment, and
 * the audit log (every change writes to it). Times of use and sign-in are left out: they move on reads.
 */
export async function stateOf(server: TestServer) {
  const { db } = server.services;
  const [clients, roles, users, userRoles, audit] = await Promise.all([
    db
      .selectFrom('api_clients')
      .select(['id', 'name', 'description', 'enabled', 'role_id', 'secret_hash', 'secret_generation', 'updated_at'])
      .orderBy('id')
      .execute(),
    db.selectFrom('roles').select(['id', 'name', 'description', 'permissions', 'updated_at']).orderBy('id').execute(),
    db.selectFrom('users').select(['id', 'email', 'name', 'enabled', 'password_hash', 'updated_at']).orderBy('id').execute(),
    db.selectFrom('user_roles').select(['user_id', 'role_id']).orderBy('user_id').orderBy('role_id').execute(),
    db
      .selectFrom('audit_events')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .executeTakeFirstOrThrow(),
  ]);
  return { clients, roles, users, userRoles, auditEvents: Number(audit.n) };
}

/** An RFC 9457 problem body as the API sends it. */
export interface ProblemBody {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: string;
  readonly errors?: { readonly field: string; readonly message: string }[];
}

/** The problem body's field names, for "400 naming the field". */
export const fieldsOf = (answer: RestAnswer<unknown>) => ((answer.body as ProblemBody).errors ?? []).map((error) => error.field);
