import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Client secrets: 256 bits from the CSPRNG, base64url, behind a prefix that secret scanners can
 * match (`koios_cs_` then 43 characters). They are stored only as HMAC-SHA-256 under the
 * installation's key: the secret is random, so a fast keyed hash is as strong as a slow one and
 * keeps the token endpoint fast (slow hashes are why ory/hydra#1477 took seconds per token).
 */
export const CLIENT_SECRET_PREFIX = 'koios_cs_';
export const CLIENT_SECRET_PATTERN = /^koios_cs_[A-Za-z0-9_-]{43}$/;
const HINT_LENGTH = 4;

export interface GeneratedSecret {
  readonly secret: string;
  readonly hash: string;
  readonly hint: string;
}

export interface SecretHasher {
  generate(): GeneratedSecret;
  hash(secret: string): string;
  /**
   * Constant-time comparison of a presented secret with a stored hash. With `storedHash` null
   * (unknown client) it does the same work against a dummy, so timing does not tell which ids exist.
   */
  verify(presented: string, storedHash: string | null): boolean;
  /**
   * The index of the first stored hash the presented secret matches, or -1. One HMAC, compared in
   * constant time with every entry (a null entry, with a dummy), so the time depends only on how
   * many entries are given, never on which exist or match.
   */
  matchesAny(presented: string, storedHashes: readonly (string | null)[]): number;
}

export function createSecretHasher(key: Buffer): SecretHasher {
  if (key.length < 32) throw new Error('the client secret key must be at least 32 bytes');
  const hashBytes = (secret: string): Buffer => createHmac('sha256', key).update(secret, 'utf8').digest();
  const dummy = hashBytes(`${CLIENT_SECRET_PREFIX}dummy`);
  const matchesAny = (presented: string, storedHashes: readonly (string | null)[]): number => {
    const actual = hashBytes(presented);
    let matched = -1;
    for (let index = 0; index < storedHashes.length; index += 1) {
      const storedHash = storedHashes[index]!;
      const expected = storedHash === null ? null : Buffer.from(storedHash, 'base64url');
      const comparable = expected !== null && expected.length === actual.length ? expected : dummy;
      // No early exit: every entry is compared whatever matched before.
      if (timingSafeEqual(actual, comparable) && comparable !== dummy && matched === -1) matched = index;
    }
    return matched;
  };
  return {
    generate() {
      const secret = CLIENT_SECRET_PREFIX + randomBytes(32).toString('base64url');
      return { secret, hash: hashBytes(secret).toString('base64url'), hint: secret.slice(-HINT_LENGTH) };
    },
    hash: (secret) => hashBytes(secret).toString('base64url'),
    verify(presented, storedHash) {
      return matchesAny(presented, [storedHash]) === 0;
    },
    matchesAny,
  };
}
