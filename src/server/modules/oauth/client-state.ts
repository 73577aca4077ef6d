import type { BlockList } from 'node:net';
import type { Kysely } from 'kysely';
import { importJWK, type CryptoKey, type JWK } from 'jose';
import type { Change, ChangeFeed } from '../../changes.js';
import type { Clock } from '../../clock.js';
import { CLIENT_STATE_CACHE_SIZE } from '../../config.js';
import type { Database } from '../../db/schema.js';
import { Unavailable } from '../../errors.js';
import type { Metrics } from '../../metrics/metrics.js';
import type { PermissionKey } from '../../../shared/permissions.js';
import { allowedAddressesOf } from '../clients/allowed-cidrs.js';
import { createClientKeysRepository } from '../clients/client-keys.repository.js';
import { AUTH_METHODS, type AuthMethod, type ClientKeyAlgorithm } from '../../../shared/public-keys.js';
import { permissionsOfRole } from '../roles/permissions.js';
import { createTokensRepository } from './tokens.repository.js';
import type { FederatedRule } from '../federation/workload-tokens.js';

/** A private_key_jwt client's public key, imported once per state rather than on each request. */
export interface ClientKey {
  /** Ours; tokens the key authenticated carry it. */
  readonly id: string;
  readonly kid: string;
  readonly alg: ClientKeyAlgorithm;
  readonly key: CryptoKey;
}

/** What every authentication needs to know about a client, now. */
export interface ClientState {
  readonly id: string;
  readonly name: string;
  readonly enabled: boolean;
  readonly secretHash: string;
  readonly secretGeneration: number;
  /** When the current secret, and every token minted with it, stops working (epoch ms); null: never. */
  readonly secretExpiresAtMs: number | null;
  /**
   * The secret the current one replaced, while a rotation's overlap lasts: its hash, and when it
   * and the tokens minted with it (generation `secretGeneration - 1`) stop working (epoch ms).
   */
  readonly previousSecret: { readonly hash: string; readonly expiresAtMs: number } | null;
  /** Where the client may call from, matched once per request; null: anywhere. */
  readonly allowedAddresses: BlockList | null;
  /** Requests and token requests a minute the client may make; null: no limit. */
  readonly rateLimit: { readonly requestsPerMinute: number | null; readonly tokensPerMinute: number | null };
  /** RFC 9449 §5: a token request without a DPoP proof is refused. */
  readonly requireDpop: boolean;
  readonly roleId: string | null;
  /** The role's permissions as they are now. */
  readonly permissions: ReadonlySet<PermissionKey>;
  /** jtis of this client's revoked, unexpired tokens. */
  readonly revokedTokens: ReadonlySet<string>;
  /** Who may exchange an outside OIDC token for this client's tokens; a token minted through a rule dies with it. */
  readonly federatedRules: readonly FederatedRule[];
  readonly authMethod: AuthMethod;
  /** The public keys of a private_key_jwt client; empty for the others. */
  readonly publicKeys: readonly ClientKey[];
}

interface Entry {
  readonly state: ClientState | null;
  /** Date.now() when read, less the cache's start: a small integer, not a number object per entry. */
  readonly loadedAt: number;
  /** The change epoch it was read in: a change of its role at a later epoch makes it stale. */
  readonly epoch: number;
}

interface Load {
  readonly promise: Promise<ClientState | null>;
  /** performance.now() when its statement went out (undefined while it waits for a connection). */
  readonly startedAt: () => number | undefined;
}

/**
 * How long a cached state is trusted without hearing from the database. Changes arrive at once
 * (this instance) or through LISTEN/NOTIFY (others); the TTL is the safety net if a notification
 * is lost. While the change feed cannot vouch for what it heard (listener down or silent), no
 * cached state is trusted at all: each request reads the database, and is refused (503) if the
 * database cannot answer.
 */
