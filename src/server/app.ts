import cookie from '@fastify/cookie';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { Unavailable } from './errors.js';
import { problem, sendErrorProblem, sendProblem } from './http/problem.js';
import { pathOnly, requestLogger } from './logger.js';
import { restApi } from './http/api.js';
import { createAuthenticator } from './http/authenticate.js';
import { rateLimitHeaders } from './http/rate-limit-headers.js';
import {
  consoleRoutes,
  findConsoleRenderer,
  findConsoleRoot,
  readConsolePage,
  sendConsolePage,
  wantsConsolePage,
  type ConsoleOptions,
} from './http/console.js';
import { graphqlApi } from './graphql/graphql.plugin.js';
import { validatorCompiler } from './http/validation.js';
import { oauthRoutes } from './modules/oauth/oauth.rest.js';
import { timeRequests } from './metrics/request-timing.js';
import type { DatabaseHandle } from './db/database.js';
import type { Services } from './services.js';

export interface AppDeps {
  readonly config: Config;
  readonly database: DatabaseHandle;
  readonly services: Services;
  readonly logger: Logger;
  /** GraphQL: compile a document with graphql-jit after this many executions; 0 never (tests compare both). */
  readonly graphqlJitAfter?: number;
  /** The built console to serve; defaults to dist/web (null: none). */
  readonly consoleRoot?: string | null;
  /** Draws a signed-in browser's first screen on the server; defaults to the built one (dist/web-server) with the default console, to none with another. */
  readonly consoleRenderer?: ConsoleOptions['render'];
}

/** No MIME sniffing, no framing, no referrer leaking ids in URLs; a route may set a CSP of its own. */
function setSecurityHeaders(reply: FastifyReply): FastifyReply {
  void reply.header('X-Content-Type-Options', 'nosniff');
  void reply.header('Referrer-Policy', 'no-referrer');
  if (!reply.hasHeader('Content-Security-Policy')) void reply.header('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'");
  return reply;
}

/** Builds the HTTP server with every module registered; never listens (tests use `inject`). */
export async function createApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, database, logger, services } = deps;
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    childLoggerFactory: requestLogger,
    trustProxy: config.trustProxy.length > 0 ? [...config.trustProxy] : false,
    bodyLimit: 1024 * 1024,
    // On close, keep-alive connections with no request in flight are ended at once.
    forceCloseConnections: 'idle',
    // The router's own refusals (a bad percent-escape, an over-long parameter) are problem bodies
    // too; they come before any hook runs, so they set the security headers themselves.
    frameworkErrors: (error, request, reply) => {
      const sent = sendErrorProblem(error, request, setSecurityHeaders(reply));
      // No hook runs for these (a bad percent-escape, an over-long parameter): counted here, as unmatched.
      if (config.metrics !== null) services.metrics.recordRequest(request.method, undefined, reply.statusCode, 0);
      return sent;
    },
  });

  app.setValidatorCompiler(validatorCompiler);
  app.decorateRequest('actor', null);
  app.decorateRequest('actorVia', null);
  app.decorateRequest('rateLimit', null);
  // Before any route is registered, so that every route and the 404s are timed.
  if (config.metrics !== null) timeRequests(app, services.metrics);

  // A callback hook, not an async one: it runs on every answer, and an async hook costs a promise each time.
  app.addHook('onSend', (request, reply, payload, done) => {
    setSecurityHeaders(reply);
    // Set by the authenticator and the token endpoint for a client with a limit, on its 429 too.
    if (request.rateLimit !== null) void reply.headers(rateLimitHeaders(request.rateLimit));
    // RFC 9449 §8.2, §9: every answer to a DPoP request carries the current nonce, refusals
    // (use_dpop_nonce) and successes alike, so a busy client never needs the retry.
    if (request.headers.dpop !== undefined) {
      const nonce = services.tokens.dpopNonce();
      if (nonce !== null) void reply.header('DPoP-Nonce', nonce);
    }
    done(null, payload);
  });

  app.setErrorHandler((error, request, reply) => sendErrorProblem(error, request, reply));
  // A browser loading an address the console does not know gets the console's "Page not found".
  const consoleRoot = deps.consoleRoot === undefined ? findConsoleRoot() : deps.consoleRoot;
  const consolePage = readConsolePage(consoleRoot);
  app.setNotFoundHandler((request, reply) =>
    consolePage !== null && wantsConsolePage(request.method, request.url, request.headers.accept)
      ? sendConsolePage(reply, consolePage, 404)
      : sendProblem(reply, problem('not_found', 404, `no route for ${request.method} ${pathOnly(request.url)}`)),
  );

  await app.register(oauthRoutes, { config, tokens: services.tokens, signingKeys: services.signingKeys });
  // One authentication step for both doors: a bearer token, or a console session and its CSRF checks.
  const authenticator = createAuthenticator({
    config,
    tokens: services.tokens,
    failures: services.failures,
    recordUse: services.clients.recordUse,
    sessions: services.sessions,
  });
  // Session cookies belong to the APIs the console calls: the token endpoint, the console's pages
  // and the probes skip the cookie plugin's two hooks on every request.
  await app.register(async (withSessions) => {
    await withSessions.register(cookie);
    await withSessions.register(restApi, { config, services, authenticator });
    await withSessions.register(graphqlApi, { services, authenticator, ...(deps.graphqlJitAfter === undefined ? {} : { jitAfter: deps.graphqlJitAfter }) });
  });
  const consoleRenderer = deps.consoleRenderer !== undefined ? deps.consoleRenderer : deps.consoleRoot === undefined ? findConsoleRenderer() : null;
  await app.register(consoleRoutes, { root: consoleRoot, render: consoleRenderer });

  app.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok' }));

  app.get('/readyz', { logLevel: 'warn' }, async (_request, reply) => {
    try {
      await database.ping();
      return { status: 'ready', database: database.dialect };
    } catch (error) {
      // Why, when it is known and safe to say (a full disk); never a driver's message.
      const reason = error instanceof Unavailable ? { reason: error.message } : {};
      return reply.code(503).send({ status: 'unavailable', database: database.dialect, ...reason });
    }
  });

  await app.ready();
  return app;
}
