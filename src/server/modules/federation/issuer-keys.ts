import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import type { Logger } from 'pino';
import type { Clock } from '../../clock.js';
import { fetchableUrlProblem } from './issuer-url.js';

/** The issuer's keys could not be had: unreachable, slow, too large, redirected elsewhere, or not what OIDC discovery promises. */
export class IssuerUnreachable extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'IssuerUnreachable';
  }
}

export interface IssuerKeysOptions {
  readonly clock: Clock;
  readonly allowLoopbackHttp: boolean;
  readonly logger?: Logger | undefined;
  /** One whole refresh (discovery and JWKS, redirects included) gives up after this long. */
  readonly timeoutMs?: number;
  /** The largest discovery document or JWKS read; a larger one is refused. */
  readonly maxBytes?: number;
}

/**
 * How long keys are kept: as the issuer's `Cache-Control: max-age` says, within these bounds, so
 * that `no-store` does not turn every exchange into two fetches and a year-long max-age does not
 * keep a revoked key for a year.
 */
export const KEYS_MIN_TTL_MS = 60_000;
export const KEYS_MAX_TTL_MS = 24 * 3_600_000;
const KEYS_DEFAULT_TTL_MS = 15 * 60_000;
/** An unknown kid (the issuer rotated) refetches the keys, but at most this often per issuer. */
export const UNKNOWN_KID_REFETCH_MS = 60_000;
/** After a failed fetch, the issuer is answered "unreachable" at once for this long instead of being asked again on every exchange. */
const FAILURE_BACKOFF_MS = 10_000;
const MAX_REDIRECTS = 3;
const MAX_KEYS = 100;

interface Keys {
  readonly keySet: JWTVerifyGetKey;
  /** When these keys were fetched (clock ms). */
  readonly fetchedAtMs: number;
  readonly freshUntilMs: number;
}

