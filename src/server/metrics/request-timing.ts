import type { FastifyInstance } from 'fastify';
import type { Metrics } from './metrics.js';

/**
 * Times every answered request by its route template (`request.routeOptions.url`, undefined when
 * no route matched), never by the URL asked for: ids and made-up paths would each become a series.
 * A callback hook, not an async one: it runs on every request.
 */
export function timeRequests(app: FastifyInstance, metrics: Pick<Metrics, 'recordRequest'>): void {
  app.addHook('onResponse', (request, reply, done) => {
    metrics.recordRequest(request.method, request.routeOptions.url, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
}
