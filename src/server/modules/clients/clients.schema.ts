import { Type } from '@sinclair/typebox';
import { Nullable, StringEnum, Timestamp, Uuid } from '../../http/schemas.js';
import { BULK_MAX_IDS, DESCRIPTION_MAX_LENGTH, NAME_MAX_LENGTH, PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX, SEARCH_MAX_LENGTH } from '../../../shared/limits.js';
import { DAYS_PATTERN } from '../../../shared/durations.js';
import { PERMISSION_CATEGORIES, PERMISSION_KEYS } from '../../../shared/permissions.js';

const Name = Type.String({ minLength: 1, maxLength: NAME_MAX_LENGTH, description: `A descriptive name: 1 to ${NAME_MAX_LENGTH} characters after trimming` });
const Description = Type.String({ maxLength: DESCRIPTION_MAX_LENGTH, description: `What the client is for, up to ${DESCRIPTION_MAX_LENGTH} characters` });

export const ApiClient = Type.Object(
  {
    id: Uuid('The client ID used to authenticate (RFC 6749 client_id)'),
    name: Type.String(),
    description: Nullable(Type.String()),
    enabled: Type.Boolean({ description: 'Disabled clients are refused on every request until re-enabled' }),
    role: Nullable(Type.Object({ id: Uuid(), name: Type.String() }, { additionalProperties: false })),
    secretHint: Type.String({ description: 'The last characters of the current secret, to tell secrets apart; never the secret' }),
    lastUsedAt: Nullable(Timestamp('When the client last authenticated')),
    createdAt: Timestamp('When the client was created'),
    updatedAt: Timestamp('When the client was last changed'),
  },
  { $id: 'ApiClient', additionalProperties: false },
);

export const ApiClientWithSecret = Type.Object(
  {
    client: Type.Ref('ApiClient'),
    clientSecret: Type.String({ description: 'Shown once: only its keyed hash is stored. Copy it now.' }),
  },
  { $id: 'ApiClientWithSecret', additionalProperties: false },
);

export const ClientPage = Type.Object(
  {
    items: Type.Array(Type.Ref('ApiClient')),
    nextCursor: Nullable(Type.String({ description: 'Pass as `cursor` for the next page; null on the last page' })),
    total: Type.Integer({ description: 'How many clients match the search and filter' }),
  },
  { $id: 'ClientPage', additionalProperties: false },
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
    sort: Type.Union(
      ['name', 'createdAt', 'lastUsedAt'].flatMap((field) => [Type.Literal(field), Type.Literal(`-${field}`)]),
      { default: '-createdAt', description: '`-` in front sorts descending' },
    ),
  },
  { additionalProperties: false },
);

export const CreateClientBody = Type.Object(
  {
    name: Name,
    description: Type.Optional(Nullable(Description)),
    roleId: Type.Optional(Nullable(Uuid('The role to give the client (needs roles:assign and every permission of the role)'))),
  },
  { additionalProperties: false, examples: [{ name: 'Billing export', description: 'Nightly invoice export' }] },
);

export const UpdateClientBody = Type.Object(
  {
    name: Type.Optional(Name),
    description: Type.Optional(Nullable(Description)),
    enabled: Type.Optional(Type.Boolean()),
    roleId: Type.Optional(Nullable(Uuid('The new role, or null to remove it'))),
  },
  { additionalProperties: false, minProperties: 1, examples: [{ enabled: false }] },
);

export const BulkBody = Type.Object(
  {
    action: Type.Union([Type.Literal('enable'), Type.Literal('disable'), Type.Literal('delete')]),
    ids: Type.Array(Uuid(), { minItems: 1, maxItems: BULK_MAX_IDS }),
  },
  { additionalProperties: false, examples: [{ action: 'disable', ids: ['4bc5a135-0faf-4551-b9a2-a018c888242f'] }] },
);

export const BulkResult = Type.Object(
  {
    action: Type.Union([Type.Literal('enable'), Type.Literal('disable'), Type.Literal('delete')]),
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

export const PermissionCategories = Type.Object(
  {
    categories: Type.Array(
      Type.Object(
        {
          name: StringEnum(PERMISSION_CATEGORIES),
          permissions: Type.Array(
            Type.Object(
              {
                key: StringEnum(PERMISSION_KEYS),
                name: Type.String(),
                description: Type.String(),
                granted: Type.Boolean(),
              },
              { additionalProperties: false },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { $id: 'EffectivePermissions', additionalProperties: false },
);
