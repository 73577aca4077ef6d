import { actorOf } from '../../http/authenticate.js';
import { AUTHENTICATED_ERRORS, IdParams, problems, type RoutesApp } from '../../http/schemas.js';
import { Ref } from '../../../shared/schemas/fields.js';
import { FederatedCredential, FederatedCredentialList } from '../../../shared/schemas/federated-credentials.js';
import { AddFederatedCredentialBody, FederatedCredentialParams } from './federation.schema.js';
import type { FederationService } from './federation.service.js';

/** A client's federated credentials, a thin door onto the federation service. */
export async function federationRoutes(app: RoutesApp, deps: { federation: FederationService }): Promise<void> {
  const { federation } = deps;
  const tags = ['API clients'];

  app.get(
    '/api/v1/clients/:id/federated-credentials',
    {
      schema: {
        summary: 'List the client’s federated credentials',
        description:
          'The outside identities (CI jobs, Kubernetes service accounts) that may exchange their OIDC token for the client’s tokens. Needs clients:read.',
        tags,
        params: IdParams,
        response: { 200: Ref(FederatedCredentialList), ...problems(...AUTHENTICATED_ERRORS, 404) },
      },
    },
    async (request) => ({ items: await federation.list(actorOf(request), request.params.id) }),
  );

  app.post(
    '/api/v1/clients/:id/federated-credentials',
    {
      schema: {
        summary: 'Let an outside identity exchange its OIDC token for the client’s tokens',
        description:
          'A workload whose token (RFC 8693 subject_token) comes from `issuer`, holds `audience` in its `aud`, has a `sub` matching `subject` (a trailing `*` matches a prefix) and carries every claim of `conditions` with exactly that value gets a token of this client at the token endpoint, with no secret. Applies to the next exchange on every instance. Needs clients:secrets and every permission of the client’s role.',
        tags,
        params: IdParams,
        body: AddFederatedCredentialBody,
        response: { 201: Ref(FederatedCredential), ...problems(...AUTHENTICATED_ERRORS, 404, 409, 413, 415) },
      },
    },
    async (request, reply) => reply.code(201).send(await federation.add(actorOf(request), request.params.id, request.body)),
  );

  app.delete(
    '/api/v1/clients/:id/federated-credentials/:fcId',
    {
      schema: {
        summary: 'Remove a federated credential',
        description:
          'Tokens minted through it stop working on their next request, on every instance. Needs clients:secrets and every permission of the client’s role.',
        tags,
        params: FederatedCredentialParams,
        response: { 204: { type: 'null', description: 'Removed' }, ...problems(...AUTHENTICATED_ERRORS, 404) },
      },
    },
    async (request, reply) => {
      await federation.remove(actorOf(request), request.params.id, request.params.fcId);
      return reply.code(204).send();
    },
  );
}
