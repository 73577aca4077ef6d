import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { requireHoldsAll, requirePermission, type Actor } from '../../actor.js';
import type { ChangeFeed } from '../../changes.js';
import type { Clock } from '../../clock.js';
import type { Executor } from '../../db/database.js';
import { checkPageLimit, decodePageCursor, encodeCursor, type CursorPosition } from '../../db/pagination.js';
import type { ApiClientUpdate, Database } from '../../db/schema.js';
import { BadInput, Conflict, NotFound, ProblemCollector } from '../../errors.js';
import { DAYS_MESSAGE, parseDays } from '../../../shared/durations.js';
import { BULK_MAX_IDS, CLIENT_KEYS_MAX, descriptionProblem, nameProblem, normalizeName, SEARCH_MAX_LENGTH, UUID_PATTERN } from '../../../shared/limits.js';
import { sortPermissionKeys, type PermissionGroup, type PermissionKey } from '../../../shared/permissions.js';
import { recordAudit } from '../audit/audit.service.js';
import { changeSet, compareField, type ChangeSet } from '../../change-set.js';
import { createRolesRepository } from '../roles/roles.repository.js';
import { grantedPermissions, permissionsOfRole, type GrantedPermission } from '../roles/permissions.js';
import { checkId, findByIdOrThrow } from '../../ids.js';
import { createClientsRepository, sortValueOf, type ClientRecord, type ClientSortField, type ClientStatusFilter } from './clients.repository.js';
import type { SecretHasher } from './clients.secret.js';
import type { LastUsedRecorder } from './last-used.js';
import { checkAllowedCidrs } from './allowed-cidrs.js';
import { checkRateLimit, type RateLimitInput } from './rate-limit.js';
import { checkKeepPreviousFor, createSecretLifetime } from './secret-lifetime.js';
import type {
  ApiClient,
  ApiClientWithSecret,
  BulkAction,
  BulkResult,
  ClientPage,
  ClientPublicKey,
  CreatedApiClient,
  PreviousSecret,
} from '../../../shared/schemas/clients.js';
import { AUTH_METHODS, type AuthMethod } from '../../../shared/public-keys.js';
import { createClientKeysRepository } from './client-keys.repository.js';
import { checkPublicKey, type CheckedPublicKey } from './public-keys.js';

export interface CreateClientInput {
  readonly name: string;
  readonly description?: string | null;
  readonly roleId?: string | null;
  /** When the secret stops working; absent or null: never, or the installation's maximum lifetime. */
  readonly secretExpiresAt?: string | null;
  /** Where the client may call from (CIDR ranges, a bare address is that address); absent or empty: anywhere. */
  readonly allowedCidrs?: readonly string[];
  /** At most so many API and token requests a minute; absent or null: no limit. */
  readonly rateLimit?: RateLimitInput;
  /** How the client authenticates; absent: with a secret. */
  readonly authMethod?: AuthMethod;
  /** Public JWKs of a private_key_jwt client (RFC 7523 §2.2). */
  readonly publicKeys?: readonly unknown[];
  /** Only DPoP-bound tokens (RFC 9449); absent: false. */
  readonly requireDpop?: boolean;
}

export interface RegenerateSecretInput {
  /** Seconds the replaced secret keeps working beside the new one; 0 or absent: it stops at once. */
  readonly keepPreviousFor?: number;
  /** When the new secret stops working; absent or null: never, or the installation's maximum lifetime. */
  readonly expiresAt?: string | null;
}

export interface UpdateClientInput {
  readonly name?: string;
  readonly description?: string | null;
  readonly enabled?: boolean;
  /** `null` removes the role. */
  readonly roleId?: string | null;
  /** `null`: the current secret never expires (refused when a maximum lifetime is configured). */
  readonly secretExpiresAt?: string | null;
  /** Replaces the allowlist; empty: anywhere. */
  readonly allowedCidrs?: readonly string[];
  /** Changes the limits given (null: no limit); a limit left out is kept. */
  readonly rateLimit?: RateLimitInput;
  readonly requireDpop?: boolean;
}

export interface ListClientsInput {
  readonly limit?: number;
  readonly cursor?: string | null;
  readonly search?: string | null;
  readonly status?: ClientStatusFilter | null;
  /** Only the clients holding this role. */
  readonly roleId?: string | null;
  /** Only the clients never used, or not used for this many days: `90d`. */
  readonly unusedFor?: string | null;
  /** Only the clients never used. */
  readonly neverUsed?: boolean | null;
  /** Only the clients whose secret expires within this many days from now: `30d`. */
  readonly expiringWithin?: string | null;
  /** Only the clients whose secret has expired. */
  readonly expired?: boolean | null;
  /** `name`, `createdAt` or `lastUsedAt`, `-` in front for descending. */
  readonly sort?: string;
}

export type { ApiClient, ApiClientWithSecret, BulkAction, BulkResult, ClientPage, CreatedApiClient };

export const BULK_ACTIONS: readonly BulkAction[] = ['enable', 'disable', 'delete'];

const DAY_MS = 86_400_000;

const SORT_FIELDS: readonly ClientSortField[] = ['name', 'createdAt', 'lastUsedAt', 'requests7d'];

