import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods, RouteOptions } from 'fastify';
import { problem, sendProblem } from './problem.js';

/** The methods a REST path may have, in the order `Allow` lists them. */
const ANSWERED_METHODS: readonly HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/**
 * Every method Fastify routes (TRACE and QUERY too) but those of `allowed`: a path's wrong
 * methods, each a `405` rather than a `404` that hides that the path exists.
 */
export function methodsOtherThan(app: FastifyInstance, allowed: readonly string[]): HTTPMethods[] {
  return app.supportedMethods.filter((method) => !allowed.includes(method)) as HTTPMethods[];
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Marks the routes added here, so that the route table read here never counts them as real. */
    methodNotAllowed?: boolean;
  }
}

/**
 * RFC 9110 §15.5.6: a wrong method on a path that exists is `405` with an `Allow`
 * header and a problem body, not a `404`. As the OAuth and GraphQL endpoints do, the other methods
 * of each path are routes of their own; here they are made from the route table, so a new route
 * gets them without anyone writing them. Call before registering the routes to cover; the returned
 * function adds the refusals once they are all registered.
 */
export function refuseOtherMethods(app: FastifyInstance, covers: (url: string) => boolean): () => void {
  const methodsByUrl = new Map<string, Set<string>>();
  app.addHook('onRoute', (route: RouteOptions) => {
    if (route.config?.methodNotAllowed === true || !covers(route.url)) return;
    const methods = methodsByUrl.get(route.url) ?? new Set<string>();
    for (const method of [route.method].flat()) methods.add(method);
    // Fastify answers HEAD for every GET route (exposeHeadRoutes).
    if (methods.has('GET')) methods.add('HEAD');
    methodsByUrl.set(route.url, methods);
  });

  return () => {
    for (const [url, methods] of methodsByUrl) {
      const refused = methodsOtherThan(app, [...methods]);
      if (refused.length === 0) continue;
      const allow = ANSWERED_METHODS.filter((method) => methods.has(method)).join(', ');
      const refuse = (request: FastifyRequest, reply: FastifyReply) =>
        sendProblem(reply.header('Allow', allow), problem('method_not_allowed', 405, `${request.method} is not a method of this path; use ${allow}`));
      app.route({
        method: refused,
        url,
        exposeHeadRoute: false,
        config: { methodNotAllowed: true },
        schema: { hide: true },
        // Before authentication and body parsing: the method is wrong whoever asks, whatever they send.
        onRequest: async (request, reply) => refuse(request, reply),
        handler: async (request, reply) => refuse(request, reply),
      });
    }
  };
}
