import { actorOf } from '../../http/authenticate.js';
import { AUTHENTICATED_ERRORS, IdParams, problems, type RoutesApp } from '../../http/schemas.js';
import { Ref } from '../../../shared/schemas/fields.js';
import { ClientUsage, FleetUsage, RefusalList } from '../../../shared/schemas/usage.js';
import type { UsageService } from './usage.service.js';
import { RefusalsQuery, UsageQuery } from './usage.schema.js';

/** Usage figures and refusals, a thin door onto the usage service. */
export async function usageRoutes(app: RoutesApp, deps: { usage: UsageService }): Promise<void> {
  const { usage } = deps;
  const tags = ['Usage'];

  app.get(
    '/api/v1/clients/:id/usage',
    {
      schema: {
        summary: 'A client’s usage by hour or day',
        description:
          'Tokens issued, REST and GraphQL requests and refusals by reason, one bucket per hour or UTC day of the range, empty ones as zeros. Needs clients:read.',
        tags,
        params: IdParams,
        querystring: UsageQuery,
        response: { 200: Ref(ClientUsage), ...problems(...AUTHENTICATED_ERRORS, 404) },
      },
    },
    async (request) => usage.clientUsage(actorOf(request), request.params.id, request.query),
  );

  app.get(
    '/api/v1/usage',
    {
      schema: {
        summary: 'Every client’s usage by hour or day, the busiest clients, and those refused more than before',
        description:
          'The same buckets summed over every client (refusals of unknown client ids included); `top`: the clients with the most requests in the range; `risingRefusals`: the clients refused more often in the range than in the equally long span before it. Needs clients:read.',
        tags,
        querystring: UsageQuery,
        response: { 200: Ref(FleetUsage), ...problems(...AUTHENTICATED_ERRORS) },
      },
    },
    async (request) => usage.fleetUsage(actorOf(request), request.query),
  );

  app.get(
    '/api/v1/clients/:id/refusals',
    {
      schema: {
        summary: 'A client’s latest refusals',
        description: 'Newest first: when, why and from which address; the latest 100 are kept. Needs clients:read.',
        tags,
        params: IdParams,
        querystring: RefusalsQuery,
        response: { 200: Ref(RefusalList), ...problems(...AUTHENTICATED_ERRORS, 404) },
      },
    },
    async (request) => usage.recentRefusals(actorOf(request), request.params.id, request.query.limit),
  );
}
