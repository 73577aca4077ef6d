import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { meRoutes } from '../modules/auth/me.rest.js';
import { sessionRoutes } from '../modules/auth/session.rest.js';
import { clientsRoutes } from '../modules/clients/clients.rest.js';
import { auditRoutes } from '../modules/audit/audit.rest.js';
import { rolesRoutes } from '../modules/roles/roles.rest.js';
import { usersRoutes } from '../modules/users/users.rest.js';
import { federationRoutes } from '../modules/federation/federation.rest.js';
import { FederatedCredential, FederatedCredentialList } from '../../shared/schemas/federated-credentials.js';
import { AuditEvent, AuditPage } from '../../shared/schemas/audit.js';
import { ApiClient, ApiClientWithSecret, ClientPage, CreatedApiClient } from '../../shared/schemas/clients.js';
import { EffectivePermissions, PermissionCatalog } from '../../shared/schemas/permissions.js';
import { Role, RoleList } from '../../shared/schemas/roles.js';
import { Me, Session } from '../../shared/schemas/session.js';
import { User, UserPage } from '../../shared/schemas/users.js';
import { ClientUsage, FleetUsage, RefusalList, UsageBucket } from '../../shared/schemas/usage.js';
import { usageRoutes } from '../modules/usage/usage.rest.js';
import type { Services } from '../services.js';
import { authenticationHook, recordPermissionRefusal, sessionCookieName, type Authenticator } from './authenticate.js';
import { refuseOtherMethods } from './method-not-allowed.js';
import { Problem } from '../../shared/schemas/problem.js';

/**
 * The docs page runs Swagger UI's scripts and styles from this server only: a closed network has no
 * CDN. It fetches the document (connect-src) and shows the logo as a data: URL. Scoped to /api/docs;
 * every other answer keeps `default-src 'none'` (app.ts).
 */
const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The REST API v1: its OpenAPI 3.1 document, generated from the route schemas (never by hand),
 * and every module's routes behind one authentication hook.
 */
export async function restApi(app: FastifyInstance, deps: { config: Config; services: Services; authenticator: Authenticator }): Promise<void> {
  const { config, services, authenticator } = deps;

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Koios Access API',
        version: '1.0.0',
        description:
          'API clients, roles, users and audit for the Koios platform. Machines authenticate with OAuth 2.0 client credentials; the console with a session cookie.',
      },
      servers: [{ url: config.issuer }],
      components: {
        securitySchemes: {
          cookie: {
            type: 'apiKey',
            in: 'cookie',
            name: sessionCookieName(config),
            description: 'The console session (POST /api/v1/session); changes also need X-CSRF-Token.',
          },
          oauth2: {
            type: 'oauth2',
            description: 'Access tokens from the client credentials grant; scopes are permission keys.',
            flows: { clientCredentials: { tokenUrl: `${config.issuer}/oauth/token`, scopes: {} } },
          },
        },
      },
      security: [{ oauth2: [] }, { cookie: [] }],
    },
    // Name components after the schemas' $id rather than def-0, def-1…
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json['$id'] === 'string' ? json['$id'] : `def-${i}`) },
  });

  for (const schema of [
    Problem,
    ApiClient,
    ApiClientWithSecret,
    CreatedApiClient,
    ClientPage,
    EffectivePermissions,
    Me,
    Session,
    Role,
    RoleList,
    PermissionCatalog,
    User,
    UserPage,
    AuditEvent,
    AuditPage,
    UsageBucket,
    ClientUsage,
    FleetUsage,
    RefusalList,
    FederatedCredential,
    FederatedCredentialList,
  ])
    app.addSchema(schema);

  // Human docs, served from the package itself.
  await app.register(swaggerUi, { routePrefix: '/api/docs', staticCSP: DOCS_CSP, theme: { title: 'Koios Access API' } });

  // REST bodies are JSON; Fastify's built-in text/plain parser would turn a text body into a 400
  // about the body's type. Without it, text is 415 like any other media type.
  app.removeContentTypeParser('text/plain');

  // Every /api/v1 path answers its other methods 405; registered last, from the table.
  const addMethodRefusals = refuseOtherMethods(app, (url) => url.startsWith('/api/v1/'));

  app.get(
    '/api/v1/openapi.json',
    {
      schema: {
        summary: 'This document',
        description: 'The OpenAPI 3.1 description of every route of the REST API v1. Needs no credentials.',
        tags: ['OpenAPI'],
        security: [],
        response: { 200: { type: 'object', additionalProperties: true, description: 'An OpenAPI 3.1 document' } },
      },
    },
    async () => app.swagger(),
  );

  await app.register(sessionRoutes, { config, sessions: services.sessions, users: services.users });

  await app.register(async (api) => {
    // Authentication before validation: an anonymous caller learns nothing about the schemas.
    api.addHook(
      'onRequest',
      authenticationHook(authenticator, (request, actor) => {
        if (actor.type === 'client' && request.actorVia === 'bearer') services.usageRecorder.requested(actor.id, 'rest');
      }),
    );
    api.addHook('onError', async (request, _reply, error) => recordPermissionRefusal(services.failures, request, error));
    await api.register(meRoutes);
    await api.register(clientsRoutes, { clients: services.clients });
    await api.register(federationRoutes, { federation: services.federation });
    await api.register(rolesRoutes, { roles: services.roles });
    await api.register(usersRoutes, { users: services.users });
    await api.register(auditRoutes, { audit: services.audit });
    await api.register(usageRoutes, { usage: services.usage });
  });

  addMethodRefusals();
}