export function parseSort(raw: string | undefined): { field: ClientSortField; descending: boolean; sort: string } {
  const sort = raw ?? '-createdAt';
  const descending = sort.startsWith('-');
  const field = (descending ? sort.slice(1) : sort) as ClientSortField;
  if (!SORT_FIELDS.includes(field)) {
    throw new BadInput({ field: 'sort', message: `must be one of ${SORT_FIELDS.flatMap((f) => [f, `-${f}`]).join(', ')}` });
  }
  return { field, descending, sort };
}

/**
 * A client's place in the order `sort` (as `list` takes it), for a door that resumes after any
 * item (GraphQL's edges); `nextCursor` is the place after a page's last.
 */
export function clientPosition(sort: string | undefined, client: ApiClient): CursorPosition {
  const order = parseSort(sort);
  return {
    sort: order.sort,
    value: sortValueOf(order.field, {
      name_key: client.name.toLowerCase(),
      created_at: client.createdAt,
      last_used_at: client.lastUsedAt,
      requests_7d: client.requests7d,
    }),
    id: client.id,
  };
}

function clientTarget(client: { id: string; name: string }) {
  return { type: 'client' as const, id: client.id, name: client.name };
}

/** The role id an update asks for, lower-cased as stored; undefined when it asks for none. */
function requestedRoleId(input: UpdateClientInput): string | null | undefined {
  return input.roleId === undefined ? undefined : input.roleId === null ? null : String(input.roleId).toLowerCase();
}

/** What an update asks to change of a stored client; `role`, `secretExpiresAt`, `allowedCidrs` and `rateLimit` are the new values, already checked. */
function clientChanges(
  before: ClientRecord,
  input: UpdateClientInput,
  role: { id: string; name: string } | null,
  secretExpiresAt: string | null | undefined,
  allowedCidrs: string[] | undefined,
  rateLimit: RateLimitInput | undefined,
): ChangeSet<ApiClientUpdate> {
  const name = input.name === undefined ? undefined : normalizeName(input.name);
  const target = clientTarget({ id: before.id, name: name ?? before.name });
  return changeSet<ApiClientUpdate>(
    compareField({
      current: before.name,
      requested: name,
      columns: (value) => ({ name: value, name_key: value.toLowerCase() }),
      audit: (change) => ({ action: 'client.renamed', target, details: change }),
    }),
    compareField({
      current: before.description,
      requested: input.description === undefined ? undefined : input.description === null || input.description.trim() === '' ? null : input.description,
      columns: (description) => ({ description, description_key: description?.toLowerCase() ?? null }),
      audit: () => ({ action: 'client.description_changed', target }),
    }),
    compareField({
      current: before.enabled === 1,
      requested: input.enabled,
      columns: (enabled) => ({ enabled: enabled ? 1 : 0 }),
      audit: ({ to }) => ({ action: to ? 'client.enabled' : 'client.disabled', target }),
    }),
    compareField({
      current: before.role_id,
      requested: requestedRoleId(input),
      columns: () => ({ role_id: role?.id ?? null }),
      audit: () => ({
        action: 'client.role_changed',
        target,
        details: {
          from: before.role_id === null ? null : { id: before.role_id, name: before.role_name },
          to: role === null ? null : { id: role.id, name: role.name },
        },
      }),
    }),
    compareField({
      current: before.secret_expires_at,
      requested: secretExpiresAt,
      columns: (value) => ({ secret_expires_at: value }),
      audit: (change) => ({ action: 'client.updated', target, details: { secretExpiresAt: change } }),
    }),
    compareField({
      current: before.allowed_cidrs,
      requested: allowedCidrs === undefined ? undefined : JSON.stringify(allowedCidrs),
      columns: (value) => ({ allowed_cidrs: value }),
      audit: ({ from, to }) => ({
        action: 'client.updated',
        target,
        details: { allowedCidrs: { from: JSON.parse(from) as string[], to: JSON.parse(to) as string[] } },
      }),
    }),
    compareField({
      current: before.rate_limit_requests_per_minute,
      requested: rateLimit?.requestsPerMinute,
      columns: (value) => ({ rate_limit_requests_per_minute: value }),
      audit: (change) => ({ action: 'client.updated', target, details: { rateLimit: { requestsPerMinute: change } } }),
    }),
    compareField({
      current: before.rate_limit_tokens_per_minute,
      requested: rateLimit?.tokensPerMinute,
      columns: (value) => ({ rate_limit_tokens_per_minute: value }),
      audit: (change) => ({ action: 'client.updated', target, details: { rateLimit: { tokensPerMinute: change } } }),
    }),
    compareField({
      current: before.require_dpop === 1,
      requested: input.requireDpop,
      columns: (value) => ({ require_dpop: value ? 1 : 0 }),
      audit: (change) => ({ action: 'client.updated', target, details: { requireDpop: change } }),
    }),
  );
}

/** Each client's REST and GraphQL requests of the last 7 days, from the usage figures. */
export interface RecentRequests {
  /** The counts of `ids`, this instance's unwritten ones included; absent: none. Read through `executor` (a transaction's). */
  of(ids: readonly string[], executor: Executor): Promise<Map<string, number>>;
  /** The hour (ISO 8601) from which they count, for sorting in the database. */
  windowStart(): string;
  /** Writes the counts still pending, so that a sort by them sees them. */
  flush(): Promise<void>;
  /** This instance's unwritten counts of a client from `fromHour` on (what `of` adds to the stored ones). */
  pending(id: string, fromHour: string): number;
}

