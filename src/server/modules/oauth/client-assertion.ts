import { decodeJwt, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import type { ClientKey, ClientState } from './client-state.js';
import type { FailureReason } from './auth-failures.js';

/** RFC 7523 §2.2: the form parameter's fixed value. */
export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/**
 * How far ahead an assertion may expire. RFC 7523 §3 asks for a short life; a longer one would
 * make a stolen assertion useful for long and keep its jti's row around as long.
 */
export const ASSERTION_MAX_LIFETIME_SECONDS = 300;
/** Clocks of client and server may differ this much. */
export const ASSERTION_CLOCK_SKEW_SECONDS = 30;
const JTI_MAX_LENGTH = 256;
const ASSERTION_MAX_LENGTH = 8192;

/** The client an assertion claims to be (its `sub`), before anything is verified; null when it cannot be read. */
export function claimedClient(assertion: string): string | null {
  if (assertion.length > ASSERTION_MAX_LENGTH) return null;
  try {
    const { sub } = decodeJwt(assertion);
    return typeof sub === 'string' ? sub : null;
  } catch {
    return null;
  }
}

export type AssertionCheck =
  { readonly ok: true; readonly key: ClientKey; readonly jti: string; readonly expiresAtMs: number } | { readonly ok: false; readonly reason: FailureReason };

/** The keys that may have signed: the one the header names, or, without a kid, each key of the header's algorithm. */
function candidateKeys(assertion: string, client: ClientState): ClientKey[] {
  try {
    const { kid, alg } = decodeProtectedHeader(assertion);
    if (typeof kid === 'string') return client.publicKeys.filter((key) => key.kid === kid);
    return client.publicKeys.filter((key) => key.alg === (alg === 'Ed25519' ? 'EdDSA' : alg));
  } catch {
    return [];
  }
}

/**
 * Verifies a client assertion (RFC 7523 §3, OpenID Connect Core §9) signed by one of the client's
 * keys: the key's own algorithm only (never the header's choice), `iss` = `sub` = the client,
 * `aud` one of `audiences`, `exp` required and at most a few minutes ahead, `jti` required. Its
 * jti is not checked here: the caller accepts it once, after everything else has passed.
 */
export async function verifyClientAssertion(
  assertion: string,
  client: ClientState,
  options: { readonly audiences: readonly string[]; readonly nowMs: number },
): Promise<AssertionCheck> {
  if (assertion.length > ASSERTION_MAX_LENGTH) return { ok: false, reason: 'bad_assertion' };
  const keys = candidateKeys(assertion, client);
  if (keys.length === 0) return { ok: false, reason: 'unknown_key' };
  for (const key of keys) {
    try {
      const { payload } = await jwtVerify(assertion, key.key, {
        // An Ed25519 key's assertions may name it EdDSA or, fully specified (RFC 9864), Ed25519.
        algorithms: key.alg === 'EdDSA' ? ['EdDSA', 'Ed25519'] : [key.alg],
        issuer: client.id,
        subject: client.id,
        audience: [...options.audiences],
        requiredClaims: ['exp', 'jti'],
        clockTolerance: ASSERTION_CLOCK_SKEW_SECONDS,
        currentDate: new Date(options.nowMs),
      });
      const nowSeconds = options.nowMs / 1000;
      const { exp, iat, jti } = payload as { exp: number; iat?: number; jti: unknown };
      if (exp > nowSeconds + ASSERTION_MAX_LIFETIME_SECONDS + ASSERTION_CLOCK_SKEW_SECONDS) return { ok: false, reason: 'bad_assertion' };
      if (iat !== undefined && iat > nowSeconds + ASSERTION_CLOCK_SKEW_SECONDS) return { ok: false, reason: 'bad_assertion' };
      if (typeof jti !== 'string' || jti.length === 0 || jti.length > JTI_MAX_LENGTH) return { ok: false, reason: 'bad_assertion' };
      return { ok: true, key, jti, expiresAtMs: (exp + ASSERTION_CLOCK_SKEW_SECONDS) * 1000 };
    } catch (error) {
      if (error instanceof errors.JWTExpired) return { ok: false, reason: 'expired_assertion' };
      // A bad signature with one key of the algorithm may be a good one with the next.
      if (error instanceof errors.JWSSignatureVerificationFailed) continue;
      return { ok: false, reason: 'bad_assertion' };
    }
  }
  return { ok: false, reason: 'bad_assertion' };
}
