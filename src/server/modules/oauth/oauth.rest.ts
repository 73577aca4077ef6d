import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../config.js';
import { Unavailable } from '../../errors.js';
import { methodsOtherThan } from '../../http/method-not-allowed.js';
import { problem, sendProblem } from '../../http/problem.js';
import { rateLimitHeaders } from '../../http/rate-limit-headers.js';
import { PERMISSION_KEYS } from '../../../shared/permissions.js';
import { InvalidClient, InvalidRequest, OAuthError, TemporarilyUnavailable, TokenRateLimited, TooManyAttempts, UnsupportedGrantType } from './oauth.errors.js';
import {
  ACCESS_TOKEN_TYPE,
  SUBJECT_TOKEN_TYPES,
  TOKEN_EXCHANGE_GRANT,
  type AuthenticatedClient,
  type ClientAssertionCredentials,
  type ClientCredentials,
  type TokenExchangeRequest,
  type TokenService,
} from './token.service.js';
import { JWT_BEARER_ASSERTION_TYPE } from './client-assertion.js';
import { ASSERTION_ALGORITHMS } from '../../../shared/public-keys.js';
import type { SigningKeys } from './signing-keys.js';
import { DPOP_ALGORITHMS, proofUrl, type DpopProofRequest } from './dpop.js';

/** A parsed form body; a repeated parameter is an error (RFC 6749 §3.2), so values are single. */
type Form = ReadonlyMap<string, string>;
const UNSUPPORTED_BODY = Symbol('unsupported body');
const FORM_LIMIT_BYTES = 16 * 1024;

function parseForm(body: string): Form {
  const form = new Map<string, string>();
  // Nothing to decode (no escapes, no `+`, no leading `?`, as in `grant_type=client_credentials`):
  // the pairs are the text itself, as URLSearchParams would give them, without its iterator.
  if (body.includes('%') || body.includes('+') || body.startsWith('?')) {
    for (const [name, value] of new URLSearchParams(body)) addParameter(form, name, value);
    return form;
  }
  for (const pair of body.split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    if (equals === -1) addParameter(form, pair, '');
    else addParameter(form, pair.slice(0, equals), pair.slice(equals + 1));
  }
  return form;
}

function addParameter(form: Map<string, string>, name: string, value: string): void {
  if (form.has(name)) throw new InvalidRequest(`the parameter ${name.slice(0, 64)} is repeated`);
  form.set(name, value);
}

