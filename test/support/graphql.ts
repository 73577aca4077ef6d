import { ClientError, GraphQLClient } from 'graphql-request';
import { SYSTEM_ACTOR } from '../../src/server/actor.js';
import type { PermissionKey } from '../../src/shared/permissions.js';
import type { TestServer } from './server.js';

/** What a GraphQL test looks at: the HTTP status, the data, each error's message and extensions. */
export interface GraphQLAnswer<T = Record<string, unknown>> {
  readonly status: number;
  readonly data: T | null | undefined;
  readonly errors: readonly { message: string; path?: readonly (string | number)[]; extensions?: Record<string, unknown> }[];
  readonly headers: Headers;
}

/** The `extensions.code` of every error, in order. */
export const codesOf = (answer: GraphQLAnswer<unknown>) => answer.errors.map((error) => error.extensions?.['code']);

/** An access token from /oauth/token (client_secret_post), as a machine would get one. */
export async function accessToken(server: TestServer, client: { id: string; secret: string }, scope?: string): Promise<string> {
  const body = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: client.id,
    client_secret: client.secret,
    ...(scope === undefined ? {} : { scope }),
  });
  const response = await fetch(`${server.url}/oauth/token`, { method: 'POST', body });
  if (response.status !== 200) throw new Error(`token request failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

/** A new API client with a built-in role (or a custom role made with `permissions`, or none), and a token for it. */
export async function principalWith(server: TestServer, name: string, role: 'Administrator' | 'Viewer' | PermissionKey[] | null) {
  let roleId: string | null = null;
  if (Array.isArray(role)) roleId = (await server.services.roles.create(SYSTEM_ACTOR, { name: `${name} role`, permissions: role })).id;
  else if (role !== null) roleId = (await server.services.roles.list(SYSTEM_ACTOR)).find((candidate) => candidate.name === role)!.id;
  const created = await server.services.clients.create(SYSTEM_ACTOR, { name, roleId });
  const client = { id: created.client.id, secret: created.clientSecret };
  return { ...client, token: await accessToken(server, client) };
}

/** A graphql-request client for the server's /graphql with a bearer token; errors come back, never thrown. */
export function graphqlClient(server: TestServer, token: string | null) {
  const client = new GraphQLClient(`${server.url}/graphql`, {
    errorPolicy: 'all',
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
  });
  return async <T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<GraphQLAnswer<T>> => {
    try {
      const response = await client.rawRequest<T>(query, variables);
      return { status: response.status, data: response.data, errors: (response.errors ?? []) as GraphQLAnswer['errors'], headers: response.headers };
    } catch (error) {
      if (!(error instanceof ClientError)) throw error;
      const { status, data, errors, headers } = error.response;
      return { status, data: data as T | undefined, errors: (errors ?? []) as GraphQLAnswer['errors'], headers };
    }
  };
}

/** A raw POST to /graphql, for what graphql-request will not send (batches, bad bodies). */
export async function postGraphql(server: TestServer, token: string | null, body: string, contentType = 'application/json') {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': contentType, ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
    body,
  });
  const text = await response.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: response.status, headers: response.headers, text, json };
}
