import type { FastifyInstance } from 'fastify';

/** A route as the router holds it: the method and Fastify's URL pattern (`/api/v1/clients/:id`). */
export interface RouteEntry {
  readonly method: string;
  readonly url: string;
}

/**
 * Every route of the server, read from Fastify's own route table (`printRoutes`), not from any
 * list the application keeps: what a test of "every route" must not take on trust.
 */
export function routeTable(app: FastifyInstance): RouteEntry[] {
  const routes: RouteEntry[] = [];
  const parents: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    // `    │   ├── /bulk (POST)`: four characters of tree per level, then the segment and its methods.
    const match = /^([\s│├└─]*?)(?:[├└]── )(\S+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (match === null) continue;
    const depth = match[1]!.length / 4;
    const url = `${depth === 0 ? '' : parents[depth - 1]}${match[2]}`;
    parents[depth] = url;
    parents.length = depth + 1;
    for (const method of match[3]?.split(', ') ?? []) routes.push({ method, url });
  }
  return routes;
}

/** `/api/v1/clients/:id` → `/api/v1/clients/{id}`, the OpenAPI spelling. */
export const openApiPath = (url: string) => url.replace(/:(\w+)/g, '{$1}');

/** A URL pattern made concrete: each parameter replaced by `value`. */
export const concretePath = (url: string, value: string) => url.replace(/:(\w+)/g, value);
