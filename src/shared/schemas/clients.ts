import { Type, type Static } from '@sinclair/typebox';
import { Nullable, Ref, StringEnum, Timestamp, Uuid } from './fields.js';
import { RoleSummary } from './roles.js';
import { AUTH_METHODS, CLIENT_KEY_ALGORITHMS } from '../public-keys.js';

/** A rotated-out secret that keeps working beside the current one until `expiresAt`. */
export const PreviousSecret = Type.Object(
  {
    hint: Type.String({ description: 'The last characters of the previous secret; never the secret' }),
    expiresAt: Timestamp('When the previous secret and the tokens minted with it stop working'),
    lastUsedAt: Nullable(Timestamp('When the previous secret, or a token minted with it, was last used; null: not since the rotation')),
  },
  { additionalProperties: false, description: 'The secret the current one replaced, while it still works beside it; null when there is none' },
);
export type PreviousSecret = Static<typeof PreviousSecret>;

/** How much the client may ask of Koios in a minute; null: no limit. */
export const RateLimit = Type.Object(
  {
    requestsPerMinute: Nullable(Type.Integer({ description: 'REST and GraphQL requests a minute; more are answered 429; null: no limit' })),
    tokensPerMinute: Nullable(Type.Integer({ description: 'Token requests (POST /oauth/token) a minute; more are answered 429; null: no limit' })),
  },
  { additionalProperties: false, description: 'Per-client rate limits, in fixed one-minute windows shared by every instance' },
);
export type RateLimit = Static<typeof RateLimit>;

/** One of a private_key_jwt client's public keys; the key itself is never shown back. */
export const ClientPublicKey = Type.Object(
  {
    kid: Type.String({ description: 'The key id a client assertion names in its header (`kid`); the RFC 7638 thumbprint when none was given' }),
    alg: StringEnum(CLIENT_KEY_ALGORITHMS, { description: 'The one algorithm assertions signed with this key may use' }),
    thumbprint: Type.String({ description: 'RFC 7638 SHA-256 thumbprint of the public key, base64url' }),
    addedAt: Timestamp('When the key was added'),
    lastUsedAt: Nullable(Timestamp('When an assertion signed with this key last authenticated the client')),
  },
  { additionalProperties: false },
);
export type ClientPublicKey = Static<typeof ClientPublicKey>;

/** The API client as every door shows it. Never carries the secret or its hash. */
export const ApiClient = Type.Object(
  {
    id: Uuid('The client ID used to authenticate (RFC 6749 client_id)'),
    name: Type.String(),
    description: Nullable(Type.String()),
    enabled: Type.Boolean({ description: 'Disabled clients are refused on every request until re-enabled' }),
    role: Nullable(RoleSummary),
    secretHint: Nullable(
      Type.String({
        description: 'The last characters of the current secret, to tell secrets apart; never the secret; null for a private_key_jwt client, which has none',
      }),
    ),
    lastUsedAt: Nullable(Timestamp('When the client last authenticated')),
    secretExpiresAt: Nullable(Timestamp('When the current secret, and every token minted with it, stops working; null: never')),
    previousSecret: Nullable(PreviousSecret),
    allowedCidrs: Type.Array(Type.String(), {
      description: 'Where the client may call from: CIDR ranges, canonical (`10.0.0.0/8`, `2001:db8::/32`; one address is /32 or /128). Empty: anywhere.',
    }),
    rateLimit: RateLimit,
    authMethod: StringEnum(AUTH_METHODS, {
      description:
        '`client_secret`: the client proves a shared secret (client_secret_basic or client_secret_post); `private_key_jwt`: it signs an assertion with a private key only it holds (RFC 7523 §2.2)',
    }),
    publicKeys: Type.Array(ClientPublicKey, { description: 'The public keys a private_key_jwt client signs with; empty for client_secret clients' }),
    requireDpop: Type.Boolean({
      description:
        'Tokens only bound to a key by a DPoP proof (RFC 9449): a token request without one is refused, and its tokens are accepted only as `Authorization: DPoP` with a proof',
    }),
    createdAt: Timestamp('When the client was created'),
    updatedAt: Timestamp('When the client was last changed'),
    requests7d: Type.Integer({ minimum: 0, description: 'REST and GraphQL requests in the last 7 days (by whole hours, the current one included)' }),
  },
  { $id: 'ApiClient', additionalProperties: false },
);
export type ApiClient = Static<typeof ApiClient>;

export const ApiClientWithSecret = Type.Object(
  {
    client: Ref(ApiClient),
    clientSecret: Type.String({ description: 'Shown once: only its keyed hash is stored. Copy it now.' }),
  },
  { $id: 'ApiClientWithSecret', additionalProperties: false },
);
export type ApiClientWithSecret = Static<typeof ApiClientWithSecret>;

/** What creating a client answers: a client_secret client's secret once, a private_key_jwt client's null (it has none). */
export const CreatedApiClient = Type.Object(
  {
    client: Ref(ApiClient),
    clientSecret: Nullable(
      Type.String({ description: 'Shown once: only its keyed hash is stored. Copy it now. null for a private_key_jwt client, which has no secret.' }),
    ),
  },
  { $id: 'CreatedApiClient', additionalProperties: false },
);
export type CreatedApiClient = Static<typeof CreatedApiClient>;

export const ClientPage = Type.Object(
  {
    items: Type.Array(Ref(ApiClient)),
    nextCursor: Nullable(Type.String({ description: 'Pass as `cursor` for the next page; null on the last page' })),
    total: Type.Integer({ description: 'How many clients match the search and filter' }),
  },
  { $id: 'ClientPage', additionalProperties: false },
);
export type ClientPage = Static<typeof ClientPage>;

export const BulkActionSchema = Type.Union([Type.Literal('enable'), Type.Literal('disable'), Type.Literal('delete')]);
export type BulkAction = Static<typeof BulkActionSchema>;

export const BulkResult = Type.Object(
  {
    action: BulkActionSchema,
    succeeded: Type.Array(Uuid()),
    notFound: Type.Array(Uuid()),
    changed: Type.Array(Uuid(), { description: 'The succeeded ids whose state the action changed: enabling an enabled client changes nothing' }),
    refused: Type.Array(
      Type.Object(
        {
          id: Uuid(),
          reason: Type.String({ description: 'Why the client was left unchanged: its role grants permissions the caller does not hold' }),
        },
        { additionalProperties: false },
      ),
      { description: 'Clients left unchanged because their role grants more than the caller holds' },
    ),
  },
  { additionalProperties: false },
);
export type BulkResult = Static<typeof BulkResult>;
