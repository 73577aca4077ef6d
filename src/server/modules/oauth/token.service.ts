import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Config } from '../../config.js';
import type { Database } from '../../db/schema.js';
import type { ChangeFeed } from '../../changes.js';
import type { Clock } from '../../clock.js';
import { recordAudit } from '../audit/audit.service.js';
import { UUID_PATTERN } from '../../../shared/limits.js';
import { isPermissionKey, sortPermissionKeys, type PermissionKey } from '../../../shared/permissions.js';
import type { ClientState, ClientStateCache } from './client-state.js';
import type { SecretHasher } from '../clients/clients.secret.js';
import type { FailureReason, AuthFailureRecorder } from './auth-failures.js';
import { decodeAccessToken, signJwt, verifySignature, type AccessTokenClaims } from './jwt.js';
import {
  InvalidClient,
  InvalidDpopProof,
  InvalidGrant,
  InvalidRequest,
  InvalidScope,
  TokenRateLimited,
  TooManyAttempts,
  UnauthorizedClient,
  UseDpopNonce,
} from './oauth.errors.js';
import { createDpopVerifier, DPOP_WINDOW_SECONDS, type DpopNonces, type DpopProofRequest } from './dpop.js';
import type { FederationFailure, WorkloadTokenVerifier } from '../federation/workload-tokens.js';
import type { SigningKeys } from './signing-keys.js';
import { addressAllowed } from '../clients/allowed-cidrs.js';
import { createTokensRepository } from './tokens.repository.js';
import { claimedClient, verifyClientAssertion } from './client-assertion.js';
import type { Throttle } from '../../throttling/throttle.service.js';
import type { Quota, RateLimiter } from '../../rate-limiting/rate-limiter.js';
import type { Metrics } from '../../metrics/metrics.js';

export interface ClientCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
  /** Whether they came in an `Authorization: Basic` header (the 401 then carries `WWW-Authenticate: Basic`). */
  readonly usedBasic: boolean;
}

/** RFC 7523 §2.2: a client assertion, and the client_id of the form when one came with it. */
export interface ClientAssertionCredentials {
  readonly assertion: string;
  readonly clientId: string | undefined;
  /** The endpoint's URL, which the assertion's aud may name beside the issuer. */
  readonly endpoint: string;
}

export interface TokenResponse {
  readonly access_token: string;
  /** RFC 9449 §5: `DPoP` for a token bound to the key of the request's proof. */
  readonly token_type: 'Bearer' | 'DPoP';
  readonly expires_in: number;
  readonly scope: string;
}

/** RFC 8693 §2.2.1: a token exchange's answer says what it issued. */
export interface ExchangeResponse extends TokenResponse {
  readonly issued_token_type: typeof ACCESS_TOKEN_TYPE;
}

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
/** RFC 8693 §3: the subject token types a workload's OIDC token may be sent as. */
export const SUBJECT_TOKEN_TYPES: readonly string[] = ['urn:ietf:params:oauth:token-type:jwt', 'urn:ietf:params:oauth:token-type:id_token'];

export interface TokenExchangeRequest {
  readonly clientId: string;
  readonly subjectToken: string;
  readonly scope: string | undefined;
  /** The token request's DPoP proof, if any: the token is then bound to its key. */
  readonly dpop?: DpopProofRequest | undefined;
}

/** What the caller of a refused exchange is told; the reason itself is for the client's admins. */
const EXCHANGE_REFUSALS: Readonly<Record<FederationFailure, string>> = {
  federation_no_match: 'no federated credential of this client matches the subject token',
  federation_bad_token: 'the subject token is malformed, expired, or not signed by its issuer',
  federation_issuer_unreachable: "the subject token's issuer cannot be reached to check it; try again shortly",
};

/** Which of a client's secrets a caller proved: the current one, or the one it replaced while a rotation's overlap lasts. */
export type SecretUsed = 'current' | 'previous';

/**
 * A client as its caller authenticated: its state, and how. Beside the state, not a copy of it
 * with these added: copying the state's fields cost about a microsecond a token request.
 */
export interface AuthenticatedClient {
  readonly state: ClientState;
  readonly secretUsed: SecretUsed;
  /** The id of the public key whose assertion authenticated a private_key_jwt client. */
  readonly keyUsed?: string;
}

