import { createHash, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { calculateJwkThumbprint, decodeJwt, EmbeddedJWK, jwtVerify, type FlattenedJWSInput, type JWK, type JWSHeaderParameters } from 'jose';
import type { Clock } from '../../clock.js';

/**
 * DPoP (RFC 9449): a token bound to a key the client holds, proved by a fresh signed proof on
 * every request. `Ed25519` is the fully specified name of EdDSA over Ed25519 (RFC 9864), which
 * WebCrypto clients such as oauth4webapi send.
 */
export const DPOP_ALGORITHMS: readonly string[] = ['EdDSA', 'Ed25519', 'ES256', 'RS256', 'PS256'];
/** How far a proof's `iat` may lie from now, either way (RFC 9449 §11.1); also how long its `jti` is remembered. */
export const DPOP_WINDOW_SECONDS = 60;
/** Remembered `jti`s per instance; the oldest go first beyond this (see README on replay across instances). */
const MAX_REMEMBERED_JTIS = 100_000;
/**
 * RFC 9449 §8-9: how long one server nonce is the current one. A nonce is accepted until the slot
 * after its own has ended, so a proof carrying one lives at most two slots (40 s) after the nonce
 * was first handed out, well within the time its jti is remembered.
 */
export const DPOP_NONCE_SLOT_SECONDS = 20;
const MAX_PROOF_LENGTH = 8192;
const MAX_JTI_LENGTH = 256;
/** Proof keys kept imported per instance; the oldest go first beyond this. */
const MAX_IMPORTED_KEYS = 10_000;

export interface DpopProofRequest {
  /** The `DPoP` header as received (undefined: none). */
  readonly proof: string | string[] | undefined;
  readonly method: string;
  /** The request's URL without query and fragment, built from the issuer's origin (never from Host). */
  readonly url: string;
  /** The access token sent with the proof, for `ath`; absent at the token endpoint. */
  readonly accessToken?: string;
}

export type DpopCheck =
  | { readonly ok: true; readonly jkt: string; readonly jti: string }
  /** `useNonce`: everything but the nonce is right; the answer is `use_dpop_nonce` with a fresh one (RFC 9449 §8, §9). */
  | { readonly ok: false; readonly description: string; readonly useNonce?: true };

const fail = (description: string): DpopCheck => ({ ok: false, description });
const USE_NONCE: DpopCheck = {
  ok: false,
  description: 'the DPoP proof must carry the current server nonce: use the one in the DPoP-Nonce header',
  useNonce: true,
};

/** Server-provided nonces (RFC 9449 §8 and §9), the same on every instance, without shared state. */
export interface DpopNonces {
  /** The nonce to send now in `DPoP-Nonce`. */
  current(): string;
  /** Whether a proof's nonce is one of ours and recent. */
  accepts(nonce: string): boolean;
}

/**
 * A nonce is an HMAC of its time slot, under a key derived from the installation's client-secret
 * key (kept sealed in the database, so every instance derives the same one; a master-key rotation
 * does not change it). Accepted: the current slot's, the previous one's (a nonce sent just before
 * the slot ended), and the next one's (another instance whose clock is a little ahead).
 */
export function createDpopNonces(secretKey: Buffer, clock: Clock): DpopNonces {
  const key = Buffer.from(hkdfSync('sha256', secretKey, Buffer.alloc(0), 'koios-access dpop nonces v1', 32));
  const bySlot = new Map<number, Buffer>();
  const nonceOf = (slot: number): Buffer => {
    let nonce = bySlot.get(slot);
    if (nonce === undefined) {
      const counter = Buffer.alloc(8);
      counter.writeBigUInt64BE(BigInt(slot));
      nonce = createHmac('sha256', key).update(counter).digest().subarray(0, 16);
      if (bySlot.size >= 8) bySlot.delete(bySlot.keys().next().value as number);
      bySlot.set(slot, nonce);
    }
    return nonce;
  };
  const slotNow = () => Math.floor(clock.now().getTime() / 1000 / DPOP_NONCE_SLOT_SECONDS);
  return {
    current: () => nonceOf(slotNow()).toString('base64url'),
    accepts(nonce) {
      const presented = Buffer.from(nonce, 'base64url');
      if (presented.length !== 16 || presented.toString('base64url') !== nonce) return false;
      const slot = slotNow();
      let accepted = false;
      for (const candidate of [slot - 1, slot, slot + 1]) accepted = timingSafeEqual(presented, nonceOf(candidate)) || accepted;
      return accepted;
    },
  };
}

/** RFC 9449 §4.2 `ath`: base64url of the SHA-256 of the access token. */
export const accessTokenHash = (token: string): string => createHash('sha256').update(token, 'ascii').digest('base64url');

/** RFC 9449 §4.3 point 9: the URI without query and fragment, normalised as a URL parser does (RFC 3986 §6). */
function withoutQuery(uri: string): string | null {
  try {
    const url = new URL(uri);
    return `${url.origin}${url.pathname}`;
  } catch {
    return null;
  }
}

/**
 * Checks DPoP proofs (RFC 9449 §4.3) and refuses a proof's `jti` seen before within the window, on
 * this instance. With `nonces`, a proof must carry a recent server nonce, which bounds its life in
 * place of its `iat` (§4.3 point 11, §11.1).
 */
export function createDpopVerifier(deps: { readonly clock: Clock; readonly nonces?: DpopNonces | null }) {
  const { clock } = deps;
  const nonces = deps.nonces ?? null;
  /** `jti` (per key) → when it may be forgotten (epoch ms); a Map keeps insertion order, the oldest first. */
  const seen = new Map<string, number>();
  /**
   * A client signs all its proofs with one key, and importing a P-256 JWK costs more than checking
   * the signature (about 200 µs of CPU against 100, bench/verify-ways.ts): each embedded JWK is
   * imported once, by jose's EmbeddedJWK with all its checks, and kept under its exact text.
   */
  const imported = new Map<string, Awaited<ReturnType<typeof EmbeddedJWK>>>();
  async function embeddedKey(header: JWSHeaderParameters, token: FlattenedJWSInput) {
    const text = `${String(header.alg)}:${JSON.stringify(header.jwk)}`;
    let key = imported.get(text);
    if (key === undefined) {
      key = await EmbeddedJWK(header, token);
      if (imported.size >= MAX_IMPORTED_KEYS) imported.delete(imported.keys().next().value!);
      imported.set(text, key);
    }
    return key;
  }

  /** True the first time a jti is seen within the window; remembers it until the window has passed. */
  function firstUse(key: string, nowMs: number): boolean {
    const until = seen.get(key);
    if (until !== undefined && until > nowMs) return false;
    for (const [oldest, oldestUntil] of seen) {
      if (oldestUntil > nowMs && seen.size < MAX_REMEMBERED_JTIS) break;
      seen.delete(oldest);
    }
    // Remembered as long as a proof with that iat could still be accepted.
    seen.set(key, nowMs + 2 * DPOP_WINDOW_SECONDS * 1000);
    return true;
  }

  return {
    /** The nonce to send in `DPoP-Nonce` now; null when nonces are off. */
    currentNonce: (): string | null => nonces?.current() ?? null,

    /**
     * Whether the proof, read without checking its signature, lacks a recent nonce: a cheap test
     * the token endpoint makes before authenticating the client, so that the client's retry with
     * the nonce costs no second authentication (nor an assertion, nor a token of its rate limit).
     * `verify` still checks the nonce of a signed proof.
     */
    lacksNonce(proof: string | string[] | undefined): boolean {
      if (nonces === null || typeof proof !== 'string' || proof.length > MAX_PROOF_LENGTH) return false;
      let nonce: unknown;
      try {
        nonce = decodeJwt(proof)['nonce'];
      } catch {
        // Not a JWT: verify refuses it as invalid_dpop_proof.
        return false;
      }
      return typeof nonce !== 'string' || !nonces.accepts(nonce);
    },

    async verify(request: DpopProofRequest): Promise<DpopCheck> {
      const { proof } = request;
      // §4.3 points 1-2: exactly one proof, a well-formed JWT.
      if (proof === undefined) return fail('a DPoP proof is required');
      if (typeof proof !== 'string' || proof.length > MAX_PROOF_LENGTH || proof.includes(',')) return fail('send exactly one DPoP proof');
      const now = clock.now();
      let verified;
      try {
        // §4.3 points 4-7: typ dpop+jwt, an allowed asymmetric alg, the signature by the header's public jwk.
        verified = await jwtVerify(proof, embeddedKey, { typ: 'dpop+jwt', algorithms: [...DPOP_ALGORITHMS], currentDate: now });
      } catch {
        return fail('the DPoP proof is malformed, its typ or alg is not accepted, or its signature does not verify');
      }
      const { payload, protectedHeader } = verified;
      const jwk = protectedHeader.jwk as JWK | undefined;
      // §4.3 point 7: a private key in the proof is refused (and proves nothing).
      if (jwk === undefined || 'd' in jwk || 'k' in jwk || 'p' in jwk) return fail('the DPoP proof must carry a public key');
      const { jti, htm, htu, iat, ath, nonce } = payload as Record<string, unknown>;
      if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH) return fail('the DPoP proof needs a jti');
      if (htm !== request.method) return fail('the DPoP proof is for another method (htm)');
      if (typeof htu !== 'string' || withoutQuery(htu) !== withoutQuery(request.url)) return fail('the DPoP proof is for another URL (htu)');
      const nowMs = now.getTime();
      if (typeof iat !== 'number') return fail('the DPoP proof needs an iat');
      // With nonces, the nonce says when the proof was made (§4.3 point 11), checked last below.
      if (nonces === null && Math.abs(iat * 1000 - nowMs) > DPOP_WINDOW_SECONDS * 1000) return fail('the DPoP proof is too old or from the future (iat)');
      if (request.accessToken !== undefined && ath !== accessTokenHash(request.accessToken)) return fail('the DPoP proof is for another access token (ath)');
      // §8, §9: a proof right in all else but its nonce is answered use_dpop_nonce, which the client retries.
      if (nonces !== null && (typeof nonce !== 'string' || !nonces.accepts(nonce))) return USE_NONCE;
      const jkt = await calculateJwkThumbprint(jwk, 'sha256');
      // §11.1: a captured proof must not be played again.
      if (!firstUse(`${jkt}:${jti}`, nowMs)) return fail('the DPoP proof was used before (jti)');
      return { ok: true, jkt, jti };
    },
  };
}

export type DpopVerifier = ReturnType<typeof createDpopVerifier>;

let originOf = { issuer: '', origin: '' };
/**
 * The `htu` a request's proof must carry: the issuer's origin and the request's path, never the
 * Host header (a caller could set it to match a proof made for another server).
 */
export function proofUrl(issuer: string, requestUrl: string): string {
  // The issuer is one per server: its origin is parsed once, not on every DPoP request.
  if (originOf.issuer !== issuer) originOf = { issuer, origin: new URL(issuer).origin };
  const end = requestUrl.search(/[?#]/);
  return `${originOf.origin}${end === -1 ? requestUrl : requestUrl.slice(0, end)}`;
}
