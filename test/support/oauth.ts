import * as oauth from 'oauth4webapi';
import { SYSTEM_ACTOR } from '../../src/server/actor.js';
import type { PermissionKey } from '../../src/shared/permissions.js';
import type { Services } from '../../src/server/services.js';
import type { TestServer } from './server.js';

/** The test helpers of OAuth clients and their tokens, one copy for every suite. */

/** An API client's id and the secret shown once at creation. */
export interface ClientCredentials {
  readonly id: string;
  readonly secret: string;
}

/** Where the token endpoint is: a server's base URL, or anything with one (a test server, a process). */
export type TokenTarget = string | { readonly url: string };

const baseUrl = (target: TokenTarget) => (typeof target === 'string' ? target : target.url);

/** oauth4webapi refuses http:// issuers unless told; the test servers listen on plain http. */
export const INSECURE = { [oauth.allowInsecureRequests]: true } as const;

/** An OAuth endpoint's answer: status, headers, the raw body and the body as JSON (`{}` when it is not JSON). */
export interface OAuthAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly json: Record<string, unknown>;
}

export async function answerOf(response: Response): Promise<OAuthAnswer> {
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // An empty or non-JSON body: the assertions on `json` will say so.
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** A new API client made by the operator, with the given role id (or none). */
export async function newClient(server: TestServer, name: string, roleId: string | null): Promise<ClientCredentials> {
  const { client, clientSecret } = await server.services.clients.create(SYSTEM_ACTOR, { name, roleId });
  return { id: client.id, secret: clientSecret };
}

/** The ids of the built-in Viewer and Administrator roles. */
export async function builtInRoleIds(server: { readonly services: Pick<Services, 'roles'> }): Promise<{ viewer: string; administrator: string }> {
  const roles = await server.services.roles.list(SYSTEM_ACTOR);
  return { viewer: roles.find((role) => role.name === 'Viewer')!.id, administrator: roles.find((role) => role.name === 'Administrator')!.id };
}

/** `Authorization: Basic` for a client, id and secret form-urlencoded first (RFC 6749 section 2.3.1). */
export const basicHeader = (client: ClientCredentials) =>
  `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64')}`;

/** An access token from /oauth/token (client_secret_post), as a machine would get one; throws unless 200. */
export async function accessToken(target: TokenTarget, client: ClientCredentials, scope?: string): Promise<string> {
  const body = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: client.id,
    client_secret: client.secret,
    ...(scope === undefined ? {} : { scope }),
  });
  const response = await fetch(`${baseUrl(target)}/oauth/token`, { method: 'POST', body });
  if (response.status !== 200) throw new Error(`token request failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

/**
 * An access token through oauth4webapi, a client library that checks the answer as RFC 6749
 * asks, with the client authentication method named (secret in the body, or Basic).
 */
export async function tokenFor(
  as: oauth.AuthorizationServer,
  client: ClientCredentials,
  options: { readonly method: 'client_secret_post' | 'client_secret_basic'; readonly scope?: string | undefined },
): Promise<string> {
  const auth = options.method === 'client_secret_post' ? oauth.ClientSecretPost(client.secret) : oauth.ClientSecretBasic(client.secret);
  const parameters = new URLSearchParams(options.scope === undefined ? {} : { scope: options.scope });
  const response = await oauth.clientCredentialsGrantRequest(as, { client_id: client.id }, auth, parameters, INSECURE);
  return (await oauth.processClientCredentialsResponse(as, { client_id: client.id }, response)).access_token;
}

/** A new API client with a built-in role (or a custom role made with `permissions`, or none), and a token for it. */
export async function actorWith(server: TestServer, name: string, role: 'Administrator' | 'Viewer' | PermissionKey[] | null) {
  let roleId: string | null = null;
  if (Array.isArray(role)) roleId = (await server.services.roles.create(SYSTEM_ACTOR, { name: `${name} role`, permissions: role })).id;
  else if (role !== null) roleId = (await server.services.roles.list(SYSTEM_ACTOR)).find((candidate) => candidate.name === role)!.id;
  const client = await newClient(server, name, roleId);
  return { ...client, token: await accessToken(server, client) };
}
