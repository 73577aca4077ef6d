import { Type, type Static } from '@sinclair/typebox';
import { Nullable, Ref, Timestamp, Uuid } from './fields.js';

/** An outside identity (a CI job, a Kubernetes service account) allowed to exchange its OIDC token for the client's tokens. */
export const FederatedCredential = Type.Object(
  {
    id: Uuid('The federated credential id'),
    name: Type.String({ description: 'What the credential is for, unique within its client' }),
    issuer: Type.String({ description: 'The OIDC issuer of the workload tokens, exactly as their `iss`' }),
    audience: Type.String({ description: 'A value the workload token’s `aud` must hold' }),
    subject: Type.String({ description: 'The workload token’s `sub` exactly, or a prefix of it when it ends in `*`' }),
    conditions: Type.Record(Type.String(), Type.String(), { description: 'Claims the workload token must also carry, each with exactly this value' }),
    createdAt: Timestamp('When the credential was added'),
    lastUsedAt: Nullable(Timestamp('When a token was last exchanged through it')),
  },
  { $id: 'FederatedCredential', additionalProperties: false },
);
export type FederatedCredential = Static<typeof FederatedCredential>;

export const FederatedCredentialList = Type.Object(
  { items: Type.Array(Ref(FederatedCredential)) },
  { $id: 'FederatedCredentialList', additionalProperties: false },
);
export type FederatedCredentialList = Static<typeof FederatedCredentialList>;