interface IssuerEntry {
  keys: Keys | null;
  /** The refresh under way: every exchange for this issuer waits on the same one (single flight). */
  refreshing: Promise<Keys> | null;
  /** When the last refresh started (clock ms), for the unknown-kid limit. */
  lastAttemptMs: number;
  failedAtMs: number | null;
  lastFailure: IssuerUnreachable | null;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** `max-age` of a Cache-Control header within the bounds; no-store and no-cache mean the minimum. */
export function keysTtlMs(cacheControl: string | null): number {
  if (cacheControl === null) return KEYS_DEFAULT_TTL_MS;
  const directives = cacheControl.toLowerCase();
  if (/(^|[,\s])(no-store|no-cache)([,\s=]|$)/.test(directives)) return KEYS_MIN_TTL_MS;
  const maxAge = /(?:^|[,\s])max-age\s*=\s*"?(\d+)"?/.exec(directives);
  if (maxAge === null) return KEYS_DEFAULT_TTL_MS;
  return Math.min(KEYS_MAX_TTL_MS, Math.max(KEYS_MIN_TTL_MS, Number(maxAge[1]) * 1000));
}

/**
 * Each trusted OIDC issuer's signing keys, found through OpenID Connect Discovery 1.0
 * (`/.well-known/openid-configuration` → `jwks_uri`) and fetched by this module itself, not with
 * jose's createRemoteJWKSet: that one neither follows the issuer's Cache-Control, nor limits the
 * size of what it reads, nor does discovery. Every fetch is https (loopback http only under the
 * test switch), bounded in time and size, and follows a redirect only to the same origin. An
 * issuer that is slow or down holds up only exchanges for that issuer: there is no lock shared by
 * issuers, and a refresh under way is shared by the exchanges that need it.
 */
export function createIssuerKeys(options: IssuerKeysOptions) {
  const { clock, allowLoopbackHttp, logger } = options;
  const timeoutMs = options.timeoutMs ?? 5000;
  const maxBytes = options.maxBytes ?? 64 * 1024;
  const issuers = new Map<string, IssuerEntry>();

  async function readLimited(response: Response, url: URL): Promise<string> {
    const declared = Number(response.headers.get('content-length') ?? '0');
    if (declared > maxBytes) throw new IssuerUnreachable(`${url.href} answered ${declared} bytes, more than the ${maxBytes} allowed`);
    if (response.body === null) return '';
    const reader = response.body.getReader();
    const parts: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw new IssuerUnreachable(`${url.href} answered more than the ${maxBytes} bytes allowed`);
      }
      parts.push(value);
    }
    return Buffer.concat(parts).toString('utf8');
  }

  /** GETs JSON, following redirects only within the same origin (another host could be anyone's). */
  async function getJson(start: string, signal: AbortSignal): Promise<{ body: unknown; cacheControl: string | null }> {
    let url = new URL(start);
    for (let hop = 0; ; hop += 1) {
      const problem = fetchableUrlProblem(url.href, allowLoopbackHttp);
      if (problem !== null) throw new IssuerUnreachable(`${url.href} ${problem}`);
      let response: Response;
      try {
        response = await fetch(url, { redirect: 'manual', signal, headers: { accept: 'application/json' } });
      } catch (error) {
        throw new IssuerUnreachable(`${url.href} cannot be fetched: ${(error as Error).message}`, { cause: error });
      }
      if (REDIRECTS.has(response.status)) {
        await response.body?.cancel().catch(() => undefined);
        const location = response.headers.get('location');
        const next = location === null ? null : new URL(location, url);
        if (next === null || next.origin !== url.origin) throw new IssuerUnreachable(`${url.href} redirects to another host, which is not followed`);
        if (hop >= MAX_REDIRECTS) throw new IssuerUnreachable(`${start} redirects more than ${MAX_REDIRECTS} times`);
        url = next;
        continue;
      }
      if (response.status !== 200) {
        await response.body?.cancel().catch(() => undefined);
        throw new IssuerUnreachable(`${url.href} answered ${response.status}`);
      }
      const text = await readLimited(response, url).catch((error: unknown) => {
        throw error instanceof IssuerUnreachable
          ? error
          : new IssuerUnreachable(`${url.href} could not be read: ${(error as Error).message}`, { cause: error });
      });
      try {
        return { body: JSON.parse(text) as unknown, cacheControl: response.headers.get('cache-control') };
      } catch {
        throw new IssuerUnreachable(`${url.href} did not answer JSON`);
      }
    }
  }

  async function fetchKeys(issuer: string): Promise<Keys> {
    const signal = AbortSignal.timeout(timeoutMs);
    // OpenID Connect Discovery 1.0 §4: the issuer, without a trailing slash, then the well-known path.
    const discovery = await getJson(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`, signal);
    const document = discovery.body as { issuer?: unknown; jwks_uri?: unknown } | null;
    // §4.3: the document must name the issuer it was fetched for, or its keys are someone else's.
    if (document === null || typeof document !== 'object' || document.issuer !== issuer) {
      throw new IssuerUnreachable(`the discovery document of ${issuer} names another issuer`);
    }
    if (typeof document.jwks_uri !== 'string') throw new IssuerUnreachable(`the discovery document of ${issuer} has no jwks_uri`);
    const jwks = await getJson(document.jwks_uri, signal);
    const set = jwks.body as { keys?: unknown } | null;
    if (set === null || typeof set !== 'object' || !Array.isArray(set.keys) || set.keys.length > MAX_KEYS) {
      throw new IssuerUnreachable(`the JWKS of ${issuer} is not a key set of at most ${MAX_KEYS} keys`);
    }
    // Public signing keys only: a symmetric key in a published set could be used by anyone.
    const keys = (set.keys as unknown[]).filter(
      (key): key is JSONWebKeySet['keys'][number] =>
        key !== null && typeof key === 'object' && ['RSA', 'EC', 'OKP'].includes(String((key as { kty?: unknown }).kty)) && !('d' in key),
    );
    let keySet: JWTVerifyGetKey;
    try {
      keySet = createLocalJWKSet({ keys });
    } catch (error) {
      throw new IssuerUnreachable(`the JWKS of ${issuer} cannot be used: ${(error as Error).message}`, { cause: error });
    }
    const nowMs = clock.now().getTime();
    return { keySet, fetchedAtMs: nowMs, freshUntilMs: nowMs + keysTtlMs(jwks.cacheControl) };
  }

  function entryOf(issuer: string): IssuerEntry {
    let entry = issuers.get(issuer);
    if (entry === undefined) {
      entry = { keys: null, refreshing: null, lastAttemptMs: -Infinity, failedAtMs: null, lastFailure: null };
      issuers.set(issuer, entry);
    }
    return entry;
  }

  /** Starts a refresh, or joins the one under way. */
  function refresh(issuer: string, entry: IssuerEntry): Promise<Keys> {
    if (entry.refreshing !== null) return entry.refreshing;
    entry.lastAttemptMs = clock.now().getTime();
    const refreshing = fetchKeys(issuer).then(
      (keys) => {
        entry.keys = keys;
        entry.failedAtMs = null;
        entry.lastFailure = null;
        return keys;
      },
      (error: unknown) => {
        const failure = error instanceof IssuerUnreachable ? error : new IssuerUnreachable(`the keys of ${issuer} cannot be had`, { cause: error });
        entry.failedAtMs = clock.now().getTime();
        entry.lastFailure = failure;
        logger?.warn({ issuer, reason: failure.message }, 'federation issuer keys cannot be fetched');
        throw failure;
      },
    );
    entry.refreshing = refreshing;
    void refreshing
      .finally(() => {
        if (entry.refreshing === refreshing) entry.refreshing = null;
      })
      .catch(() => undefined);
    return refreshing;
  }

  return {
    /**
     * The issuer's keys: cached while fresh; else fetched, with the stale keys still used if the
     * issuer cannot be reached (up to the longest cache time), so a short outage of the issuer is
     * not an outage of every workload. Throws IssuerUnreachable.
     */
    async keysFor(issuer: string): Promise<JWTVerifyGetKey> {
      const entry = entryOf(issuer);
      const nowMs = clock.now().getTime();
      if (entry.keys !== null && nowMs < entry.keys.freshUntilMs) return entry.keys.keySet;
      const usable = entry.keys !== null && nowMs < entry.keys.fetchedAtMs + KEYS_MAX_TTL_MS ? entry.keys : null;
      if (entry.failedAtMs !== null && nowMs - entry.failedAtMs < FAILURE_BACKOFF_MS && entry.refreshing === null) {
        if (usable !== null) return usable.keySet;
        throw entry.lastFailure ?? new IssuerUnreachable(`the keys of ${issuer} cannot be had`);
      }
      try {
        return (await refresh(issuer, entry)).keySet;
      } catch (error) {
        if (usable !== null) return usable.keySet;
        throw error;
      }
    },

    /**
     * After a token named a kid the cached keys lack: the keys fetched again, unless they were
     * fetched less than a minute ago (then null: a flood of made-up kids must not become a flood
     * of fetches).
     */
    async keysAfterUnknownKid(issuer: string): Promise<JWTVerifyGetKey | null> {
      const entry = entryOf(issuer);
      if (entry.refreshing !== null) return (await entry.refreshing).keySet;
      if (clock.now().getTime() - entry.lastAttemptMs < UNKNOWN_KID_REFETCH_MS) return null;
      return (await refresh(issuer, entry)).keySet;
    },
  };
}

export type IssuerKeys = ReturnType<typeof createIssuerKeys>;
