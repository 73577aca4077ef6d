import { Type } from '@sinclair/typebox';
import { BulkActionSchema } from '../../../shared/schemas/clients.js';
import { Nullable, StringEnum, Uuid } from '../../../shared/schemas/fields.js';
import { AUTH_METHODS, CLIENT_KEY_ALGORITHMS } from '../../../shared/public-keys.js';
import {
  ALLOWED_CIDRS_MAX,
  BULK_MAX_IDS,
  CLIENT_KEYS_MAX,
  KID_MAX_LENGTH,
  DESCRIPTION_MAX_LENGTH,
  KEEP_PREVIOUS_MAX_SECONDS,
  NAME_MAX_LENGTH,
  PAGE_SIZE_DEFAULT,
  PAGE_SIZE_MAX,
  REQUESTS_PER_MINUTE_MAX,
  SEARCH_MAX_LENGTH,
  TOKENS_PER_MINUTE_MAX,
} from '../../../shared/limits.js';
import { DAYS_PATTERN } from '../../../shared/durations.js';

const Name = Type.String({ minLength: 1, maxLength: NAME_MAX_LENGTH, description: `A descriptive name: 1 to ${NAME_MAX_LENGTH} characters after trimming` });
/** A time the service checks is in the future (and within the maximum secret lifetime). */
const FutureTime = (description: string) => Type.String({ format: 'date-time', description });
const AllowedCidrs = Type.Array(Type.String({ maxLength: 64 }), {
  maxItems: ALLOWED_CIDRS_MAX,
  description: `Up to ${ALLOWED_CIDRS_MAX} IPv4 or IPv6 CIDR ranges the client may call from (a bare address means that one address); empty: anywhere. The token endpoint answers invalid_client, the APIs 401, to a caller outside them.`,
  examples: [['10.0.0.0/8', '2001:db8::/32']],
});
const PerMinute = (max: number, what: string) =>
  Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: max, description: `${what} a minute, 1 to ${max}; null: no limit; absent: unchanged` })));
const RateLimitInput = Type.Object(
  {
    requestsPerMinute: PerMinute(REQUESTS_PER_MINUTE_MAX, 'REST and GraphQL requests'),
    tokensPerMinute: PerMinute(TOKENS_PER_MINUTE_MAX, 'Token requests at /oauth/token'),
  },
  {
    additionalProperties: false,
    description:
      'Per-client rate limits in one-minute windows; more is answered 429 with Retry-After and RateLimit headers. A field left out keeps its value (none on create).',
    examples: [{ requestsPerMinute: 600, tokensPerMinute: 10 }],
  },
);
const Description = Type.String({ maxLength: DESCRIPTION_MAX_LENGTH, description: `What the client is for, up to ${DESCRIPTION_MAX_LENGTH} characters` });

/** A public JWK; the service checks its members and says what is wrong (a private key above all). */
export const PublicJwk = Type.Object(
  { kty: Type.String({ maxLength: 8, description: 'OKP (Ed25519), EC (P-256) or RSA (2048 bits or more)' }) },
  {
    additionalProperties: true,
    maxProperties: 32,
    description: `A public JWK (RFC 7517) for private_key_jwt: ${CLIENT_KEY_ALGORITHMS.join(', ')}. Without \`kid\` its RFC 7638 thumbprint is the kid. A private key (with \`d\`) is refused and never stored.`,
    examples: [{ kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo', kid: 'billing-2026' }],
  },
);

export const ListClientsQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: PAGE_SIZE_MAX, default: PAGE_SIZE_DEFAULT }),
    cursor: Type.Optional(Type.String({ maxLength: 1000 })),
    q: Type.Optional(Type.String({ maxLength: SEARCH_MAX_LENGTH, description: 'Matches name, description or client ID, case-insensitively' })),
    status: Type.Optional(Type.Union([Type.Literal('enabled'), Type.Literal('disabled')])),
    roleId: Type.Optional(Uuid('Only the clients holding this role')),
    unusedFor: Type.Optional(
      Type.String({ pattern: DAYS_PATTERN, description: 'Only the clients never used, or not used for this many days, e.g. `90d`', examples: ['90d'] }),
    ),
    neverUsed: Type.Optional(Type.Boolean({ description: '`true`: only the clients that have never authenticated' })),
    expiringWithin: Type.Optional(
      Type.String({
        pattern: DAYS_PATTERN,
        description: 'Only the clients whose secret expires within this many days from now, e.g. `30d`',
        examples: ['30d'],
      }),
    ),
    expired: Type.Optional(Type.Boolean({ description: '`true`: only the clients whose secret has expired' })),
    sort: Type.Union(
      ['name', 'createdAt', 'lastUsedAt', 'requests7d'].flatMap((field) => [Type.Literal(field), Type.Literal(`-${field}`)]),
      { default: '-createdAt', description: '`-` in front sorts descending; `requests7d` sorts by the REST and GraphQL requests of the last 7 days' },
    ),
  },
  { additionalProperties: false },
);