export const CLIENT_STATE_TTL_MS = 10_000;
/** Label sets made once: this runs on every token and bearer request. */
const HIT = Object.freeze({ result: 'hit' as const });
const MISS = Object.freeze({ result: 'miss' as const });

const perMinute = (stored: number | string | null): number | null => (stored === null ? null : Number(stored));

/*
 * What most states hold alike is shared rather than copied into each: 100,000 cached states are
 * 100,000 copies otherwise (about 2 KB a state before, measured with a heap snapshot). Shared
 * values are never changed: a change makes new states.
 */
const NO_PERMISSIONS: ReadonlySet<PermissionKey> = new Set();
const NO_REVOKED_TOKENS: ReadonlySet<string> = new Set();
const NO_RULES: readonly FederatedRule[] = Object.freeze([]);
const NO_KEYS: readonly ClientKey[] = Object.freeze([]);
const NO_RATE_LIMIT = Object.freeze({ requestsPerMinute: null, tokensPerMinute: null });
/** Distinct permission sets (and role ids) kept for sharing; past this many (never, with real roles) the table starts again. */
const MAX_SHARED_PERMISSION_SETS = 1000;
/** The method as one of the catalog's strings, rather than the row's copy of it. */
const sharedAuthMethod = (stored: string): AuthMethod => AUTH_METHODS.find((method) => method === stored) ?? (stored as AuthMethod);

/**
 * The in-process cache of client state behind the token endpoint and every bearer request
 * (a disable, deletion, regeneration or role change applies to the next request).
 * Unknown ids are cached too, so a known and an unknown client cost the same.
 */
