import { Type, type Static } from '@sinclair/typebox';
import { Ref, StringEnum, Timestamp, Uuid } from './fields.js';

/** Why a client was refused, as usage, logs and audit name it. */
export const REFUSAL_REASONS = [
  'bad_secret',
  'unknown_client',
  'disabled',
  'expired',
  'address_not_allowed',
  'throttled',
  'rate_limited',
  'revoked_token',
  'stale_secret',
  'insufficient_scope',
  // Token exchange (RFC 8693): no federated credential fits the workload's token; the token itself
  // is bad (signature, issuer, times); the issuer's keys cannot be fetched.
  'federation_no_match',
  'federation_bad_token',
  'federation_issuer_unreachable',
  // A token minted through a federated credential since removed.
  'removed_federated_credential',
  // private_key_jwt (RFC 7523): a malformed or badly signed assertion, a wrong iss, sub or aud, a
  // missing or far-future exp, a missing jti; one that has expired; a kid the client does not have;
  // a jti accepted before; a secret from a key client or an assertion from a secret client; a
  // token authenticated by a key since removed.
  'bad_assertion',
  'expired_assertion',
  'unknown_key',
  'replayed_assertion',
  'wrong_auth_method',
  'removed_key',
  // DPoP (RFC 9449): a proof missing, invalid, replayed or by another key, or a bound token sent as Bearer.
  'bad_dpop_proof',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

export const USAGE_GRANULARITIES = ['hour', 'day'] as const;
export type UsageGranularity = (typeof USAGE_GRANULARITIES)[number];

/** Refusals by reason; a reason that did not occur is absent. */
export const RefusalCounts = Type.Partial(
  Type.Object(
    Object.fromEntries(REFUSAL_REASONS.map((reason) => [reason, Type.Integer({ minimum: 1 })])) as Record<RefusalReason, ReturnType<typeof Type.Integer>>,
  ),
  { additionalProperties: false, description: 'Refusals by reason; a reason that did not occur is absent' },
);
export type RefusalCounts = Static<typeof RefusalCounts>;

export const UsageBucket = Type.Object(
  {
    start: Timestamp('The start of the hour or UTC day'),
    tokens: Type.Integer({ minimum: 0, description: 'Access tokens issued' }),
    rest: Type.Integer({ minimum: 0, description: 'Authenticated REST API requests' }),
    graphql: Type.Integer({ minimum: 0, description: 'Authenticated GraphQL requests' }),
    refusals: RefusalCounts,
  },
  { $id: 'UsageBucket', additionalProperties: false },
);
export type UsageBucket = Static<typeof UsageBucket>;

const usageFields = {
  granularity: StringEnum(USAGE_GRANULARITIES),
  buckets: Type.Array(Ref(UsageBucket), { description: 'Every hour or day of the range, oldest first; empty ones are zeros' }),
};

/** One client's usage over a range. */
export const ClientUsage = Type.Object(usageFields, { $id: 'ClientUsage', additionalProperties: false });
export type ClientUsage = Static<typeof ClientUsage>;

/** The client a line of the summary is about. */
const UsageClient = Type.Object({ id: Uuid(), name: Type.String() }, { additionalProperties: false });

export const UsageTopClient = Type.Object(
  {
    client: UsageClient,
    requests: Type.Integer({ minimum: 0, description: 'REST and GraphQL requests in the range' }),
    refusals: Type.Integer({ minimum: 0, description: 'Refusals in the range, every reason' }),
  },
  { additionalProperties: false },
);
export type UsageTopClient = Static<typeof UsageTopClient>;

export const UsageRisingRefusals = Type.Object(
  {
    client: UsageClient,
    refusals: Type.Integer({ minimum: 0, description: 'Refusals in the range, every reason' }),
    previousRefusals: Type.Integer({ minimum: 0, description: 'Refusals in the equally long span just before the range' }),
  },
  { additionalProperties: false },
);
export type UsageRisingRefusals = Static<typeof UsageRisingRefusals>;

/** Every client's usage summed, with the busiest clients of the range and those refused more than before. */
export const FleetUsage = Type.Object(
  {
    ...usageFields,
    top: Type.Array(UsageTopClient, { description: 'The clients with the most requests in the range (at most 10), then the most refusals' }),
    risingRefusals: Type.Array(UsageRisingRefusals, {
      description: 'The clients refused more often in the range than in the equally long span before it (at most 10), the largest rise first; busy or not',
    }),
  },
  { $id: 'FleetUsage', additionalProperties: false },
);
export type FleetUsage = Static<typeof FleetUsage>;

export const Refusal = Type.Object(
  {
    at: Timestamp('When the client was refused'),
    reason: StringEnum(REFUSAL_REASONS),
    address: Type.String({ description: 'The caller’s address' }),
  },
  { additionalProperties: false },
);
export type Refusal = Static<typeof Refusal>;

export const RefusalList = Type.Object(
  { items: Type.Array(Refusal, { description: 'Newest first; the latest 100 are kept' }) },
  { $id: 'RefusalList', additionalProperties: false },
);
export type RefusalList = Static<typeof RefusalList>;