export const CreateClientBody = Type.Object(
  {
    name: Name,
    description: Type.Optional(Nullable(Description)),
    roleId: Type.Optional(Nullable(Uuid('The role to give the client (needs roles:assign and every permission of the role)'))),
    secretExpiresAt: Type.Optional(Nullable(FutureTime('When the secret stops working; absent or null: never, or the installation’s maximum lifetime'))),
    allowedCidrs: Type.Optional(AllowedCidrs),
    rateLimit: Type.Optional(RateLimitInput),
    authMethod: Type.Optional(
      StringEnum(AUTH_METHODS, {
        description:
          '`client_secret` (the default): a secret is generated and shown once; `private_key_jwt`: no secret, the client signs assertions with a key whose public half is in `publicKeys`',
      }),
    ),
    publicKeys: Type.Optional(Type.Array(PublicJwk, { maxItems: CLIENT_KEYS_MAX, description: 'Public keys of a private_key_jwt client' })),
    requireDpop: Type.Optional(Type.Boolean({ description: 'Require DPoP-bound tokens (RFC 9449); default false' })),
  },
  { additionalProperties: false, examples: [{ name: 'Billing export', description: 'Nightly invoice export' }] },
);

export const UpdateClientBody = Type.Object(
  {
    name: Type.Optional(Name),
    description: Type.Optional(Nullable(Description)),
    enabled: Type.Optional(Type.Boolean()),
    roleId: Type.Optional(Nullable(Uuid('The new role, or null to remove it'))),
    secretExpiresAt: Type.Optional(
      Nullable(FutureTime('When the current secret stops working; null: never (refused under a maximum lifetime). Needs clients:secrets')),
    ),
    allowedCidrs: Type.Optional(AllowedCidrs),
    rateLimit: Type.Optional(RateLimitInput),
    requireDpop: Type.Optional(Type.Boolean({ description: 'Require DPoP-bound tokens (RFC 9449); default false' })),
  },
  { additionalProperties: false, minProperties: 1, examples: [{ enabled: false }] },
);

export const RegenerateSecretBody = Type.Object(
  {
    keepPreviousFor: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: KEEP_PREVIOUS_MAX_SECONDS,
        description: 'Seconds the replaced secret, and the tokens minted with it, keep working beside the new one; 0 (the default): none',
      }),
    ),
    expiresAt: Type.Optional(Nullable(FutureTime('When the new secret stops working; absent or null: never, or the installation’s maximum lifetime'))),
  },
  { additionalProperties: false, examples: [{ keepPreviousFor: 86400 }] },
);

export const BulkBody = Type.Object(
  {
    action: BulkActionSchema,
    ids: Type.Array(Uuid(), { minItems: 1, maxItems: BULK_MAX_IDS }),
  },
  { additionalProperties: false, examples: [{ action: 'disable', ids: ['4bc5a135-0faf-4551-b9a2-a018c888242f'] }] },
);

export const AddKeyBody = Type.Object({ jwk: PublicJwk }, { additionalProperties: false });

export const KeyParams = Type.Object(
  { id: Uuid('The client id'), kid: Type.String({ minLength: 1, maxLength: KID_MAX_LENGTH, description: 'The key’s kid' }) },
  { additionalProperties: false },
);
