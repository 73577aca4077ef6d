import { decodeJwt, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { Clock } from '../../clock.js';
import { IssuerUnreachable, type IssuerKeys } from './issuer-keys.js';
import type { FederationSettings } from './issuer-url.js';

/** One federated credential as the cached client state holds it. */
export interface FederatedRule {
  readonly id: string;
  readonly issuer: string;
  readonly audience: string;
  readonly subject: string;
  readonly conditions: Readonly<Record<string, string>>;
}

export type FederationFailure = 'federation_no_match' | 'federation_bad_token' | 'federation_issuer_unreachable';

export type WorkloadTokenResult = { readonly ok: true; readonly rule: FederatedRule } | { readonly ok: false; readonly reason: FederationFailure };

/** Signature algorithms of workload tokens: asymmetric only, pinned here and never taken from the token (no `none`, no HMAC). */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
/** Clocks of CI runners and clusters drift a little; this much is forgiven on exp, nbf and iat. */
export const WORKLOAD_CLOCK_SKEW_SECONDS = 60;
const MAX_SUBJECT_TOKEN_LENGTH = 16 * 1024;

/** Exactly, or as a prefix when the rule's subject ends in `*`. */
export function subjectMatches(pattern: string, subject: string): boolean {
  return pattern.endsWith('*') ? subject.startsWith(pattern.slice(0, -1)) : subject === pattern;
}

function audiencesOf(payload: JWTPayload): readonly string[] {
  const { aud } = payload;
  return typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.filter((entry): entry is string => typeof entry === 'string') : [];
}

/** Whether a verified token meets one rule: audience, subject, and each condition's claim with exactly its value. */
function ruleMatches(rule: FederatedRule, payload: JWTPayload): boolean {
  if (!audiencesOf(payload).includes(rule.audience)) return false;
  if (typeof payload.sub !== 'string' || !subjectMatches(rule.subject, payload.sub)) return false;
  return Object.entries(rule.conditions).every(([claim, value]) => {
    const actual = payload[claim];
    // Strings exactly; a boolean or number claim (GitLab's `protected: "true"` is a string, others are not) by its JSON text.
    return typeof actual === 'string' ? actual === value : (typeof actual === 'boolean' || typeof actual === 'number') && String(actual) === value;
  });
}

/**
 * Verifies a workload's OIDC token (RFC 8693 subject_token) against a client's federated
 * credentials: the issuer's keys through discovery, `iss`, `exp`/`nbf`/`iat` with a small skew,
 * then the first rule whose audience, subject and conditions it meets.
 */
export function createWorkloadTokenVerifier(deps: { readonly issuerKeys: IssuerKeys; readonly clock: Clock; readonly settings: FederationSettings }) {
  const { issuerKeys, clock, settings } = deps;

  async function verifyWith(token: string, issuer: string, keys: JWTVerifyGetKey): Promise<JWTPayload> {
    const now = clock.now();
    const { payload } = await jwtVerify(token, keys, {
      issuer,
      algorithms: ALGORITHMS,
      clockTolerance: WORKLOAD_CLOCK_SKEW_SECONDS,
      currentDate: now,
      requiredClaims: ['exp', 'iat'],
    });
    // jose checks iat only against a maximum age; a token issued in the future is forged or badly skewed.
    if (typeof payload.iat !== 'number' || payload.iat > now.getTime() / 1000 + WORKLOAD_CLOCK_SKEW_SECONDS) {
      throw new errors.JWTClaimValidationFailed('"iat" is in the future', payload, 'iat', 'check_failed');
    }
    return payload;
  }

  return {
    async verify(rules: readonly FederatedRule[], token: string): Promise<WorkloadTokenResult> {
      if (token.length > MAX_SUBJECT_TOKEN_LENGTH) return { ok: false, reason: 'federation_bad_token' };
      let issuer: unknown;
      try {
        issuer = decodeJwt(token).iss;
      } catch {
        return { ok: false, reason: 'federation_bad_token' };
      }
      if (typeof issuer !== 'string') return { ok: false, reason: 'federation_bad_token' };
      // Only issuers the client trusts (and the installation still allows) are ever fetched.
      const candidates = rules.filter((rule) => rule.issuer === issuer && (settings.issuers === null || settings.issuers.includes(rule.issuer)));
      if (candidates.length === 0) return { ok: false, reason: 'federation_no_match' };
      let payload: JWTPayload;
      try {
        try {
          payload = await verifyWith(token, issuer, await issuerKeys.keysFor(issuer));
        } catch (error) {
          // The issuer may have rotated its keys since they were fetched.
          if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
          const refetched = await issuerKeys.keysAfterUnknownKid(issuer);
          if (refetched === null) throw error;
          payload = await verifyWith(token, issuer, refetched);
        }
      } catch (error) {
        if (error instanceof IssuerUnreachable) return { ok: false, reason: 'federation_issuer_unreachable' };
        return { ok: false, reason: 'federation_bad_token' };
      }
      const rule = candidates.find((candidate) => ruleMatches(candidate, payload));
      return rule === undefined ? { ok: false, reason: 'federation_no_match' } : { ok: true, rule };
    },
  };
}

export type WorkloadTokenVerifier = ReturnType<typeof createWorkloadTokenVerifier>;
