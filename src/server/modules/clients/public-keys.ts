import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { BadInput } from '../../errors.js';
import { KID_MAX_LENGTH } from '../../../shared/limits.js';
import {
  CLIENT_KEY_ALGORITHMS,
  hasPrivateMembers,
  PRIVATE_KEY_MESSAGE,
  publicJwkFromText,
  RSA_MIN_BITS,
  type ClientKeyAlgorithm,
} from '../../../shared/public-keys.js';

/** A client's public key as it is stored: only the public members, its algorithm and RFC 7638 thumbprint. */
export interface CheckedPublicKey {
  readonly kid: string;
  readonly alg: ClientKeyAlgorithm;
  readonly thumbprint: string;
  readonly jwk: Readonly<Record<string, string>>;
}

/** The members each key type needs (RFC 7518 §6), and the only ones kept. */
const PUBLIC_MEMBERS: Readonly<Record<string, readonly string[]>> = { OKP: ['crv', 'x'], EC: ['crv', 'x', 'y'], RSA: ['n', 'e'] };
const KID_PATTERN = /^[\x21-\x7e]+$/;

/** The one algorithm a key of this type and curve may sign with, or why the key is refused. */
function algorithmOf(jwk: Record<string, unknown>, bits: number | undefined): ClientKeyAlgorithm | string {
  const { kty, crv, alg } = jwk;
  const wanted = alg === undefined ? undefined : String(alg);
  if (kty === 'OKP') {
    if (crv !== 'Ed25519') return 'must be an Ed25519 key (crv "Ed25519") when kty is OKP';
    return wanted === undefined || wanted === 'EdDSA' ? 'EdDSA' : `has alg ${wanted.slice(0, 20)}; an Ed25519 key signs with EdDSA`;
  }
  if (kty === 'EC') {
    if (crv !== 'P-256') return 'must be a P-256 key (crv "P-256") when kty is EC';
    return wanted === undefined || wanted === 'ES256' ? 'ES256' : `has alg ${wanted.slice(0, 20)}; a P-256 key signs with ES256`;
  }
  if (kty === 'RSA') {
    if (bits === undefined || bits < RSA_MIN_BITS) return `is an RSA key of ${bits ?? 'unknown'} bits; at least ${RSA_MIN_BITS} are needed`;
    if (wanted === undefined) return 'RS256';
    return wanted === 'RS256' || wanted === 'PS256' ? wanted : `has alg ${wanted.slice(0, 20)}; an RSA key signs with RS256 or PS256`;
  }
  if (kty === 'oct') return 'is a shared (symmetric) key, which is a secret; give an Ed25519, P-256 or RSA public key';
  return `must have kty OKP (Ed25519), EC (P-256) or RSA; algorithms ${CLIENT_KEY_ALGORITHMS.join(', ')}`;
}

/**
 * Checks a public JWK sent for a private_key_jwt client (an object, or text: a JWK's JSON or a PEM
 * public key, as GraphQL and the CLI take it); throws BadInput naming `field` with what is wrong. A
 * private key is refused before anything else, and nothing of it is kept or echoed.
 */
export async function checkPublicKey(given: unknown, field: string): Promise<CheckedPublicKey> {
  const refuse = (message: string): never => {
    throw new BadInput({ field, message });
  };
  let raw = given;
  if (typeof given === 'string') {
    const converted = await publicJwkFromText(given);
    raw = 'jwk' in converted ? converted.jwk : refuse(converted.problem);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return refuse('must be a public JWK (a JSON object)');
  const jwk = raw as Record<string, unknown>;
  if (hasPrivateMembers(jwk)) return refuse(PRIVATE_KEY_MESSAGE);
  if (jwk['use'] !== undefined && jwk['use'] !== 'sig') refuse('has use other than "sig"; the key signs client assertions');
  const members = PUBLIC_MEMBERS[String(jwk['kty'])];
  const publicJwk: Record<string, string> = { kty: String(jwk['kty']) };
  for (const member of members ?? []) {
    if (typeof jwk[member] !== 'string') refuse(`must have "${member}" for kty ${String(jwk['kty'])}`);
    publicJwk[member] = jwk[member] as string;
  }
  let bits: number | undefined;
  if (members !== undefined) {
    try {
      const key = createPublicKey({ key: publicJwk as JsonWebKey, format: 'jwk' });
      bits = key.asymmetricKeyDetails?.modulusLength;
    } catch {
      refuse('is not a valid public key');
    }
  }
  const alg = algorithmOf(jwk, bits);
  if (!(CLIENT_KEY_ALGORITHMS as readonly string[]).includes(alg)) refuse(alg);
  const thumbprint = await calculateJwkThumbprint(publicJwk as JWK, 'sha256');
  const kid = jwk['kid'] === undefined ? thumbprint : jwk['kid'];
  if (typeof kid !== 'string' || kid.length === 0 || kid.length > KID_MAX_LENGTH || !KID_PATTERN.test(kid)) {
    refuse(`has a kid that is not 1 to ${KID_MAX_LENGTH} visible ASCII characters`);
  }
  return { kid: kid as string, alg: alg as ClientKeyAlgorithm, thumbprint, jwk: { ...publicJwk, kid: kid as string, alg } };
}