export type TokenCheck =
  | {
      readonly ok: true;
      readonly claims: AccessTokenClaims;
      readonly client: ClientState;
      readonly permissions: ReadonlySet<PermissionKey>;
      /** The secret the token was minted with. */
      readonly secretUsed: SecretUsed;
    }
  | { readonly ok: false; readonly reason: FailureReason; readonly clientId: string | null };

interface VerifiedToken {
  readonly claims: AccessTokenClaims;
  readonly expiresAtMs: number;
}

/** Verified signatures and claims by token, until the token expires; the live client check still runs every time. */
const VERIFIED_CACHE_MAX = 20_000;

export interface TokenServiceDeps {
  readonly config: Pick<Config, 'issuer' | 'audience' | 'accessTokenTtlSeconds'>;
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly hasher: SecretHasher;
  readonly clientStates: ClientStateCache;
  readonly signingKeys: SigningKeys;
  readonly throttle: Throttle;
  readonly failures: AuthFailureRecorder;
  readonly rateLimits: RateLimiter;
  readonly changes: ChangeFeed;
  readonly recordUse: (clientId: string, secretUsed: SecretUsed) => void;
  /** Counts an issued token in the client's usage. */
  readonly recordToken: (clientId: string) => void;
  /** Workload identity federation: checks a token exchange's subject token against the client's rules. */
  readonly workloadTokens: WorkloadTokenVerifier;
  /** Notes a federated credential's use (coalesced). */
  readonly recordFederatedUse: (credentialId: string) => void;
  readonly metrics?: Pick<Metrics, 'tokensIssued'>;
  /** Notes that an assertion signed with this key (by key id) authenticated its client. */
  readonly recordKeyUse: (keyId: string) => void;
  /** Server-provided DPoP nonces (RFC 9449 §8, §9); absent: not offered. */
  readonly dpopNonces?: DpopNonces;
  /**
   * Records a token request's DPoP proof as used, on every instance (false: used before). A
   * property, so the bench can compare with the per-instance memory alone.
   */
  readonly dpopJtis: { accept(row: { client_id: string; jti: string; expires_at: string }, now: string): Promise<boolean> };
}

function parseClaims(raw: Record<string, unknown>, audience: string): AccessTokenClaims | null {
  const { iss, sub, aud, exp, iat, jti, client_id: clientId, scope, gen, fc, ckey, cnf } = raw;
  if (typeof iss !== 'string' || typeof sub !== 'string' || typeof jti !== 'string' || typeof scope !== 'string') return null;
  if (ckey !== undefined && typeof ckey !== 'string') return null;
  if (typeof exp !== 'number' || typeof iat !== 'number' || typeof gen !== 'number' || clientId !== sub) return null;
  // RFC 9068 §4: our audience must be the token's, or one of them.
  const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) && aud.every((entry) => typeof entry === 'string') ? (aud as string[]) : [];
  if (!audiences.includes(audience)) return null;
  if (fc !== undefined && typeof fc !== 'string') return null;
  let jkt: string | undefined;
  if (cnf !== undefined) {
    jkt = (cnf as { jkt?: unknown } | null)?.jkt as string | undefined;
    if (typeof jkt !== 'string') return null;
  }
  return {
    iss,
    sub,
    aud: audience,
    exp,
    iat,
    jti,
    client_id: sub,
    scope,
    gen,
    ...(fc === undefined ? {} : { fc }),
    ...(ckey === undefined ? {} : { ckey }),
    ...(jkt === undefined ? {} : { cnf: { jkt } }),
  };
}

/**
 * What a token may do: its client's permissions now, intersected with the token's scope. Kept per
 * permission set (the client-state cache shares one among the states holding the same
 * permissions, and makes new states on every change, so a change is never missed) and scope,
 * instead of two new sets on every authenticated request, or a table per cached client.
 */
const grantedByPermissions = new WeakMap<ReadonlySet<PermissionKey>, Map<string, ReadonlySet<PermissionKey>>>();
function grantedTo(client: ClientState, scope: string): ReadonlySet<PermissionKey> {
  let byScope = grantedByPermissions.get(client.permissions);
  if (byScope === undefined) grantedByPermissions.set(client.permissions, (byScope = new Map()));
  let granted = byScope.get(scope);
  if (granted === undefined) {
    const scopes = new Set(scope.split(' '));
    granted = new Set([...client.permissions].filter((permission) => scopes.has(permission)));
    if (byScope.size < 32) byScope.set(scope, granted);
  }
  return granted;
}

