import type { FastifyError, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Actor } from '../actor.js';
import type { Config } from '../config.js';
import { DpopRefused, Forbidden, Unauthenticated } from '../errors.js';
import { proofUrl } from '../modules/oauth/dpop.js';
import type { Sessions } from '../modules/auth/sessions.service.js';
import type { AuthFailureRecorder } from '../modules/oauth/auth-failures.js';
import type { SecretUsed, TokenCheck, TokenService } from '../modules/oauth/token.service.js';
import { RateLimited, type Quota } from '../rate-limiting/rate-limiter.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling, once authenticated. */
    actor: Actor | null;
    /** How: a bearer token (machines) or a console session. */
    actorVia: 'bearer' | 'session' | null;
    /** Where a rate-limited client stands, for the RateLimit fields of the answer; null: no limit applies. */
    rateLimit: Quota | null;
  }
}

/** The caller of a route behind the authenticator (which has refused anyone else). */
export const actorOf = (request: FastifyRequest): Actor => request.actor!;

/** `__Host-` (Secure, Path=/, no Domain) when served over HTTPS. */
export function sessionCookieName(config: Pick<Config, 'issuer'>): string {
  return config.issuer.startsWith('https:') ? '__Host-koios_session' : 'koios_session';
}

/**
 * A bearer client refused by a permission check (403, RFC 6750 §3.1 insufficient_scope) is a refusal
 * its admins see beside the failed authentications; a console user's or a CSRF refusal is not.
 */
export function recordPermissionRefusal(failures: Pick<AuthFailureRecorder, 'record'>, request: FastifyRequest, error: unknown): void {
  if (!(error instanceof Forbidden) || error.missing.length === 0 || request.actorVia !== 'bearer' || request.actor?.type !== 'client') return;
  failures.record(request.actor.id, 'insufficient_scope', request.ip);
}

/** RFC 6750 §2.1 and RFC 9449 §7.1: `Bearer` or `DPoP` and a b64token; tokens are never taken from the query or the body. */
const AUTHORIZATION = /^(Bearer|DPoP) +([A-Za-z0-9\-._~+/]+=*) *$/i;

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * A change made with a session cookie must come from the console's own origin
 * (Origin, or Sec-Fetch-Site where a browser sends no Origin) and carry the session's CSRF token
 * in X-CSRF-Token, which a cross-site form or script cannot read or set.
 */
export function checkCsrf(request: FastifyRequest, allowedOrigins: readonly string[], tokenMatches: (presented: string | undefined) => boolean): void {
  if (SAFE_METHODS.has(request.method)) return;
  const origin = request.headers.origin;
  const ownOrigin = `${request.protocol}://${request.host}`;
  if (origin !== undefined && origin !== ownOrigin && !allowedOrigins.includes(origin)) throw new Forbidden('cross-site request refused');
  const site = request.headers['sec-fetch-site'];
  if (origin === undefined && site !== undefined && site !== 'same-origin' && site !== 'none') throw new Forbidden('cross-site request refused');
  const header = request.headers['x-csrf-token'];
  if (!tokenMatches(typeof header === 'string' ? header : undefined)) throw new Forbidden('missing or wrong X-CSRF-Token header');
}

export interface Authenticator {
  /**
   * Authenticates the request or throws Unauthenticated (401) / Forbidden (403, CSRF) / Unavailable
   * (503). The actor comes without a promise when the bearer token and its client's state are in
   * memory (see `authenticationHook`); a promise otherwise, which may reject with the same errors.
   */
  authenticate(request: FastifyRequest): Actor | Promise<Actor>;
}

/**
 * The `onRequest` hook of a door behind the authenticator; `authenticated` hears each caller let
 * in. A callback hook, not an async one: a busy client's token and state are in memory, and
 * then the request goes on without a promise or a turn of the microtask queue.
 */
export function authenticationHook(authenticator: Authenticator, authenticated: (request: FastifyRequest, actor: Actor) => void): onRequestHookHandler {
  return (request, _reply, done) => {
    let actor: Actor | Promise<Actor>;
    try {
      actor = authenticator.authenticate(request);
      if (!(actor instanceof Promise)) authenticated(request, actor);
    } catch (error) {
      done(error as FastifyError);
      return;
    }
    if (!(actor instanceof Promise)) {
      done();
      return;
    }
    // `authenticated` throwing ends the request with its error too, rather than leaving it waiting.
    actor
      .then((known) => authenticated(request, known))
      .then(
        () => done(),
        (error: unknown) => done(error as FastifyError),
      );
  };
}

export interface AuthenticatorDeps {
  readonly config: Pick<Config, 'issuer'>;
  readonly tokens: TokenService;
  readonly failures: AuthFailureRecorder;
  readonly recordUse: (clientId: string, secretUsed: SecretUsed) => void;
  readonly sessions: Sessions;
}

