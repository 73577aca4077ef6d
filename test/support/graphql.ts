import { ClientError, GraphQLClient } from 'graphql-request';
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
