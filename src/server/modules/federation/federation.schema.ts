import { Type } from '@sinclair/typebox';
import { NAME_MAX_LENGTH } from '../../../shared/limits.js';
import { Uuid } from '../../../shared/schemas/fields.js';
import { FEDERATION_CONDITIONS_MAX, FEDERATION_TEXT_MAX_LENGTH } from './federation.service.js';

const Text = (description: string, examples: string[]) => Type.String({ minLength: 1, maxLength: FEDERATION_TEXT_MAX_LENGTH, description, examples });

export const AddFederatedCredentialBody = Type.Object(
  {
    name: Type.String({
      minLength: 1,
      maxLength: NAME_MAX_LENGTH,
      description: 'What the credential is for, unique within the client',
      examples: ['deploy from main'],
    }),
    issuer: Text('The OIDC issuer of the workload tokens, exactly as their `iss`: an https:// URL', ['https://token.actions.githubusercontent.com']),
    audience: Text('A value the workload token’s `aud` must hold', ['https://koios.example.com']),
    subject: Text('The workload token’s `sub` exactly, or a prefix of it ending in `*`', ['repo:acme/api:ref:refs/heads/main']),
    conditions: Type.Optional(
      Type.Record(Type.String(), Type.String({ minLength: 1, maxLength: FEDERATION_TEXT_MAX_LENGTH }), {
        maxProperties: FEDERATION_CONDITIONS_MAX,
        description: `Up to ${FEDERATION_CONDITIONS_MAX} further claims the workload token must carry, each with exactly this value`,
        examples: [{ repository_owner: 'acme', environment: 'production' }],
      }),
    ),
  },
  { additionalProperties: false },
);

export const FederatedCredentialParams = Type.Object(
  { id: Uuid('The API client id'), fcId: Uuid('The federated credential id') },
  { additionalProperties: false },
);