/** RFC 6749 §2.3.1: id and secret are form-urlencoded before Base64, so `:`, `%` and `+` survive. */
function parseBasic(header: string): { clientId: string; clientSecret: string } | null {
  const match = /^Basic ([A-Za-z0-9+/]+=*)$/i.exec(header.trim());
  if (match === null) return null;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return null;
  try {
    return { clientId: formDecode(decoded.slice(0, colon)), clientSecret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    return null;
  }
}

/** One form-urlencoded part; generated ids and secrets have nothing to decode, and are left as they are. */
const formDecode = (part: string): string => (part.includes('%') || part.includes('+') ? decodeURIComponent(part.replace(/\+/g, ' ')) : part);

/**
 * RFC 7523 §2.2 (private_key_jwt): the assertion, when the form carries one, alone (RFC 6749 §2.3:
 * one authentication method per request); undefined when the client uses a secret.
 */
function assertionOf(request: FastifyRequest, form: Form, issuer: string): ClientAssertionCredentials | undefined {
  const type = form.get('client_assertion_type');
  const assertion = form.get('client_assertion');
  if (type === undefined && assertion === undefined) return undefined;
  if (request.headers.authorization !== undefined || form.has('client_secret')) {
    throw new InvalidRequest('use one client authentication method: a client assertion, Basic or client_secret, not several');
  }
  if (type !== JWT_BEARER_ASSERTION_TYPE || assertion === undefined) throw new InvalidClient(false);
  return { assertion, clientId: form.get('client_id'), endpoint: `${issuer}${request.routeOptions.url ?? ''}` };
}

/** The client's credentials from exactly one method: `client_secret_basic` or `client_secret_post`. */
function credentialsOf(request: FastifyRequest, form: Form): ClientCredentials {
  const authorization = request.headers.authorization;
  const inBody = form.has('client_secret');
  if (authorization !== undefined) {
    if (inBody) throw new InvalidRequest('use one client authentication method: Basic or client_secret in the body, not both');
    const basic = parseBasic(authorization);
    if (basic === null) throw new InvalidClient(true);
    const bodyId = form.get('client_id');
    if (bodyId !== undefined && bodyId !== basic.clientId) throw new InvalidRequest('client_id in the body does not match the Authorization header');
    return { ...basic, usedBasic: true };
  }
  const clientId = form.get('client_id');
  const clientSecret = form.get('client_secret');
  if (clientId === undefined || clientSecret === undefined) throw new InvalidClient(false);
  return { clientId, clientSecret, usedBasic: false };
}

/**
 * RFC 8693 §2.1 for workload identity federation: the workload's own OIDC token is the credential,
 * so no client secret comes with it, and the client is named by client_id.
 */
function exchangeRequestOf(request: FastifyRequest, form: Form, dpop: DpopProofRequest | undefined): TokenExchangeRequest {
  if (request.headers.authorization !== undefined || form.has('client_secret')) {
    throw new InvalidRequest('a token exchange is authenticated by its subject_token; send client_id and no client secret');
  }
  const clientId = form.get('client_id');
  if (clientId === undefined || clientId === '') throw new InvalidRequest('client_id is required');
  const subjectToken = form.get('subject_token');
  if (subjectToken === undefined || subjectToken === '') throw new InvalidRequest('subject_token is required');
  const subjectTokenType = form.get('subject_token_type');
  if (subjectTokenType === undefined || !SUBJECT_TOKEN_TYPES.includes(subjectTokenType)) {
    throw new InvalidRequest(`subject_token_type must be one of ${SUBJECT_TOKEN_TYPES.join(', ')}`);
  }
  // Delegation (an actor acting for the subject) is not offered; only this one kind of token is issued.
  if (form.has('actor_token')) throw new InvalidRequest('actor_token is not supported');
  const requested = form.get('requested_token_type');
  if (requested !== undefined && requested !== ACCESS_TOKEN_TYPE) throw new InvalidRequest(`requested_token_type must be ${ACCESS_TOKEN_TYPE}`);
  return { clientId, subjectToken, scope: form.get('scope'), dpop };
}

/** RFC 9449 §5: a token request's DPoP proof, to bind the token to its key; undefined without a DPoP header. */
const dpopProofOf = (request: FastifyRequest, issuer: string): DpopProofRequest | undefined =>
  request.headers.dpop === undefined ? undefined : { proof: request.headers.dpop, method: request.method, url: proofUrl(issuer, request.url) };

function formOf(request: FastifyRequest): Form {
  // RFC 6749 §2.3.1: credentials in the query string leak into logs and histories; refuse any.
  const query = request.query as Record<string, unknown>;
  if (Object.keys(query).length > 0) throw new InvalidRequest('parameters must be sent in a form-encoded POST body, not in the query string');
  const body = request.body as Form | typeof UNSUPPORTED_BODY | undefined | null;
  if (body === UNSUPPORTED_BODY || body === undefined || body === null) throw new InvalidRequest('the body must be application/x-www-form-urlencoded');
  return body;
}

function sendOAuthError(reply: FastifyReply, error: OAuthError): FastifyReply {
  if ((error instanceof InvalidClient && error.usedBasic) || (error instanceof TooManyAttempts && error.usedBasic)) {
    void reply.header('WWW-Authenticate', 'Basic realm="koios", charset="UTF-8"');
  }
  if (error instanceof TooManyAttempts) void reply.header('Retry-After', String(error.retryAfterSeconds));
  if (error instanceof TokenRateLimited) void reply.header('Retry-After', String(error.quota.resetSeconds)).headers(rateLimitHeaders(error.quota));
  return reply
    .code(error.status)
    .header('Cache-Control', 'no-store')
    .header('Pragma', 'no-cache')
    .type('application/json')
    .send({ error: error.error, error_description: error.description });
}

/** RFC 8414 §2: how clients may authenticate at the token, introspection and revocation endpoints. */
const AUTH_METHODS_SUPPORTED = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'];

export interface OAuthRoutesDeps {
  readonly config: Config;
  readonly tokens: TokenService;
  readonly signingKeys: SigningKeys;
}

/** RFC 8414 metadata, the JWKS, and the token, introspection and revocation endpoints. */
export async function oauthRoutes(app: FastifyInstance, deps: OAuthRoutesDeps): Promise<void> {
  const { config, tokens, signingKeys } = deps;

  app.get('/.well-known/oauth-authorization-server', async (_request, reply) => {
    void reply.header('Cache-Control', 'public, max-age=300');
    return {
      issuer: config.issuer,
      token_endpoint: `${config.issuer}/oauth/token`,
      jwks_uri: `${config.issuer}/.well-known/jwks.json`,
      introspection_endpoint: `${config.issuer}/oauth/introspect`,
      revocation_endpoint: `${config.issuer}/oauth/revoke`,
      grant_types_supported: ['client_credentials', TOKEN_EXCHANGE_GRANT],
      response_types_supported: [],
      token_endpoint_auth_methods_supported: AUTH_METHODS_SUPPORTED,
      token_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGORITHMS,
      introspection_endpoint_auth_methods_supported: AUTH_METHODS_SUPPORTED,
      introspection_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGORITHMS,
      revocation_endpoint_auth_methods_supported: AUTH_METHODS_SUPPORTED,
      revocation_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGORITHMS,
      scopes_supported: [...PERMISSION_KEYS],
      access_token_signing_alg_values_supported: ['EdDSA'],
      dpop_signing_alg_values_supported: [...DPOP_ALGORITHMS],
    };
  });

  app.get('/.well-known/jwks.json', async (_request, reply) => {
    // Short: after a rotation resource servers should find the new key soon (they also refetch on an unknown kid).
    void reply.header('Cache-Control', 'public, max-age=60');
    return signingKeys.jwks();
  });

  // The metadata documents are read-only: any other method is 405 with the two that work.
  for (const url of ['/.well-known/oauth-authorization-server', '/.well-known/jwks.json']) {
    app.route({
      method: methodsOtherThan(app, ['GET', 'HEAD']),
      url,
      exposeHeadRoute: false,
      handler: async (request, reply) =>
        sendProblem(reply.header('Allow', 'GET, HEAD'), problem('method_not_allowed', 405, `${request.method} is not a method of this path; use GET, HEAD`)),
    });
  }

  await app.register(async (scope) => {
    // Form bodies only here; anything else reaches the handler as "unsupported" so the answer is
    // an RFC 6749 error, not a generic 415.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_LIMIT_BYTES }, (_request, body, done) => {
      try {
        done(null, parseForm(body as string));
      } catch (error) {
        done(null, error instanceof OAuthError ? error : new InvalidRequest('the form body cannot be parsed'));
      }
    });
    scope.addContentTypeParser('*', { bodyLimit: FORM_LIMIT_BYTES }, (_request, _payload, done) => done(null, UNSUPPORTED_BODY));

    scope.setErrorHandler((error, request, reply) => {
      if (error instanceof OAuthError) return sendOAuthError(reply, error);
      if (error instanceof Unavailable) {
        const cause = error.cause instanceof Error ? error.cause : error;
        request.log.warn({ err: { message: cause.message, code: (cause as { code?: unknown }).code } }, 'database unavailable');
        return sendOAuthError(reply, new TemporarilyUnavailable());
      }
      const status = (error as { statusCode?: number }).statusCode;
      if (status === 413) return sendOAuthError(reply, new OAuthError('invalid_request', 413, 'the body is too large'));
      if (status !== undefined && status >= 400 && status < 500) return sendOAuthError(reply, new InvalidRequest('the request cannot be parsed'));
      // Anything else is the database or a bug; never a 200 and never an internal message.
      request.log.error({ err: error }, 'oauth endpoint failed');
      return sendOAuthError(reply, new TemporarilyUnavailable());
    });

    const withForm =
      (handler: (request: FastifyRequest, reply: FastifyReply, form: Form) => Promise<unknown>) => async (request: FastifyRequest, reply: FastifyReply) => {
        const body = request.body;
        if (body instanceof OAuthError) throw body;
        return handler(request, reply, formOf(request));
      };

    const authenticate = (request: FastifyRequest, form: Form): Promise<AuthenticatedClient> => {
      const assertion = assertionOf(request, form, config.issuer);
      return assertion === undefined
        ? tokens.authenticateClient(credentialsOf(request, form), request.ip)
        : tokens.authenticateAssertion(assertion, request.ip);
    };

    scope.post(
      '/oauth/token',
      withForm(async (request, reply, form) => {
        const grantType = form.get('grant_type');
        if (grantType === undefined) throw new InvalidRequest('grant_type is required');
        const dpop = dpopProofOf(request, config.issuer);
        if (dpop !== undefined) tokens.requireDpopNonce(dpop);
        if (grantType === TOKEN_EXCHANGE_GRANT) {
          // The RateLimit fields go on the answer (app.ts), as below; over the limit, this throws TokenRateLimited.
          const exchanged = await tokens.exchange(exchangeRequestOf(request, form, dpop), request.ip, (quota) => (request.rateLimit = quota));
          return reply.header('Cache-Control', 'no-store').header('Pragma', 'no-cache').send(exchanged);
        }
        const client = await authenticate(request, form);
        if (grantType !== 'client_credentials') throw new UnsupportedGrantType(grantType);
        // The RateLimit fields go on the answer (app.ts); over the limit, this throws TokenRateLimited.
        request.rateLimit = tokens.admitTokenRequest(client.state, request.ip);
        const response = await tokens.issue(client.state, form.get('scope'), client.secretUsed, { keyUsed: client.keyUsed, dpop, address: request.ip });
        return reply.header('Cache-Control', 'no-store').header('Pragma', 'no-cache').send(response);
      }),
    );

    scope.post(
      '/oauth/introspect',
      withForm(async (request, reply, form) => {
        const caller = await authenticate(request, form);
        const token = form.get('token');
        if (token === undefined || token === '') throw new InvalidRequest('token is required');
        return reply.header('Cache-Control', 'no-store').send(await tokens.introspect(caller.state, token));
      }),
    );

    scope.post(
      '/oauth/revoke',
      withForm(async (request, reply, form) => {
        const caller = await authenticate(request, form);
        const token = form.get('token');
        if (token === undefined || token === '') throw new InvalidRequest('token is required');
        // RFC 7009 §2.1-2.2: a hint only speeds the search; a wrong or unknown one is ignored
        // (only access tokens exist here, so the search is over every type anyway).
        await tokens.revoke(caller.state, token);
        return reply.code(200).header('Cache-Control', 'no-store').send();
      }),
    );

    // RFC 6749 §3.2: the token endpoint takes POST only; so do the others. Every other method
    // (OPTIONS and TRACE too) is 405, never a 404 saying the endpoint is not there.
    for (const url of ['/oauth/token', '/oauth/introspect', '/oauth/revoke']) {
      scope.route({
        method: methodsOtherThan(scope, ['POST']),
        url,
        exposeHeadRoute: false,
        handler: async (_request, reply) =>
          reply
            .code(405)
            .header('Allow', 'POST')
            .send({ error: 'invalid_request', error_description: `use POST for ${url}` }),
      });
    }
  });
}
