import type { ProblemCollector } from '../../errors.js';
import { rateLimitProblem, REQUESTS_PER_MINUTE_MAX, TOKENS_PER_MINUTE_MAX } from '../../../shared/limits.js';
import type { RateLimit } from '../../../shared/schemas/clients.js';

/** A rate-limit change as asked: a field left out keeps its value (null: no limit). */
export interface RateLimitInput {
  readonly requestsPerMinute?: number | null;
  readonly tokensPerMinute?: number | null;
}

const MAXIMA: Readonly<Record<keyof RateLimit, number>> = { requestsPerMinute: REQUESTS_PER_MINUTE_MAX, tokensPerMinute: TOKENS_PER_MINUTE_MAX };

/**
 * The limits asked for, each checked (a problem on `field.requestsPerMinute` otherwise); only the
 * fields given. Undefined when none was asked for.
 */
export function checkRateLimit(input: unknown, field: string, problems: ProblemCollector): RateLimitInput | undefined {
  if (input === undefined) return undefined;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    problems.add(field, 'must be an object {requestsPerMinute, tokensPerMinute}');
    return undefined;
  }
  const checked: { -readonly [K in keyof RateLimit]?: number | null } = {};
  for (const [key, value] of Object.entries(input)) {
    if (!(key in MAXIMA)) {
      problems.add(`${field}.${key}`, 'is not a rate limit: use requestsPerMinute or tokensPerMinute');
      continue;
    }
    if (value === undefined) continue;
    const problem = rateLimitProblem(value, MAXIMA[key as keyof RateLimit]);
    problems.add(`${field}.${key}`, problem);
    if (problem === null) checked[key as keyof RateLimit] = value as number | null;
  }
  return checked;
}