/**
 * The scope of a token that asks for none: every permission the client holds, in catalog order.
 * Kept per permission set (the client-state cache shares one set per list of permissions, so a
 * changed role is another set), instead of sorted and joined on every token request.
 */
const fullScopes = new WeakMap<ReadonlySet<PermissionKey>, string>();
function fullScopeOf(permissions: ReadonlySet<PermissionKey>): string {
  let scope = fullScopes.get(permissions);
  if (scope === undefined) fullScopes.set(permissions, (scope = sortPermissionKeys(permissions).join(' ')));
  return scope;
}

/** A malformed, forged or expired token: one answer for all. */
const INVALID_TOKEN: TokenCheck = Object.freeze({ ok: false, reason: 'invalid_token', clientId: null });

/** Whether a secret expiring at `expiresAtMs` (null: never) still works at `nowMs`. */
const isLive = (expiresAtMs: number | null, nowMs: number): boolean => expiresAtMs === null || expiresAtMs > nowMs;

/** The OAuth 2.0 token service: client authentication, issuance, verification, introspection and revocation. */
export function createTokenService(deps: TokenServiceDeps) {
  const { config, clock, hasher, clientStates, signingKeys, throttle, failures, rateLimits } = deps;
  const verified = new Map<string, VerifiedToken>();
  const dpop = createDpopVerifier({ clock, nonces: deps.dpopNonces ?? null });

  /**
   * RFC 9449 §5: the key a token request's proof binds its token to; null without a proof, which a
   * client that requires DPoP may not omit. A refusal is recorded as bad_dpop_proof, except a
   * missing nonce: that is the protocol's normal first step (§8), not a client's mistake.
   * The proof's jti is accepted once across instances (§11.1): a row per token request, which
   * the API calls do not pay (see the README on replay).
   */
  async function bindingOf(client: ClientState, request: DpopProofRequest | undefined, address: string): Promise<string | null> {
    if (request?.proof === undefined) {
      if (!client.requireDpop) return null;
      failures.record(client.id, 'bad_dpop_proof', address);
      throw new InvalidRequest('this client must bind its tokens with a DPoP proof (RFC 9449): send a DPoP header');
    }
    const result = await dpop.verify(request);
    if (!result.ok && result.useNonce === true) throw new UseDpopNonce(result.description);
    if (result.ok) {
      const nowMs = clock.now().getTime();
      // Kept as long as the per-instance memory keeps it: past that no proof with this jti is accepted anyway.
      const accepted = await deps.dpopJtis.accept(
        { client_id: client.id, jti: `dpop:${result.jkt}:${result.jti}`, expires_at: new Date(nowMs + 2 * DPOP_WINDOW_SECONDS * 1000).toISOString() },
        new Date(nowMs).toISOString(),
      );
      if (accepted) return result.jkt;
    }
    failures.record(client.id, 'bad_dpop_proof', address);
    throw new InvalidDpopProof(result.ok ? 'the DPoP proof was used before (jti)' : result.description);
  }

  /** One request of an authenticated client counted against one of its limits; a refusal is recorded as rate_limited. */
  function admit(client: ClientState, kind: 'requests' | 'tokens', address: string): Quota | null {
    const quota = rateLimits.take(client.id, kind, kind === 'requests' ? client.rateLimit.requestsPerMinute : client.rateLimit.tokensPerMinute);
    if (quota?.allowed === false) failures.record(client.id, 'rate_limited', address);
    return quota;
  }

  /** Signature and claims, from cache when this exact token was verified before. */
  async function verifiedClaims(token: string, nowMs: number): Promise<AccessTokenClaims | null> {
    const cached = verified.get(token);
    if (cached !== undefined) return cached.expiresAtMs > nowMs ? cached.claims : null;
    const decoded = decodeAccessToken(token);
    if (decoded === null) return null;
    const key = signingKeys.forKidCached(decoded.kid) ?? (await signingKeys.forKid(decoded.kid));
    if (key === undefined || !verifySignature(decoded, key.publicKey)) return null;
    const claims = parseClaims(decoded.claims, config.audience);
    // RFC 9068 §4: the issuer and audience must be ours; iat in the future means a forged or skewed token.
    if (claims === null || claims.iss !== config.issuer || claims.aud !== config.audience) return null;
    if (claims.iat * 1000 > nowMs + 60_000) return null;
    if (verified.size >= VERIFIED_CACHE_MAX) verified.delete(verified.keys().next().value as string);
    verified.set(token, { claims, expiresAtMs: claims.exp * 1000 });
    return claims.exp * 1000 > nowMs ? claims : null;
  }

  /**
   * RFC 6749 §4.4.3: a token for the client's permissions now, or the requested subset of them,
   * never outliving what it was minted with (`diesAtMs`, null: only its own lifetime).
   */
  async function mint(
    client: ClientState,
    requestedScope: string | undefined,
    via: {
      readonly gen: number;
      readonly diesAtMs: number | null;
      readonly federatedCredentialId?: string;
      readonly keyId?: string | undefined;
      readonly jkt: string | null;
    },
  ): Promise<TokenResponse> {
    let scope: string;
    if (requestedScope === undefined || requestedScope.trim() === '') {
      scope = fullScopeOf(client.permissions);
    } else {
      const requested = requestedScope.split(' ').filter((scope) => scope.length > 0);
      const refused = requested.filter((scope) => !isPermissionKey(scope) || !client.permissions.has(scope));
      if (refused.length > 0) throw new InvalidScope(`the client does not hold ${refused.slice(0, 10).join(' ').slice(0, 300)}`);
      scope = sortPermissionKeys(requested as PermissionKey[]).join(' ');
    }
    const now = Math.floor(clock.now().getTime() / 1000);
    const exp = Math.min(now + config.accessTokenTtlSeconds, via.diesAtMs === null ? Infinity : Math.floor(via.diesAtMs / 1000));
    // Awaited only while keys reload: an await of nothing still costs a turn of the microtask queue.
    const reloading = signingKeys.settled();
    if (reloading !== undefined) await reloading;
    const key = signingKeys.current();
    // Optional claims are added only when present (in this order): spreading `{}` into the literal on every token cost a copy each.
    const claims: { -readonly [K in keyof AccessTokenClaims]: AccessTokenClaims[K] } = {
      iss: config.issuer,
      sub: client.id,
      aud: config.audience,
      exp,
      iat: now,
      jti: randomUUID(),
      client_id: client.id,
      scope,
      gen: via.gen,
    };
    if (via.federatedCredentialId !== undefined) claims.fc = via.federatedCredentialId;
    // The key whose assertion authenticated the client: removing it kills the token, as a regeneration does.
    if (via.keyId !== undefined) claims.ckey = via.keyId;
    if (via.jkt !== null) claims.cnf = { jkt: via.jkt };
    const accessToken = await signJwt(claims, key.kid, key.privateKey);
    deps.recordToken(client.id);
    deps.metrics?.tokensIssued.inc();
    return { access_token: accessToken, token_type: via.jkt === null ? 'Bearer' : 'DPoP', expires_in: exp - now, scope };
  }

  /**
   * Everything that makes a token with valid claims dead, judged against its client's state now:
   * exists, enabled, minted with a secret still live (the current one, unexpired, or the previous
   * one while its overlap lasts), token not revoked, caller's `address` in the client's allowlist
   * (null: not the token's holder asking, as in introspection). Permissions are the role's now,
   * intersected with the token's scope.
   */
  function judge(claims: AccessTokenClaims, client: ClientState | null, nowMs: number, address: string | null): TokenCheck {
    if (client === null) return { ok: false, reason: 'unknown_client', clientId: null };
    if (!client.enabled) return { ok: false, reason: 'disabled', clientId: client.id };
    let secretUsed: SecretUsed = 'current';
    if (claims.fc !== undefined) {
      // Minted through a federated credential: it lives as long as that credential, whatever becomes of the secret.
      if (!client.federatedRules.some((rule) => rule.id === claims.fc)) return { ok: false, reason: 'removed_federated_credential', clientId: client.id };
    } else if (claims.gen === client.secretGeneration) {
      if (!isLive(client.secretExpiresAtMs, nowMs)) return { ok: false, reason: 'expired', clientId: client.id };
    } else if (claims.gen === client.secretGeneration - 1 && isLive(client.previousSecret?.expiresAtMs ?? 0, nowMs)) {
      secretUsed = 'previous';
    } else {
      return { ok: false, reason: 'stale_secret', clientId: client.id };
    }
    if (claims.ckey !== undefined && !client.publicKeys.some((key) => key.id === claims.ckey)) return { ok: false, reason: 'removed_key', clientId: client.id };
    if (client.revokedTokens.has(claims.jti)) return { ok: false, reason: 'revoked_token', clientId: client.id };
    // A client switched to DPoP: its bearer tokens stop working on the next request.
    if (client.requireDpop && claims.cnf === undefined) return { ok: false, reason: 'bad_dpop_proof', clientId: client.id };
    if (address !== null && !addressAllowed(client.allowedAddresses, address)) return { ok: false, reason: 'address_not_allowed', clientId: client.id };
    return { ok: true, claims, client, permissions: grantedTo(client, claims.scope), secretUsed };
  }

  /** A guess refused by the throttle (429), recorded as throttled. */
  function refuseThrottled(retryAfterSeconds: number, knownId: string | null, address: string, usedBasic: boolean): never {
    failures.record(knownId, 'throttled', address);
    throw new TooManyAttempts(retryAfterSeconds, usedBasic);
  }

  const service = {
    /**
     * RFC 6749 §2.3.1. The same work for an unknown id, a wrong or expired secret and a disabled
     * client, and the same answer; a guess is counted before its secret is compared (see throttle.service.ts).
     * The presented secret is compared with both the current and the previous secret (or a dummy),
     * always, so the time of an answer does not tell whether a rotation is under way.
     */
    async authenticateClient(credentials: ClientCredentials, address: string): Promise<AuthenticatedClient> {
      const clientId = UUID_PATTERN.test(credentials.clientId) ? credentials.clientId.toLowerCase() : null;
      const keys = { subject: clientId === null ? null : `client:${clientId}`, address };
      const blocked = throttle.blockedFor(keys);
      if (blocked !== null) refuseThrottled(blocked, clientId, address, credentials.usedBasic);
      // From the cache without a promise when it may answer now (unknown ids are cached alike).
      const known = clientId === null ? { state: null } : clientStates.cached(clientId);
      const state = known !== undefined ? known.state : await clientStates.get(clientId!);
      // A client that signs assertions has no secret anyone knows; presenting one is refused.
      const usesKeys = state?.authMethod === 'private_key_jwt';
      // The secret is compared under a slot taken before it (see throttle.service.ts).
      let secretMatches = false;
      let secretUsable = false;
      let secretUsed: SecretUsed = 'current';
      const guarding = throttle.guard(keys, () => {
        // One HMAC against both, the previous (or a dummy) always, whatever the rotation state.
        const matched = hasher.matchesAny(credentials.clientSecret, [state?.secretHash ?? null, state?.previousSecret?.hash ?? null]);
        const current = matched === 0;
        const previous = matched === 1;
        const nowMs = clock.now().getTime();
        secretMatches = current || previous;
        secretUsed = current ? 'current' : 'previous';
        secretUsable = current ? isLive(state?.secretExpiresAtMs ?? null, nowMs) : previous && isLive(state?.previousSecret?.expiresAtMs ?? 0, nowMs);
        return secretUsable && state?.enabled === true && !usesKeys;
      });
      const guarded = guarding instanceof Promise ? await guarding : guarding;
      if (!guarded.granted) return refuseThrottled(guarded.retryAfterSeconds, state?.id ?? null, address, credentials.usedBasic);
      if (guarded.passed && state !== null) {
        // After the secret, so an address outside the list learns no more than a wrong secret would.
        if (addressAllowed(state.allowedAddresses, address)) return { state, secretUsed };
        failures.record(state.id, 'address_not_allowed', address);
        throw new InvalidClient(credentials.usedBasic);
      }
      const reason: FailureReason =
        state === null
          ? 'unknown_client'
          : usesKeys
            ? 'wrong_auth_method'
            : !secretMatches
              ? 'bad_secret'
              : secretUsable
                ? 'disabled'
                : secretUsed === 'current'
                  ? 'expired'
                  : 'stale_secret';
      failures.record(state?.id ?? null, reason, address);
      throw new InvalidClient(credentials.usedBasic);
    },

    /**
     * RFC 7523 §2.2 (private_key_jwt): the client proves a private key by signing a short-lived
     * assertion. Every refusal is the same invalid_client, its reason recorded for the client's
     * admins; failures count toward the same throttle as wrong secrets. The assertion is verified
     * before the throttle's slot is taken (a signature cannot be guessed, and the slot's check is
     * synchronous); its jti is accepted once, on every instance, only when all else has passed.
     */
    async authenticateAssertion(credentials: ClientAssertionCredentials, address: string): Promise<AuthenticatedClient> {
      const claimed = claimedClient(credentials.assertion);
      const clientId = claimed !== null && UUID_PATTERN.test(claimed) ? claimed.toLowerCase() : null;
      const keys = { subject: clientId === null ? null : `client:${clientId}`, address };
      const blocked = throttle.blockedFor(keys);
      if (blocked !== null) {
        failures.record(clientId, 'throttled', address);
        throw new TooManyAttempts(blocked, false);
      }
      const state = clientId === null ? null : await clientStates.get(clientId);
      const nowMs = clock.now().getTime();
      let reason: FailureReason | null = null;
      let keyUsed: string | undefined;
      if (state === null) reason = 'unknown_client';
      // RFC 7521 §4.2: a client_id beside the assertion must name the same client.
      else if (credentials.clientId !== undefined && credentials.clientId.toLowerCase() !== state.id) reason = 'bad_assertion';
      else if (state.authMethod !== 'private_key_jwt') reason = 'wrong_auth_method';
      else {
        const audiences = [...new Set([config.issuer, `${config.issuer}/oauth/token`, credentials.endpoint])];
        const check = await verifyClientAssertion(credentials.assertion, state, { audiences, nowMs });
        if (!check.ok) reason = check.reason;
        else if (!state.enabled) reason = 'disabled';
        else {
          const accepted = await createTokensRepository(deps.db).acceptAssertionJti(
            { client_id: state.id, jti: check.jti, expires_at: new Date(check.expiresAtMs).toISOString() },
            new Date(nowMs).toISOString(),
          );
          if (!accepted) reason = 'replayed_assertion';
          else keyUsed = check.key.id;
        }
      }
      const guarded = await throttle.guard(keys, () => reason === null);
      if (!guarded.granted) {
        failures.record(state?.id ?? null, 'throttled', address);
        throw new TooManyAttempts(guarded.retryAfterSeconds, false);
      }
      if (reason === null && state !== null && keyUsed !== undefined) {
        if (addressAllowed(state.allowedAddresses, address)) {
          deps.recordKeyUse(keyUsed);
          return { state, secretUsed: 'current', keyUsed };
        }
        reason = 'address_not_allowed';
      }
      failures.record(state?.id ?? null, reason ?? 'bad_assertion', address);
      throw new InvalidClient(false);
    },

    /**
     * RFC 6749 §4.4.3: a token for the client's permissions now, or the requested subset of them,
     * minted with the secret the client authenticated with and never outliving it.
     */
    async issue(
      client: ClientState,
      requestedScope: string | undefined,
      secretUsed: SecretUsed = 'current',
      options: { readonly keyUsed?: string | undefined; readonly dpop?: DpopProofRequest | undefined; readonly address?: string } = {},
    ): Promise<TokenResponse> {
      // Without a proof, a client that does not require one is answered without bindingOf's await.
      const jkt = options.dpop === undefined && !client.requireDpop ? null : await bindingOf(client, options.dpop, options.address ?? '');
      const previous = secretUsed === 'previous' && client.previousSecret !== null ? client.previousSecret : null;
      const response = await mint(client, requestedScope, {
        gen: previous !== null ? client.secretGeneration - 1 : client.secretGeneration,
        diesAtMs: previous !== null ? previous.expiresAtMs : client.secretExpiresAtMs,
        keyId: options.keyUsed,
        jkt,
      });
      deps.recordUse(client.id, previous !== null ? 'previous' : 'current');
      return response;
    },

    /**
     * RFC 8693 token exchange for workload identity federation: the workload's OIDC token (the
     * subject token) takes the place of a secret. A disabled, deleted or unknown client, or a
     * caller outside its allowlist, is `invalid_client` as with a secret; a token that fits none
     * of the client's federated credentials is `invalid_grant`, with the reason kept for admins.
     * The token minted carries the credential it came through and dies with it. `admitted` hears
     * where the client stands against its tokensPerMinute once the exchange is counted, so the
     * answer carries the RateLimit fields as a client credentials grant's does.
     */
    async exchange(request: TokenExchangeRequest, address: string, admitted?: (quota: Quota) => void): Promise<ExchangeResponse> {
      const clientId = UUID_PATTERN.test(request.clientId) ? request.clientId.toLowerCase() : null;
      // A bad subject token counts toward its address's throttle as a wrong secret does. The address
      // alone: a workload with a good token is refused only where the secret path would refuse it,
      // from an address spent on failures, never for another workload's failures elsewhere.
      const keys = { subject: null, address };
      const blocked = throttle.blockedFor(keys);
      if (blocked !== null) {
        failures.record(clientId, 'throttled', address);
        throw new TooManyAttempts(blocked, false);
      }
      const state = clientId === null ? null : await clientStates.get(clientId);
      if (state === null || !state.enabled || !addressAllowed(state.allowedAddresses, address)) {
        failures.record(state?.id ?? null, state === null ? 'unknown_client' : !state.enabled ? 'disabled' : 'address_not_allowed', address);
        throw new InvalidClient(false);
      }
      const verified = await deps.workloadTokens.verify(state.federatedRules, request.subjectToken);
      if (!verified.ok) {
        // Checked before its slot, as an assertion is (a signature is not guessed); a slot refused is a 429.
        if (verified.reason === 'federation_bad_token') {
          const slot = await throttle.reserve(keys);
          if (!slot.granted) {
            failures.record(state.id, 'throttled', address);
            throw new TooManyAttempts(slot.retryAfterSeconds, false);
          }
          await slot.failed();
        }
        failures.record(state.id, verified.reason, address);
        throw new InvalidGrant(EXCHANGE_REFUSALS[verified.reason]);
      }
      // The exchange took time (the issuer's keys): the client may have changed meanwhile.
      const now = await clientStates.get(state.id);
      if (now === null || !now.enabled) {
        failures.record(now?.id ?? null, now === null ? 'unknown_client' : 'disabled', address);
        throw new InvalidClient(false);
      }
      if (!now.federatedRules.some((rule) => rule.id === verified.rule.id)) {
        failures.record(now.id, 'federation_no_match', address);
        throw new InvalidGrant(EXCHANGE_REFUSALS.federation_no_match);
      }
      // An exchange is a token request of the client, counted against its tokensPerMinute.
      const quota = service.admitTokenRequest(now, address);
      if (quota !== null) admitted?.(quota);
      const jkt = await bindingOf(now, request.dpop, address);
      const response = await mint(now, request.scope, { gen: now.secretGeneration, diesAtMs: null, federatedCredentialId: verified.rule.id, jkt });
      deps.recordUse(now.id, 'current');
      deps.recordFederatedUse(verified.rule.id);
      return { ...response, issued_token_type: ACCESS_TOKEN_TYPE };
    },

    /**
     * Everything that makes a token dead: signature, issuer, audience, expiry, then its client's
     * live state (see `judge`).
     */
    async check(token: string, address: string | null): Promise<TokenCheck> {
      const nowMs = clock.now().getTime();
      const claims = await verifiedClaims(token, nowMs);
      if (claims === null) return INVALID_TOKEN;
      return judge(claims, await clientStates.get(claims.sub), nowMs, address);
    },

    /**
     * `check`'s answer without a promise when everything it needs is in memory: the token verified
     * before and its client's state fresh in the cache. Undefined otherwise: then `check` must be
     * awaited. Every authenticated request of a busy client takes this path.
     */
    checkCached(token: string, address: string | null): TokenCheck | undefined {
      const nowMs = clock.now().getTime();
      const cached = verified.get(token);
      if (cached === undefined) return undefined;
      if (cached.expiresAtMs <= nowMs) return INVALID_TOKEN;
      const known = clientStates.cached(cached.claims.sub);
      return known === undefined ? undefined : judge(cached.claims, known.state, nowMs, address);
    },

    /**
     * A REST or GraphQL call of a client whose token passed `check`, counted against its
     * requestsPerMinute: where it stands (`allowed: false` over the limit), or null without a limit.
     */
    admitApiRequest: (client: ClientState, address: string): Quota | null => admit(client, 'requests', address),

    /** Checks an API call's DPoP proof (RFC 9449 §7.1); the caller compares its key with the token's `cnf.jkt`. */
    verifyDpopProof: (request: DpopProofRequest) => dpop.verify(request),

    /** The nonce every answer to a DPoP request carries in `DPoP-Nonce` (RFC 9449 §8.2, §9); null when nonces are off. */
    dpopNonce: (): string | null => dpop.currentNonce(),

    /**
     * RFC 9449 §8: a token request whose proof lacks a recent nonce is answered use_dpop_nonce
     * before the client is authenticated (see dpop.ts `lacksNonce`).
     */
    requireDpopNonce(request: DpopProofRequest): void {
      if (dpop.lacksNonce(request.proof)) throw new UseDpopNonce('the DPoP proof must carry the current server nonce: use the one in the DPoP-Nonce header');
    },

    /**
     * A token request of an authenticated client, counted against its tokensPerMinute: where it
     * stands, or null without a limit. Over the limit: TokenRateLimited (429), recorded as rate_limited.
     */
    admitTokenRequest(client: ClientState, address: string): Quota | null {
      const quota = admit(client, 'tokens', address);
      if (quota?.allowed === false) throw new TokenRateLimited(quota);
      return quota;
    },

    /** RFC 7662: a caller sees its own tokens, or any token if it may read clients; a dead token is only `active: false`. */
    async introspect(caller: ClientState, token: string): Promise<Record<string, unknown>> {
      // The token's holder is not the caller here (a resource server asks): its address is unknown.
      const result = await service.check(token, null);
      if (!result.ok || (result.claims.client_id !== caller.id && !caller.permissions.has('clients:read'))) return { active: false };
      const { claims } = result;
      return {
        active: true,
        scope: [...result.permissions].join(' '),
        client_id: claims.client_id,
        sub: claims.sub,
        aud: claims.aud,
        iss: claims.iss,
        exp: claims.exp,
        iat: claims.iat,
        jti: claims.jti,
        // RFC 9449 §6.2: a resource server learns the key the token is bound to.
        ...(claims.cnf === undefined ? { token_type: 'Bearer' } : { token_type: 'DPoP', cnf: { jkt: claims.cnf.jkt } }),
      };
    },

    /**
     * RFC 7009: revokes one of the caller's own tokens until it would have expired. A token that
     * is not ours, malformed or already expired needs nothing and is answered 200; a storage
     * failure propagates (503), never a 200 for a token still alive (fosite CVE-2020-15223).
     */
    async revoke(caller: ClientState, token: string): Promise<void> {
      const nowMs = clock.now().getTime();
      const claims = await verifiedClaims(token, nowMs);
      if (claims === null) return;
      if (claims.client_id !== caller.id) throw new UnauthorizedClient('a client may revoke only its own tokens');
      const revokedAt = clock.now().toISOString();
      await deps.changes.transaction(async (trx, recordChange) => {
        const inserted = await createTokensRepository(trx).insertRevoked({
          jti: claims.jti,
          client_id: claims.client_id,
          expires_at: new Date(claims.exp * 1000).toISOString(),
          revoked_at: revokedAt,
        });
        // Revoking a token already revoked changes nothing, so it records nothing.
        if (!inserted) return;
        await recordAudit(trx, clock, { type: 'client', id: caller.id, name: caller.name, permissions: caller.permissions }, [
          { action: 'token.revoked', target: { type: 'client', id: caller.id, name: caller.name }, details: { jti: claims.jti } },
        ]);
        recordChange({ kind: 'client', id: caller.id });
      });
    },
  };
  return service;
}

export type TokenService = ReturnType<typeof createTokenService>;
