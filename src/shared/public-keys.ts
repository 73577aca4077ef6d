/**
 * What a client's public key may be (RFC 7523 §2.2 client authentication), shared by the server,
 * which checks every key it is sent, and by the console and the CLI, which turn a pasted PEM into a
 * JWK and refuse a private key before it ever leaves the machine.
 */
import { exportJWK, importSPKI, type JWK } from 'jose';

/** Signature algorithms a client's assertion may use, one per key. RSA keys of at least 2048 bits. */
export const CLIENT_KEY_ALGORITHMS = ['EdDSA', 'ES256', 'RS256', 'PS256'] as const;
export type ClientKeyAlgorithm = (typeof CLIENT_KEY_ALGORITHMS)[number];
export const RSA_MIN_BITS = 2048;
/** What assertions may name in their header: an Ed25519 key's also as Ed25519 (RFC 9864's fully specified name). */
export const ASSERTION_ALGORITHMS = ['EdDSA', 'Ed25519', 'ES256', 'RS256', 'PS256'] as const;

export const AUTH_METHODS = ['client_secret', 'private_key_jwt'] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];

/** JWK members that only a private or symmetric key has (RFC 7517, RFC 7518 §6). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

export const PRIVATE_KEY_MESSAGE =
  'is a private key: give only the public key (a JWK without "d", or a PEM "BEGIN PUBLIC KEY"); the private key never leaves the client';

/** Whether a JWK-like object carries private (or symmetric) key material. */
export function hasPrivateMembers(jwk: Record<string, unknown>): boolean {
  return PRIVATE_MEMBERS.some((member) => member in jwk);
}

/** Turns pasted text (a JWK as JSON, or a PEM public key) into a JWK; a message when it is neither, or is private. */
export async function publicJwkFromText(text: string): Promise<{ jwk: JWK } | { problem: string }> {
  const trimmed = text.trim();
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(trimmed)) return { problem: PRIVATE_KEY_MESSAGE };
  if (trimmed.startsWith('-----BEGIN PUBLIC KEY-----')) {
    // importSPKI needs an algorithm; the key's type decides it (an RSA key is taken as RS256).
    for (const alg of ['EdDSA', 'ES256', 'RS256'] as const) {
      try {
        const jwk = await exportJWK(await importSPKI(trimmed, alg, { extractable: true }));
        return { jwk: { ...jwk, alg } };
      } catch {
        // Not a key of this type: try the next.
      }
    }
    return { problem: 'is not an Ed25519, P-256 or RSA public key' };
  }
  if (trimmed.startsWith('-----BEGIN')) return { problem: 'must be a PEM "BEGIN PUBLIC KEY" (SubjectPublicKeyInfo) or a JWK' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    return { problem: 'must be a JWK (JSON) or a PEM public key' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { problem: 'must be a JWK: a JSON object' };
  if (hasPrivateMembers(parsed as Record<string, unknown>)) return { problem: PRIVATE_KEY_MESSAGE };
  return { jwk: parsed as JWK };
}