/**
 * The one authentication step for REST and GraphQL. A bearer token goes through every check of
 * the token service on every request (signature from cache, client state live); a request
 * without an Authorization header may carry a console session cookie instead, whose changes
 * pass the CSRF checks.
 */
export function createAuthenticator(deps: AuthenticatorDeps): Authenticator {
  const { tokens, failures, recordUse, sessions } = deps;
  const cookieName = sessionCookieName(deps.config);
  const issuerOrigin = new URL(deps.config.issuer).origin;

  async function sessionUser(request: FastifyRequest): Promise<Actor | null> {
    const token = request.cookies[cookieName];
    const session = token === undefined ? null : await sessions.find(token);
    if (session === null) return null;
    checkCsrf(request, [issuerOrigin], (presented) => sessions.csrfMatches(session, presented));
    return session.actor;
  }

  /** A bearer token's check known: the caller let in, or refused; a DPoP proof is checked first, which may wait. */
  function bearer(request: FastifyRequest, token: string, usedDpop: boolean, result: TokenCheck): Actor | Promise<Actor> {
    if (!result.ok) {
      failures.record(result.clientId, result.reason, request.ip);
      // One answer whatever the reason (expired, revoked, disabled…): the reason is for admins.
      if (result.reason === 'bad_dpop_proof') throw new DpopRefused('invalid_token', 'the client requires DPoP: get a DPoP-bound token');
      throw new Unauthenticated('the access token is invalid, expired or revoked');
    }
    const boundTo = result.claims.cnf?.jkt;
    // RFC 9449 §7.2: a bound token is worthless without its key, so never accepted as a bearer token.
    if (!usedDpop && boundTo !== undefined)
      refuseDpop(request, result, 'invalid_token', 'this access token is bound to a key: send it as "DPoP <access token>" with a DPoP proof');
    if (!usedDpop) return admit(request, result);
    if (boundTo === undefined) refuseDpop(request, result, 'invalid_token', 'this access token is not bound to a key: send it as "Bearer <access token>"');
    return tokens
      .verifyDpopProof({ proof: request.headers.dpop, method: request.method, url: proofUrl(deps.config.issuer, request.url), accessToken: token })
      .then((proof) => {
        if (!proof.ok) refuseDpop(request, result, proof.useNonce === true ? 'use_dpop_nonce' : 'invalid_dpop_proof', proof.description);
        else if (proof.jkt !== boundTo) refuseDpop(request, result, 'invalid_dpop_proof', 'the DPoP proof is signed by another key than the token is bound to');
        return admit(request, result);
      });
  }

  function refuseDpop(request: FastifyRequest, result: Extract<TokenCheck, { ok: true }>, error: DpopRefused['dpopError'], message: string): never {
    // A missing nonce is the protocol's normal first step (RFC 9449 §9), not a refusal to count.
    if (error !== 'use_dpop_nonce') failures.record(result.client.id, 'bad_dpop_proof', request.ip);
    throw new DpopRefused(error, message);
  }

  /** A client whose token passed every check, counted against its requestsPerMinute and as used. */
  function admit(request: FastifyRequest, result: Extract<TokenCheck, { ok: true }>): Actor {
    const quota = (request.rateLimit = tokens.admitApiRequest(result.client, request.ip));
    if (quota?.allowed === false) throw new RateLimited(quota);
    recordUse(result.client.id, result.secretUsed);
    const actor: Actor = { type: 'client', id: result.client.id, name: result.client.name, permissions: result.permissions };
    request.actor = actor;
    request.actorVia = 'bearer';
    return actor;
  }

  async function sessionActor(request: FastifyRequest): Promise<Actor> {
    const user = await sessionUser(request);
    if (user === null) throw new Unauthenticated('authentication required: send Authorization: Bearer <access token>');
    request.actor = user;
    request.actorVia = 'session';
    return user;
  }

  return {
    authenticate(request) {
      const header = request.headers.authorization;
      if (header === undefined) return sessionActor(request);
      const match = AUTHORIZATION.exec(header);
      if (match === null) throw new Unauthenticated('the Authorization header must be "Bearer <access token>" or "DPoP <access token>"');
      const usedDpop = match[1]!.toLowerCase() === 'dpop';
      const token = match[2]!;
      // request.ip is the caller as KOIOS_TRUST_PROXY allows the proxies to say, for the client's allowlist.
      const known = tokens.checkCached(token, request.ip);
      if (known !== undefined) return bearer(request, token, usedDpop, known);
      return tokens.check(token, request.ip).then((result) => bearer(request, token, usedDpop, result));
    },
  };
}
