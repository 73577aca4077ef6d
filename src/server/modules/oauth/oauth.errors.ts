import type { Quota } from '../../rate-limiting/rate-limiter.js';

/**
 * RFC 6749 §5.2 errors (and RFC 7009's), one small class each, as node-oidc-provider does. Only
 * the token, introspection and revocation endpoints speak these; the APIs answer RFC 9457 problems.
 */
export class OAuthError extends Error {
  constructor(
    readonly error: string,
    readonly status: number,
    readonly description: string,
  ) {
    super(description);
    this.name = 'OAuthError';
  }
}

export class InvalidRequest extends OAuthError {
  constructor(description: string) {
    super('invalid_request', 400, description);
  }
}

/** Unknown client, wrong secret, disabled client: one answer for all. */
export class InvalidClient extends OAuthError {
  constructor(readonly usedBasic: boolean) {
    super('invalid_client', 401, 'client authentication failed');
  }
}

export class UnsupportedGrantType extends OAuthError {
  constructor(grantType: string) {
    super(
      'unsupported_grant_type',
      400,
      `grant_type ${JSON.stringify(grantType.slice(0, 64))} is not supported; use client_credentials or urn:ietf:params:oauth:grant-type:token-exchange`,
    );
  }
}

/** RFC 6749 §5.2: the grant itself (here a token exchange's subject_token) is invalid, expired or not trusted. */
export class InvalidGrant extends OAuthError {
  constructor(description: string) {
    super('invalid_grant', 400, description);
  }
}

/** RFC 9449 §5: the DPoP proof of a token request is missing where required, invalid or replayed. */
export class InvalidDpopProof extends OAuthError {
  constructor(description: string) {
    super('invalid_dpop_proof', 400, description);
  }
}

/** RFC 9449 §8: the proof lacks a recent server nonce; the answer carries one in `DPoP-Nonce` (app.ts) for the retry. */
export class UseDpopNonce extends OAuthError {
  constructor(description: string) {
    super('use_dpop_nonce', 400, description);
  }
}

export class InvalidScope extends OAuthError {
  constructor(description: string) {
    super('invalid_scope', 400, description);
  }
}

export class UnauthorizedClient extends OAuthError {
  constructor(description: string) {
    super('unauthorized_client', 400, description);
  }
}

/** Throttled after too many failed authentications; answered 429 with Retry-After. */
export class TooManyAttempts extends OAuthError {
  constructor(
    readonly retryAfterSeconds: number,
    readonly usedBasic: boolean,
  ) {
    super('too_many_requests', 429, `too many failed authentications; retry after ${retryAfterSeconds} seconds`);
  }
}

/** A token request over its client's tokensPerMinute; answered 429 with Retry-After and the RateLimit fields of its quota. */
export class TokenRateLimited extends OAuthError {
  constructor(readonly quota: Quota) {
    super('too_many_requests', 429, `the client's limit of ${quota.limit} token requests a minute is reached; retry after ${quota.resetSeconds} seconds`);
  }
}

export class TemporarilyUnavailable extends OAuthError {
  constructor() {
    super('temporarily_unavailable', 503, 'the server cannot reach its database; try again shortly');
  }
}
