import type { FastifyRequest } from 'fastify';
import type { Actor } from '../../actor.js';
import { Unauthenticated } from '../../errors.js';
import type { AuthFailureRecorder } from '../oauth/auth-failures.js';
import type { TokenService } from '../oauth/token.service.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling, once authenticated. */
    principal: Actor | null;
    /** How: a bearer token (machines) or a console session. */
    principalVia: 'bearer' | 'session' | null;
  }
}

/** RFC 6750 §2.1: `Bearer` and a b64token; tokens are never taken from the query or the body (SECURITY 13). */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

export interface SessionAuthenticator {
  /** The signed-in user behind the request's session cookie, or null. */
  (request: FastifyRequest): Promise<Actor | null>;
}

export interface Authenticator {
  /** Authenticates the request or throws Unauthenticated (401) / Unavailable (503). */
  authenticate(request: FastifyRequest): Promise<Actor>;
}

/**
 * The one authentication step for REST and GraphQL. A bearer token goes through every check of
 * the token service on every request (signature from cache, client state live); a request
 * without an Authorization header may carry a console session instead.
 */
export function createAuthenticator(deps: {
  tokens: TokenService;
  failures: AuthFailureRecorder;
  recordUse: (clientId: string) => void;
  session?: SessionAuthenticator;
}): Authenticator {
  const { tokens, failures, recordUse } = deps;
  return {
    async authenticate(request) {
      const header = request.headers.authorization;
      if (header === undefined) {
        const user = deps.session === undefined ? null : await deps.session(request);
        if (user === null) throw new Unauthenticated('authentication required: send Authorization: Bearer <access token>');
        request.principal = user;
        request.principalVia = 'session';
        return user;
      }
      const match = BEARER.exec(header);
      if (match === null) throw new Unauthenticated('the Authorization header must be "Bearer <access token>"');
      const result = await tokens.check(match[1]!);
      if (!result.ok) {
        failures.record(result.clientId, result.reason, request.ip);
        // One answer whatever the reason (expired, revoked, disabled…): the reason is for admins.
        throw new Unauthenticated('the access token is invalid, expired or revoked');
      }
      recordUse(result.client.id);
      const actor: Actor = { type: 'client', id: result.client.id, name: result.client.name, permissions: result.permissions };
      request.principal = actor;
      request.principalVia = 'bearer';
      return actor;
    },
  };
}
