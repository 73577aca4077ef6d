import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSecretHasher } from './clients.secret.js';

describe('client secret hasher', () => {
  const hasher = createSecretHasher(randomBytes(32));
  const current = hasher.generate();
  const previous = hasher.generate();

  it('tells which stored hash a secret matches, with nulls and malformed hashes never matching', () => {
    expect(hasher.matchesAny(current.secret, [current.hash, previous.hash])).toBe(0);
    expect(hasher.matchesAny(previous.secret, [current.hash, previous.hash])).toBe(1);
    expect(hasher.matchesAny(previous.secret, [current.hash, null])).toBe(-1);
    expect(hasher.matchesAny(current.secret, [null, null])).toBe(-1);
    expect(hasher.matchesAny(current.secret, ['short', current.hash])).toBe(1);
    expect(hasher.verify(current.secret, current.hash)).toBe(true);
    expect(hasher.verify(current.secret, null)).toBe(false);
  });
});
