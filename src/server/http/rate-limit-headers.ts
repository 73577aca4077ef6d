import { RATE_LIMIT_WINDOW_MS, type Quota } from '../rate-limiting/rate-limiter.js';

/** The one policy a client has at each door: its own limit, in its own window. */
const POLICY = '"per-client"';

/**
 * The RateLimit-Policy and RateLimit fields of draft-ietf-httpapi-ratelimit-headers (revision 11),
 * as Structured Field lists: the quota `q` in a window of `w` seconds, and what remains of it `r`
 * with `t` seconds until it resets. Sent on every answer to a rate-limited client, a 429 included.
 */
export function rateLimitHeaders(quota: Quota): Record<string, string> {
  return {
    'RateLimit-Policy': `${POLICY};q=${quota.limit};w=${RATE_LIMIT_WINDOW_MS / 1000}`,
    RateLimit: `${POLICY};r=${quota.remaining};t=${quota.resetSeconds}`,
  };
}