export function createClientStateCache(deps: {
  db: Kysely<Database>;
  changes: ChangeFeed;
  clock: Clock;
  ttlMs?: number;
  /** The most entries kept (KOIOS_CLIENT_STATE_CACHE_SIZE); the least recently used are dropped first. */
  maxEntries?: number;
  metrics?: Pick<Metrics, 'clientStateLookups' | 'clientStateLoads'>;
}) {
  const { db, changes, clock, metrics } = deps;
  const ttlMs = deps.ttlMs ?? CLIENT_STATE_TTL_MS;
  const maxEntries = deps.maxEntries ?? CLIENT_STATE_CACHE_SIZE;
  /** In order of last use, oldest first (a Map iterates in insertion order). */
  const entries = new Map<string, Entry>();
  const createdAtMs = Date.now();
  const loading = new Map<string, Load>();
  /** Bumped by every change so that a load that raced with a change is not cached. */
  let epoch = 0;
  /**
   * The epoch of each role's last change. A role held by 50,000 cached clients is changed in one
   * step rather than by walking every entry (which paused the event loop for tens of ms): an entry
   * read before its role's change is stale, and is read again on its client's next request.
   */
  const roleChangedAt = new Map<string, number>();
  /** One set per distinct list of permissions, shared by every state holding it. */
  const permissionSets = new Map<string, ReadonlySet<PermissionKey>>();
  /** One string per role id, shared by the states of its clients rather than a copy in each. */
  const roleIds = new Map<string, string>();

  function sharedRoleId(id: string | null): string | null {
    if (id === null) return null;
    const known = roleIds.get(id);
    if (known !== undefined) return known;
    if (roleIds.size >= MAX_SHARED_PERMISSION_SETS) roleIds.clear();
    roleIds.set(id, id);
    return id;
  }

  function sharedPermissions(keys: readonly PermissionKey[]): ReadonlySet<PermissionKey> {
    if (keys.length === 0) return NO_PERMISSIONS;
    const name = keys.join(' ');
    let set = permissionSets.get(name);
    if (set === undefined) {
      if (permissionSets.size >= MAX_SHARED_PERMISSION_SETS) permissionSets.clear();
      permissionSets.set(name, (set = new Set(keys)));
    }
    return set;
  }

  changes.subscribe((list: readonly Change[]) => {
    epoch += 1;
    for (const change of list) {
      if (change.kind === 'client') {
        entries.delete(change.id);
        loading.delete(change.id);
      } else if (change.kind === 'role') {
        roleChangedAt.set(change.id, epoch);
        loading.clear();
      } else if (change.kind === 'all') {
        entries.clear();
        loading.clear();
        // No entry is older than the clear: the role epochs have nothing left to judge.
        roleChangedAt.clear();
      }
    }
  });

  /** Whether the entry's role changed after it was read. */
  function roleChangedSince(entry: Entry): boolean {
    const roleId = entry.state?.roleId;
    if (roleId === undefined || roleId === null) return false;
    const changedAt = roleChangedAt.get(roleId);
    return changedAt !== undefined && changedAt > entry.epoch;
  }

  /**
   * The same statements whether or not the client exists: the client, its role and its revoked
   * tokens (a row per token), then its federated rules. A known id with a wrong secret and an
   * unknown id then cost the same, so the time of a refusal does not tell which ids exist.
   */
  async function load(id: string, executor: Kysely<Database>): Promise<ClientState | null> {
    const repository = createTokensRepository(executor);
    const rows = await repository.findClientState(id, clock.now().toISOString());
    // Asked for an unknown id too, so that it costs what a known one does.
    const rules = await repository.findFederatedRules(id);
    const row = rows[0];
    if (row === undefined) return null;
    const authMethod = sharedAuthMethod(row.auth_method);
    const publicKeys =
      authMethod === 'private_key_jwt'
        ? await Promise.all(
            (await createClientKeysRepository(executor).jwksOf(id)).map(async (key) => ({
              id: key.id,
              kid: key.kid,
              alg: key.alg as ClientKeyAlgorithm,
              key: (await importJWK(JSON.parse(key.public_jwk) as JWK, key.alg)) as CryptoKey,
            })),
          )
        : NO_KEYS;
    const revoked = rows.flatMap((r) => (r.jti === null ? [] : [r.jti]));
    const requestsPerMinute = perMinute(row.rate_limit_requests_per_minute);
    const tokensPerMinute = perMinute(row.rate_limit_tokens_per_minute);
    return {
      id: row.id,
      name: row.name,
      enabled: row.enabled === 1,
      secretHash: row.secret_hash,
      secretGeneration: row.secret_generation,
      secretExpiresAtMs: row.secret_expires_at === null ? null : Date.parse(row.secret_expires_at),
      previousSecret:
        row.previous_secret_hash === null || row.previous_secret_expires_at === null
          ? null
          : { hash: row.previous_secret_hash, expiresAtMs: Date.parse(row.previous_secret_expires_at) },
      allowedAddresses: allowedAddressesOf(row.allowed_cidrs),
      // PostgreSQL may answer integers as text.
      rateLimit: requestsPerMinute === null && tokensPerMinute === null ? NO_RATE_LIMIT : { requestsPerMinute, tokensPerMinute },
      requireDpop: Number(row.require_dpop) === 1,
      roleId: sharedRoleId(row.role_id),
      permissions: row.permissions === null ? NO_PERMISSIONS : sharedPermissions(permissionsOfRole({ built_in: row.built_in, permissions: row.permissions })),
      revokedTokens: revoked.length === 0 ? NO_REVOKED_TOKENS : new Set(revoked),
      federatedRules: rules.length === 0 ? NO_RULES : rules.map((rule) => ({ ...rule, conditions: JSON.parse(rule.conditions) as Record<string, string> })),
      authMethod,
      publicKeys,
    };
  }

  function remember(id: string, state: ClientState | null, startedEpoch: number): void {
    if (startedEpoch !== epoch) return;
    const loadedAt = Date.now() - createdAtMs;
    /*
     * An entry read a TTL ago never answers again (its client's next request reads the database),
     * yet kept, 100,000 clients an hour held 100,000 of them. Dropped from the least recently used
     * on, up to the first entry still young: those behind it were used since it was read, so what
     * is left is bounded by the clients of the last TTL, and the walk costs nothing on average.
     */
    for (const [key, old] of entries) {
      if (loadedAt - old.loadedAt < ttlMs) break;
      entries.delete(key);
    }
    entries.delete(id);
    if (entries.size >= maxEntries) {
      const oldest = entries.keys().next();
      if (oldest.done !== true) entries.delete(oldest.value);
    }
    // Keyed by the state's own id when it is the same: the caller's copy (from the token) is then not kept.
    entries.set(state !== null && state.id === id ? state.id : id, { state, loadedAt, epoch });
  }

  /**
   * Reads the state from the database. A read already under way is shared while the change feed is
   * live (a change would have cancelled it). Otherwise it is shared only if its statement has not
   * gone out before this request arrived: one that went out earlier may miss a change this request
   * must see. Under load, requests waiting for a connection then share one read instead of each
   * queueing its own. Never falls back to a cached value: a state that cannot be checked is a 503.
   */
  async function refresh(id: string, arrivedAt: number): Promise<ClientState | null> {
    const under = loading.get(id);
    if (under !== undefined) {
      const startedAt = under.startedAt();
      if (changes.isLive() || startedAt === undefined || startedAt > arrivedAt) return under.promise;
    }
    const startedEpoch = epoch;
    let startedAt: number | undefined;
    metrics?.clientStateLoads.inc();
    const promise = db
      .connection()
      .execute((connection) => {
        startedAt = performance.now();
        return load(id, connection);
      })
      .then(
        (state) => {
          remember(id, state, startedEpoch);
          return state;
        },
        (error: unknown) => {
          throw error instanceof Unavailable ? error : new Unavailable('the client state cannot be checked; try again shortly', { cause: error });
        },
      );
    const current: Load = { promise, startedAt: () => startedAt };
    loading.set(id, current);
    void promise
      .finally(() => {
        if (loading.get(id) === current) loading.delete(id);
      })
      .catch(() => undefined);
    return promise;
  }

  /**
   * The cached entry when it may answer now: no change from another process to catch up on, the
   * change feed live, the entry young enough and its role unchanged since. Counted as a hit and
   * made the most recently used; undefined when the database must be read (nothing is counted).
   */
  function fresh(id: string): Entry | undefined {
    const entry = entries.get(id);
    if (entry === undefined || !changes.isLive() || Date.now() - createdAtMs - entry.loadedAt >= ttlMs || roleChangedSince(entry)) return undefined;
    metrics?.clientStateLookups.inc(HIT);
    // Most recently used now: moved to the end of the eviction order.
    entries.delete(id);
    entries.set(id, entry);
    return entry;
  }

  return {
    /** The client's state now, or null if there is no such client. Throws Unavailable (503) when it cannot be known. */
    async get(id: string): Promise<ClientState | null> {
      const arrivedAt = performance.now();
      const sync = changes.sync();
      if (sync !== undefined) await sync.catch(() => entries.clear());
      const entry = fresh(id);
      if (entry !== undefined) return entry.state;
      metrics?.clientStateLookups.inc(MISS);
      return refresh(id, arrivedAt);
    },
    /**
     * What `get` would answer from the cache, without a promise: `{ state }`, or undefined when
     * `get` must be awaited (a change to catch up on, or no fresh entry). A caller that gets
     * undefined calls `get` at once, which waits for the same catch-up.
     */
    cached(id: string): { readonly state: ClientState | null } | undefined {
      if (changes.sync() !== undefined) return undefined;
      return fresh(id);
    },
    /** Drops every entry (tests; a lost change listener). */
    clear(): void {
      entries.clear();
      roleChangedAt.clear();
    },
    /** How many states are cached, fresh or not (the koios_client_state_entries gauge). */
    size(): number {
      return entries.size;
    },
  };
}

export type ClientStateCache = ReturnType<typeof createClientStateCache>;
