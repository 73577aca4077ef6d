import { createHash, sign, verify, type KeyObject } from 'node:crypto';

/**
 * Compact JWS with Ed25519 through node:crypto directly. jose runs WebCrypto on libuv's thread
 * pool (about 150 µs a call here, measured in the benchmark issue); the token path signs and
 * verifies synchronously instead. jose still serves the JWKS export and the tests' verification.
 */
export const TOKEN_ALGORITHM = 'EdDSA';
export const TOKEN_TYPE = 'at+jwt';

export interface AccessTokenClaims {
  readonly iss: string;
  readonly sub: string;
  readonly aud: string;
  readonly exp: number;
  readonly iat: number;
  readonly jti: string;
  readonly client_id: string;
  readonly scope: string;
  /** The client's secret generation when the token was minted; a regeneration kills the token. */
  readonly gen: number;
}

const encodeJson = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

export function signJwt(claims: AccessTokenClaims, kid: string, privateKey: KeyObject): string {
  const input = `${encodeJson({ alg: TOKEN_ALGORITHM, typ: TOKEN_TYPE, kid })}.${encodeJson(claims)}`;
  return `${input}.${sign(null, Buffer.from(input, 'ascii'), privateKey).toString('base64url')}`;
}

export interface DecodedJwt {
  readonly kid: string;
  readonly claims: Record<string, unknown>;
  readonly signingInput: string;
  readonly signature: Buffer;
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const MAX_TOKEN_LENGTH = 4096;

/**
 * Decodes a compact JWS whose header pins what we issue (RFC 9068 §4): `alg` EdDSA, never taken
 * from the token to pick a verifier (so `none` and HS256-with-the-public-key are refused), and
 * `typ` at+jwt, so an ID token or another JWT is not accepted as an access token. Null if malformed.
 */
export function decodeAccessToken(token: string): DecodedJwt | null {
  if (token.length > MAX_TOKEN_LENGTH || !JWT_SHAPE.test(token)) return null;
  const [headerPart, payloadPart, signaturePart] = token.split('.') as [string, string, string];
  try {
    const header = JSON.parse(Buffer.from(headerPart, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (header['alg'] !== TOKEN_ALGORITHM || typeof header['kid'] !== 'string') return null;
    const typ = typeof header['typ'] === 'string' ? header['typ'].toLowerCase() : '';
    if (typ !== TOKEN_TYPE && typ !== `application/${TOKEN_TYPE}`) return null;
    if (header['crit'] !== undefined) return null;
    const claims = JSON.parse(Buffer.from(payloadPart, 'base64url').toString('utf8')) as unknown;
    if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) return null;
    return {
      kid: header['kid'],
      claims: claims as Record<string, unknown>,
      signingInput: `${headerPart}.${payloadPart}`,
      signature: Buffer.from(signaturePart, 'base64url'),
    };
  } catch {
    return null;
  }
}

export function verifySignature(decoded: DecodedJwt, publicKey: KeyObject): boolean {
  return verify(null, Buffer.from(decoded.signingInput, 'ascii'), publicKey, decoded.signature);
}

/** A stable id for a token in caches and logs that never reveals the token. */
export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token).digest('base64url').slice(0, 22);
}
