import { AUTHENTICATED_ERRORS, listQueryNames, problems, type RoutesApp } from '../../http/schemas.js';
import { namingFields } from '../../errors.js';
import { AuditPage } from '../../../shared/schemas/audit.js';
import { Ref } from '../../../shared/schemas/fields.js';
import type { AuditService } from './audit.service.js';
import { ListAuditEventsQuery } from './audit.schema.js';

/** The audit log, read-only, a thin door onto the audit service. */
export async function auditRoutes(app: RoutesApp, deps: { audit: AuditService }): Promise<void> {
  const { audit } = deps;

  app.get(
    '/api/v1/audit-events',
    {
      schema: {
        summary: 'List audit events, newest first',
        description: 'Every change and sign-in, keyset-paginated; the filters combine. Needs audit:read.',
        tags: ['Audit'],
        querystring: ListAuditEventsQuery,
        response: { 200: Ref(AuditPage), ...problems(...AUTHENTICATED_ERRORS) },
      },
    },
    async (request) => {
      const { limit, cursor, actorId, targetId, action, q } = request.query;
      return namingFields(listQueryNames, () =>
        audit.list(request.actor!, {
          limit,
          cursor: cursor ?? null,
          actorId: actorId ?? null,
          targetId: targetId ?? null,
          action: action ?? null,
          search: q ?? null,
        }),
      );
    },
  );
}