export interface ClientsServiceDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly hasher: SecretHasher;
  readonly changes: ChangeFeed;
  readonly lastUsed: LastUsedRecorder;
  /** The last use of each previous secret, coalesced like `lastUsed`. */
  readonly previousSecretUsed: LastUsedRecorder;
  /** The last use of each public key, by key id, coalesced like `lastUsed`. */
  readonly keyUsed: LastUsedRecorder;
  /** The installation's maximum secret lifetime in days; null: none. */
  readonly secretMaxLifetimeDays: number | null;
  readonly recentRequests: RecentRequests;
}

export function createClientsService(deps: ClientsServiceDeps) {
  const { db, clock, hasher, changes, lastUsed, previousSecretUsed, keyUsed, recentRequests } = deps;
  const lifetime = createSecretLifetime(deps.secretMaxLifetimeDays);

  /** The previous secret while it still works; an ended overlap shows as none. */
  const previousSecretOf = (row: ClientRecord): PreviousSecret | null =>
    row.previous_secret_hint === null || row.previous_secret_expires_at === null || Date.parse(row.previous_secret_expires_at) <= clock.now().getTime()
      ? null
      : {
          hint: row.previous_secret_hint,
          expiresAt: row.previous_secret_expires_at,
          lastUsedAt: previousSecretUsed.latest(row.id, row.previous_secret_last_used_at),
        };

  type KeyRecord = Awaited<ReturnType<ReturnType<typeof createClientKeysRepository>['listOf']>>[number];
  const toPublicKey = (key: KeyRecord): ClientPublicKey => ({
    kid: key.kid,
    alg: key.alg as ClientPublicKey['alg'],
    thumbprint: key.thumbprint,
    addedAt: key.added_at,
    lastUsedAt: keyUsed.latest(key.id, key.last_used_at),
  });

  /**
   * The clients as the doors show them, with their requests of the last 7 days (one query for
   * all); keys are read only for the private_key_jwt ones among them.
   */
  /**
   * `storedSince`: the rows were read with their stored requests from that hour on (`requests_7d`,
   * a list page); this instance's pending ones are added to them.
   */
  async function present(
    executor: Executor,
    rows: readonly (ClientRecord & { readonly requests_7d?: number | string | null })[],
    storedSince?: string,
  ): Promise<ApiClient[]> {
    const withKeys = rows.filter((row) => row.auth_method === 'private_key_jwt').map((row) => row.id);
    const keys = withKeys.length === 0 ? [] : await createClientKeysRepository(executor).listOf(withKeys);
    const byClient = new Map<string, ClientPublicKey[]>();
    for (const key of keys) byClient.set(key.client_id, [...(byClient.get(key.client_id) ?? []), toPublicKey(key)]);
    if (storedSince !== undefined)
      return rows.map((row) => toApiClient(row, byClient.get(row.id) ?? [], Number(row.requests_7d ?? 0) + recentRequests.pending(row.id, storedSince)));
    const requests = await recentRequests.of(
      rows.map((row) => row.id),
      executor,
    );
    return rows.map((row) => toApiClient(row, byClient.get(row.id) ?? [], requests.get(row.id) ?? 0));
  }
  const presentOne = async (executor: Executor, row: ClientRecord): Promise<ApiClient> => (await present(executor, [row]))[0]!;

  const toApiClient = (row: ClientRecord, publicKeys: ClientPublicKey[], requests7d: number): ApiClient => ({
    id: row.id,
    name: row.name,
    description: row.description,
    enabled: row.enabled === 1,
    role: row.role_id !== null && row.role_name !== null ? { id: row.role_id, name: row.role_name } : null,
    // A key client authenticates with assertions only: the random secret stored at its creation is no credential of its.
    secretHint: row.auth_method === 'private_key_jwt' ? null : row.secret_hint,
    // A use not yet written (coalesced) is still shown.
    lastUsedAt: lastUsed.latest(row.id, row.last_used_at),
    secretExpiresAt: row.secret_expires_at,
    previousSecret: previousSecretOf(row),
    // Most clients have none: no parse for them.
    allowedCidrs: row.allowed_cidrs === '[]' ? [] : (JSON.parse(row.allowed_cidrs) as string[]),
    rateLimit: { requestsPerMinute: row.rate_limit_requests_per_minute, tokensPerMinute: row.rate_limit_tokens_per_minute },
    authMethod: row.auth_method as AuthMethod,
    publicKeys,
    requireDpop: Number(row.require_dpop) === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    requests7d,
  });

  const findRow = (executor: Executor, id: string): Promise<ClientRecord> =>
    findByIdOrThrow((key) => createClientsRepository(executor).findById(key), id, 'API client');

  /** The role with its permissions, after checking the actor may hand them out (no escalation). */
  async function assignableRole(
    executor: Executor,
    actor: Actor,
    roleId: string,
    field: string,
  ): Promise<{ id: string; name: string; permissions: PermissionKey[] }> {
    const role = await createRolesRepository(executor).findById(checkId(roleId, field, 'must be a role id (UUID) or null'));
    if (role === undefined) throw new BadInput({ field, message: `no role has the id ${roleId}` });
    const permissions = permissionsOfRole(role);
    requireHoldsAll(actor, permissions, `the role ${role.name}`);
    return { id: role.id, name: role.name, permissions };
  }

  /** Whoever holds a client's secret holds its role: acting on its credentials needs that role's permissions. */
  async function requireHoldsClientRole(executor: Executor, actor: Actor, row: ClientRecord): Promise<void> {
    if (row.role_id === null) return;
    const role = await createRolesRepository(executor).findById(row.role_id);
    if (role !== undefined) requireHoldsAll(actor, permissionsOfRole(role), `the client's role ${role.name}`);
  }

  /** Checks the input; returns the new secret's expiry, the allowlist, the rate limits and the public keys as stored. */
  async function checkCreateInput(
    input: CreateClientInput,
    nowMs: number,
  ): Promise<{ secretExpiresAt: string | null; allowedCidrs: string[]; rateLimit: RateLimitInput; authMethod: AuthMethod; publicKeys: CheckedPublicKey[] }> {
    const problems = new ProblemCollector();
    const authMethod = input.authMethod ?? 'client_secret';
    if (!AUTH_METHODS.includes(authMethod)) problems.add('authMethod', `must be one of ${AUTH_METHODS.join(', ')}`);
    const publicKeys: CheckedPublicKey[] = [];
    if (input.publicKeys !== undefined && input.publicKeys.length > 0) {
      if (authMethod !== 'private_key_jwt') problems.add('publicKeys', 'are only for authMethod private_key_jwt');
      else if (!Array.isArray(input.publicKeys) || input.publicKeys.length > CLIENT_KEYS_MAX)
        problems.add('publicKeys', `must list at most ${CLIENT_KEYS_MAX} keys`);
      else {
        for (const [index, raw] of input.publicKeys.entries()) {
          try {
            const key = await checkPublicKey(raw, `publicKeys[${index}]`);
            if (publicKeys.some((other) => other.kid === key.kid)) problems.add(`publicKeys[${index}]`, `has the kid ${key.kid} of another key`);
            else if (publicKeys.some((other) => other.thumbprint === key.thumbprint)) problems.add(`publicKeys[${index}]`, 'is listed twice');
            else publicKeys.push(key);
          } catch (error) {
            if (!(error instanceof BadInput)) throw error;
            for (const problem of error.problems) problems.add(problem.field, problem.message);
          }
        }
      }
    }
    if (authMethod === 'private_key_jwt' && input.secretExpiresAt !== undefined && input.secretExpiresAt !== null) {
      problems.add('secretExpiresAt', 'a private_key_jwt client has no secret to expire');
    }
    problems.add('name', typeof input.name === 'string' ? nameProblem(input.name) : 'is required and must be a string');
    if (input.description !== undefined && input.description !== null) {
      problems.add('description', typeof input.description === 'string' ? descriptionProblem(input.description) : 'must be a string or null');
    }
    // A key-holding client gets no secret to expire, whatever the installation's maximum lifetime.
    const secretExpiresAt = authMethod === 'private_key_jwt' ? null : lifetime.forNewSecret(input.secretExpiresAt, 'secretExpiresAt', nowMs, problems);
    const allowedCidrs = checkAllowedCidrs(input.allowedCidrs, 'allowedCidrs', problems) ?? [];
    const rateLimit = checkRateLimit(input.rateLimit, 'rateLimit', problems) ?? {};
    if (input.requireDpop !== undefined && typeof input.requireDpop !== 'boolean') problems.add('requireDpop', 'must be true or false');
    problems.throwIfAny();
    return { secretExpiresAt, allowedCidrs, rateLimit, authMethod, publicKeys };
  }

  const keySummary = (key: { kid: string; alg: string; thumbprint: string }) => ({ kid: key.kid, alg: key.alg, thumbprint: key.thumbprint });

  const insertKey = (executor: Executor, clientId: string, key: CheckedPublicKey, at: string) =>
    createClientKeysRepository(executor).insert({
      id: randomUUID(),
      client_id: clientId,
      kid: key.kid,
      alg: key.alg,
      thumbprint: key.thumbprint,
      public_jwk: JSON.stringify(key.jwk),
      added_at: at,
      last_used_at: null,
    });

  let lastUsedTime = { ms: -1, at: '' };

  const service = {
    /** A client that authenticates with a secret, shown once here. */
    async create(actor: Actor, input: Omit<CreateClientInput, 'authMethod' | 'publicKeys'>): Promise<ApiClientWithSecret> {
      const created = await service.createAny(actor, { ...input, authMethod: 'client_secret' });
      return { client: created.client, clientSecret: created.clientSecret! };
    },

    /** A private_key_jwt client (RFC 7523 §2.2): no secret, the public keys it signs with. */
    async createWithKeys(actor: Actor, input: Omit<CreateClientInput, 'authMethod'>): Promise<ApiClient> {
      return (await service.createAny(actor, { ...input, authMethod: 'private_key_jwt' })).client;
    },

    /** Either kind, as the doors take it (`authMethod` absent: a secret); the secret is null for a private_key_jwt client. */
    async createAny(actor: Actor, input: CreateClientInput): Promise<CreatedApiClient> {
      requirePermission(actor, 'clients:create');
      const now = clock.now();
      const { secretExpiresAt, allowedCidrs, rateLimit, authMethod, publicKeys } = await checkCreateInput(input, now.getTime());
      if (input.roleId !== undefined && input.roleId !== null) requirePermission(actor, 'roles:assign');
      const id = randomUUID();
      // A private_key_jwt client still gets a secret's hash, of a secret nobody is shown: every
      // secret check then costs the same, and refuses it.
      const secret = hasher.generate();
      const at = now.toISOString();
      const name = normalizeName(input.name);
      const description = input.description === undefined || input.description === null || input.description.trim() === '' ? null : input.description;
      const row = await changes.transaction(async (trx, recordChange) => {
        // An unknown id may be cached as unknown by the authentication cache.
        recordChange({ kind: 'client', id });
        const role = input.roleId === undefined || input.roleId === null ? null : await assignableRole(trx, actor, input.roleId, 'roleId');
        await createClientsRepository(trx).insert({
          id,
          name,
          name_key: name.toLowerCase(),
          description,
          description_key: description?.toLowerCase() ?? null,
          enabled: 1,
          role_id: role?.id ?? null,
          secret_hash: secret.hash,
          secret_hint: secret.hint,
          secret_generation: 1,
          secret_expires_at: secretExpiresAt,
          allowed_cidrs: JSON.stringify(allowedCidrs),
          rate_limit_requests_per_minute: rateLimit.requestsPerMinute ?? null,
          rate_limit_tokens_per_minute: rateLimit.tokensPerMinute ?? null,
          auth_method: authMethod,
          require_dpop: input.requireDpop === true ? 1 : 0,
          last_used_at: null,
          created_at: at,
          updated_at: at,
        });
        for (const key of publicKeys) await insertKey(trx, id, key, at);
        await recordAudit(trx, clock, actor, [
          {
            action: 'client.created',
            target: clientTarget({ id, name }),
            details: {
              role: role === null ? null : { id: role.id, name: role.name },
              secretExpiresAt,
              allowedCidrs,
              rateLimit: { requestsPerMinute: rateLimit.requestsPerMinute ?? null, tokensPerMinute: rateLimit.tokensPerMinute ?? null },
              ...(authMethod === 'private_key_jwt' ? { authMethod, publicKeys: publicKeys.map(keySummary) } : {}),
              requireDpop: input.requireDpop === true,
            },
          },
        ]);
        return presentOne(trx, await findRow(trx, id));
      });
      return { client: row, clientSecret: authMethod === 'private_key_jwt' ? null : secret.secret };
    },

    async get(actor: Actor, id: string): Promise<ApiClient> {
      requirePermission(actor, 'clients:read');
      return presentOne(db, await findRow(db, id));
    },

    async list(actor: Actor, input: ListClientsInput = {}): Promise<ClientPage> {
      requirePermission(actor, 'clients:read');
      const problems = new ProblemCollector();
      const limit = checkPageLimit(input.limit, problems);
      const search = input.search?.normalize('NFC').trim() ?? null;
      if (search !== null && search.length > SEARCH_MAX_LENGTH) problems.add('search', `must be at most ${SEARCH_MAX_LENGTH} characters`);
      const status = input.status ?? null;
      if (status !== null && status !== 'enabled' && status !== 'disabled') problems.add('status', 'must be enabled or disabled');
      const roleId = input.roleId ?? null;
      if (roleId !== null && !UUID_PATTERN.test(roleId)) problems.add('roleId', 'must be a UUID');
      const unusedForDays = input.unusedFor === undefined || input.unusedFor === null ? null : parseDays(String(input.unusedFor));
      if (unusedForDays === null && input.unusedFor !== undefined && input.unusedFor !== null) problems.add('unusedFor', DAYS_MESSAGE);
      const neverUsed = input.neverUsed ?? false;
      if (typeof neverUsed !== 'boolean') problems.add('neverUsed', 'must be true or false');
      const expiringWithinDays = input.expiringWithin === undefined || input.expiringWithin === null ? null : parseDays(String(input.expiringWithin));
      if (expiringWithinDays === null && input.expiringWithin !== undefined && input.expiringWithin !== null) problems.add('expiringWithin', DAYS_MESSAGE);
      const expired = input.expired ?? false;
      if (typeof expired !== 'boolean') problems.add('expired', 'must be true or false');
      problems.throwIfAny();
      const { field, descending, sort } = parseSort(input.sort);
      const after = decodePageCursor(input.cursor, sort);
      const nowMs = clock.now().getTime();
      const unusedSince = unusedForDays === null ? null : new Date(nowMs - unusedForDays * DAY_MS).toISOString();
      // Uses are written coalesced: a client this instance saw a moment ago must not be listed
      // as unused (and then disabled in bulk) because its use is still pending.
      if (unusedSince !== null || neverUsed) await lastUsed.flush();
      // The same for counted requests: the sort reads them from the database.
      if (field === 'requests7d') await recentRequests.flush();

      const repository = createClientsRepository(db);
      const query = {
        limit,
        after,
        search: search === '' ? null : search,
        status,
        roleId: roleId?.toLowerCase() ?? null,
        unusedSince,
        neverUsed,
        secretExpiring:
          expiringWithinDays === null ? null : { from: new Date(nowMs).toISOString(), to: new Date(nowMs + expiringWithinDays * DAY_MS).toISOString() },
        secretExpiredBy: expired ? new Date(nowMs).toISOString() : null,
        sort: field,
        descending,
        requestsSince: recentRequests.windowStart(),
      };
      const [{ rows, hasMore, keptCount, matched }, counted] = await Promise.all([repository.list(query), repository.countUnlessInPage(query)]);
      // The page's statement read the kept count or counted the matches; a page past the end has no row to carry the kept count.
      const total = counted ?? matched ?? keptCount ?? (await repository.count(query));
      const last = rows.at(-1);
      return {
        items: await present(db, rows, query.requestsSince),
        nextCursor: hasMore && last !== undefined ? encodeCursor({ sort, value: sortValueOf(field, last), id: last.id }) : null,
        total,
      };
    },

    async update(actor: Actor, id: string, input: UpdateClientInput): Promise<ApiClient> {
      const touchesDetails =
        input.name !== undefined ||
        input.description !== undefined ||
        input.enabled !== undefined ||
        input.allowedCidrs !== undefined ||
        input.rateLimit !== undefined ||
        input.requireDpop !== undefined;
      if (touchesDetails) requirePermission(actor, 'clients:update');
      if (input.roleId !== undefined) requirePermission(actor, 'roles:assign');
      // The secret's expiry is part of the credentials, as is regenerating it.
      if (input.secretExpiresAt !== undefined) requirePermission(actor, 'clients:secrets');
      if (!touchesDetails && input.roleId === undefined && input.secretExpiresAt === undefined) requirePermission(actor, 'clients:update');
      const problems = new ProblemCollector();
      if (input.name !== undefined) problems.add('name', typeof input.name === 'string' ? nameProblem(input.name) : 'must be a string');
      if (input.description !== undefined && input.description !== null)
        problems.add('description', typeof input.description === 'string' ? descriptionProblem(input.description) : 'must be a string or null');
      if (input.enabled !== undefined && typeof input.enabled !== 'boolean') problems.add('enabled', 'must be true or false');
      if (input.requireDpop !== undefined && typeof input.requireDpop !== 'boolean') problems.add('requireDpop', 'must be true or false');
      const secretExpiresAt = lifetime.forChange(input.secretExpiresAt, 'secretExpiresAt', clock.now().getTime(), problems);
      const allowedCidrs = checkAllowedCidrs(input.allowedCidrs, 'allowedCidrs', problems);
      const rateLimit = checkRateLimit(input.rateLimit, 'rateLimit', problems);
      problems.throwIfAny();

      const row = await changes.transaction(async (trx, recordChange) => {
        const before = await findRow(trx, id);
        id = before.id;
        // Renaming, re-enabling (a leaked token lives again) or disabling a client is acting on what
        // its role grants: only for someone who holds all of it, as for its secret.
        await requireHoldsClientRole(trx, actor, before);
        // Taking a role away is a change of what the client may do, as is giving one (the old
        // role was checked above).
        const role =
          typeof input.roleId === 'string' && requestedRoleId(input) !== before.role_id ? await assignableRole(trx, actor, input.roleId, 'roleId') : null;
        const { patch, audit } = clientChanges(before, input, role, secretExpiresAt, allowedCidrs, rateLimit);
        if (input.secretExpiresAt !== undefined && input.secretExpiresAt !== null && before.auth_method === 'private_key_jwt') {
          throw new BadInput({ field: 'secretExpiresAt', message: 'a private_key_jwt client has no secret to expire' });
        }
        if (audit.length === 0) return presentOne(trx, before);
        await createClientsRepository(trx).update(id, { ...patch, updated_at: clock.now().toISOString() });
        await recordAudit(trx, clock, actor, audit);
        recordChange({ kind: 'client', id });
        return presentOne(trx, await findRow(trx, id));
      });
      return row;
    },

    setEnabled: (actor: Actor, id: string, enabled: boolean) => service.update(actor, id, { enabled }),
    setRole: (actor: Actor, id: string, roleId: string | null) => service.update(actor, id, { roleId }),

    async delete(actor: Actor, id: string): Promise<void> {
      requirePermission(actor, 'clients:delete');
      await changes.transaction(async (trx, recordChange) => {
        const row = await findRow(trx, id);
        await requireHoldsClientRole(trx, actor, row);
        await createClientsRepository(trx).delete(row.id);
        await recordAudit(trx, clock, actor, [{ action: 'client.deleted', target: clientTarget(row) }]);
        recordChange({ kind: 'client', id: row.id });
      });
      lastUsed.forget(id.toLowerCase());
      previousSecretUsed.forget(id.toLowerCase());
    },

    /**
     * Replaces the secret and moves the generation on. Without `keepPreviousFor` the old secret and
     * its tokens die at once; with it they keep working until then (never past the old secret's own
     * expiry). A rotation during an overlap ends that overlap: the previous secret is always the
     * one just replaced.
     */
    async regenerateSecret(actor: Actor, id: string, input: RegenerateSecretInput = {}): Promise<ApiClientWithSecret> {
      requirePermission(actor, 'clients:secrets');
      const now = clock.now();
      const problems = new ProblemCollector();
      const keepPreviousFor = checkKeepPreviousFor(input.keepPreviousFor, problems);
      const expiresAt = lifetime.forNewSecret(input.expiresAt, 'expiresAt', now.getTime(), problems);
      problems.throwIfAny();
      const secret = hasher.generate();
      const row = await changes.transaction(async (trx, recordChange) => {
        const before = await findRow(trx, id);
        recordChange({ kind: 'client', id: before.id });
        await requireHoldsClientRole(trx, actor, before);
        if (before.auth_method === 'private_key_jwt') throw new Conflict('this client authenticates with private_key_jwt: it has keys, not a secret');
        const repository = createClientsRepository(trx);
        const overlapEndMs = Math.min(
          now.getTime() + keepPreviousFor * 1000,
          before.secret_expires_at === null ? Infinity : Date.parse(before.secret_expires_at),
        );
        const current = overlapEndMs > now.getTime() ? await repository.findCredentials(before.id) : undefined;
        await repository.update(before.id, {
          secret_hash: secret.hash,
          secret_hint: secret.hint,
          secret_generation: before.secret_generation + 1,
          secret_expires_at: expiresAt,
          previous_secret_hash: current?.secret_hash ?? null,
          previous_secret_hint: current === undefined ? null : before.secret_hint,
          previous_secret_expires_at: current === undefined ? null : new Date(overlapEndMs).toISOString(),
          previous_secret_last_used_at: null,
          updated_at: now.toISOString(),
        });
        await recordAudit(trx, clock, actor, [
          {
            action: 'client.secret_regenerated',
            target: clientTarget(before),
            details: { generation: before.secret_generation + 1, keepPreviousFor, expiresAt },
          },
        ]);
        return presentOne(trx, await findRow(trx, before.id));
      });
      previousSecretUsed.forget(row.id);
      return { client: row, clientSecret: secret.secret };
    },

    /** Ends a rotation's overlap now: the previous secret and every token minted with it stop working. */
    async endPreviousSecret(actor: Actor, id: string): Promise<void> {
      requirePermission(actor, 'clients:secrets');
      await changes.transaction(async (trx, recordChange) => {
        const before = await findRow(trx, id);
        await requireHoldsClientRole(trx, actor, before);
        if (previousSecretOf(before) === null) throw new NotFound('previous secret of API client', before.id);
        await createClientsRepository(trx).update(before.id, {
          previous_secret_hash: null,
          previous_secret_hint: null,
          previous_secret_expires_at: null,
          previous_secret_last_used_at: null,
          updated_at: clock.now().toISOString(),
        });
        await recordAudit(trx, clock, actor, [
          { action: 'client.previous_secret_ended', target: clientTarget(before), details: { generation: before.secret_generation - 1 } },
        ]);
        recordChange({ kind: 'client', id: before.id });
      });
      previousSecretUsed.forget(id.toLowerCase());
    },

    /**
     * Adds a public key to a private_key_jwt client; assertions signed with it authenticate from
     * the next request on every instance. With the old key removed afterwards, a rotation
     * without downtime.
     */
    async addKey(actor: Actor, id: string, jwk: unknown): Promise<ApiClient> {
      requirePermission(actor, 'clients:secrets');
      const key = await checkPublicKey(jwk, 'jwk');
      const at = clock.now().toISOString();
      return changes.transaction(async (trx, recordChange) => {
        const before = await findRow(trx, id);
        await requireHoldsClientRole(trx, actor, before);
        if (before.auth_method !== 'private_key_jwt') throw new Conflict('this client authenticates with a secret; keys are for private_key_jwt clients');
        const keys = await createClientKeysRepository(trx).listOf([before.id]);
        if (keys.length >= CLIENT_KEYS_MAX) throw new BadInput({ field: 'jwk', message: `the client has ${CLIENT_KEYS_MAX} keys already; remove one first` });
        if (keys.some((other) => other.kid === key.kid)) throw new Conflict(`the client has a key with the kid ${key.kid} already`);
        if (keys.some((other) => other.thumbprint === key.thumbprint)) throw new Conflict('the client has this key already');
        await insertKey(trx, before.id, key, at);
        await createClientsRepository(trx).update(before.id, { updated_at: at });
        await recordAudit(trx, clock, actor, [{ action: 'client.key_added', target: clientTarget(before), details: keySummary(key) }]);
        recordChange({ kind: 'client', id: before.id });
        return presentOne(trx, await findRow(trx, before.id));
      });
    },

    /** Removes a key: assertions signed with it, and every token it authenticated, stop working on their next request. */
    async removeKey(actor: Actor, id: string, kid: string): Promise<void> {
      requirePermission(actor, 'clients:secrets');
      const removed = await changes.transaction(async (trx, recordChange) => {
        const before = await findRow(trx, id);
        await requireHoldsClientRole(trx, actor, before);
        const key = await createClientKeysRepository(trx).delete(before.id, kid);
        if (key === undefined) throw new NotFound('key of API client', kid);
        const at = clock.now().toISOString();
        await createClientsRepository(trx).update(before.id, { updated_at: at });
        await recordAudit(trx, clock, actor, [{ action: 'client.key_removed', target: clientTarget(before), details: keySummary(key) }]);
        recordChange({ kind: 'client', id: before.id });
        return key;
      });
      keyUsed.forget(removed.id);
    },

    /** Up to 1,000 ids in one transaction; ids that do not exist, or that the caller may not touch, are reported, not fatal. */
    async bulk(actor: Actor, action: BulkAction, ids: readonly string[]): Promise<BulkResult> {
      if (!BULK_ACTIONS.includes(action)) throw new BadInput({ field: 'action', message: `must be one of ${BULK_ACTIONS.join(', ')}` });
      requirePermission(actor, action === 'delete' ? 'clients:delete' : 'clients:update');
      const problems = new ProblemCollector();
      if (!Array.isArray(ids) || ids.length === 0 || ids.length > BULK_MAX_IDS) {
        problems.add('ids', `must list 1 to ${BULK_MAX_IDS} client ids`);
      } else {
        ids.forEach((id, index) => problems.add(`ids[${index}]`, typeof id === 'string' && UUID_PATTERN.test(id) ? null : 'must be a UUID'));
      }
      problems.throwIfAny();
      const unique = [...new Set(ids.map((id) => id.toLowerCase()))];

      const result = await changes.transaction(async (trx, recordChange) => {
        const repository = createClientsRepository(trx);
        const found = await repository.namesAndRolesOf(unique);
        const notFound = unique.filter((id) => !found.has(id));
        // A client whose role grants more than the caller holds is left as it is and reported,
        // as the single-client routes refuse it; the others still change.
        const roleIds = [...new Set([...found.values()].flatMap((client) => (client.roleId === null ? [] : [client.roleId])))];
        const roles = new Map((await createRolesRepository(trx).findByIds(roleIds)).map((role) => [role.id, role]));
        const refused: BulkResult['refused'] = [];
        const succeeded: string[] = [];
        for (const id of unique) {
          const client = found.get(id);
          if (client === undefined) continue;
          const role = client.roleId === null ? undefined : roles.get(client.roleId);
          const missing = role === undefined ? [] : sortPermissionKeys(permissionsOfRole(role).filter((key) => !actor.permissions.has(key)));
          if (missing.length > 0) refused.push({ id, reason: `the client's role ${role!.name} grants ${missing.join(', ')}, which you do not hold` });
          else succeeded.push(id);
        }
        const names = new Map([...found].map(([id, client]) => [id, client.name]));
        const changed = action === 'delete' ? succeeded : succeeded.filter((id) => found.get(id)!.enabled !== (action === 'enable'));
        if (action === 'delete') await repository.deleteMany(succeeded);
        else await repository.setEnabledMany(changed, action === 'enable', clock.now().toISOString());
        const verb = action === 'delete' ? 'client.deleted' : action === 'enable' ? 'client.enabled' : 'client.disabled';
        await recordAudit(
          trx,
          clock,
          actor,
          changed.map((id) => ({ action: verb, target: clientTarget({ id, name: names.get(id) ?? '' }), details: { bulk: true } })),
        );
        recordChange(...changed.map((id) => ({ kind: 'client' as const, id })));
        return { action, succeeded, notFound, refused, changed };
      });
      if (action === 'delete') result.succeeded.forEach((id) => (lastUsed.forget(id), previousSecretUsed.forget(id)));
      return result;
    },

    /** The client's effective permissions, the whole catalog grouped by category with `granted`. */
    async permissions(actor: Actor, id: string): Promise<PermissionGroup<GrantedPermission>[]> {
      requirePermission(actor, 'clients:read');
      const row = await findRow(db, id);
      const role = row.role_id === null ? undefined : await createRolesRepository(db).findById(row.role_id);
      return grantedPermissions(new Set(role === undefined ? [] : permissionsOfRole(role)));
    },

    /**
     * The batch form of `permissions`, for a page of clients (GraphQL's loader): two queries
     * whatever the number of ids, instead of two per client. Unknown ids map to null.
     */
    async permissionsOfMany(actor: Actor, ids: readonly string[]): Promise<Map<string, PermissionGroup<GrantedPermission>[] | null>> {
      requirePermission(actor, 'clients:read');
      ids.forEach((id) => checkId(id));
      const wanted = [...new Set(ids.map((id) => id.toLowerCase()))];
      const rows = await createClientsRepository(db).findByIds(wanted);
      const roleIds = [...new Set(rows.flatMap((row) => (row.role_id === null ? [] : [row.role_id])))];
      const roles = new Map((await createRolesRepository(db).findByIds(roleIds)).map((role) => [role.id, permissionsOfRole(role)]));
      const byId = new Map(rows.map((row) => [row.id, grantedPermissions(new Set(row.role_id === null ? [] : (roles.get(row.role_id) ?? [])))]));
      return new Map(ids.map((id) => [id, byId.get(id.toLowerCase()) ?? null]));
    },

    /** Notes that an assertion signed with this key (by key id) authenticated its client; written coalesced. */
    recordKeyUse(keyId: string): void {
      keyUsed.record(keyId, clock.now().toISOString());
    },

    /** Notes a successful authentication, and whether the previous secret made it; written coalesced, never one write per request. */
    recordUse(id: string, secretUsed: 'current' | 'previous' = 'current'): void {
      // Every authenticated request lands here; many share a millisecond, so they share its text.
      const ms = clock.now().getTime();
      if (ms !== lastUsedTime.ms) lastUsedTime = { ms, at: new Date(ms).toISOString() };
      lastUsed.record(id, lastUsedTime.at);
      if (secretUsed === 'previous') previousSecretUsed.record(id, lastUsedTime.at);
    },
  };
  return service;
}

export type ClientsService = ReturnType<typeof createClientsService>;
