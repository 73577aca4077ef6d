import { createHash, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';

/**
 * What a client that holds a key sends with every request, signed by the bench's load generator:
 * DPoP proofs (RFC 9449 §4.2) and private_key_jwt client assertions (RFC 7523 §3). Signed with
 * node:crypto's one-shot `sign`, synchronously, in pools made before each timed run (bench/http.ts),
 * so the load generator spends its time on the load and not on ECDSA.
 */

/** ES256 is what oauth4webapi's DPoP defaults to; EdDSA (Ed25519) is the other key clients pick. */
export type BenchKeyAlgorithm = 'ES256' | 'EdDSA';

export interface BenchKey {
  readonly alg: BenchKeyAlgorithm;
  readonly kid: string;
  readonly privateKey: KeyObject;
  /** The public JWK with its kid and alg, as Koios stores it and a DPoP proof's header carries it. */
  readonly publicJwk: Record<string, string>;
}

export function benchKey(alg: BenchKeyAlgorithm, kid: string): BenchKey {
  const { privateKey, publicKey } = alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519');
  return { alg, kid, privateKey, publicJwk: { ...(publicKey.export({ format: 'jwk' }) as Record<string, string>), kid, alg } };
}

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function jws(key: BenchKey, header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const input = `${encode({ alg: key.alg, ...header })}.${encode(payload)}`;
  // JWS ECDSA signatures are r‖s (RFC 7518 §3.4), not DER.
  const signature =
    key.alg === 'ES256'
      ? sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
      : sign(null, Buffer.from(input), key.privateKey);
  return `${input}.${signature.toString('base64url')}`;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** RFC 9449 §4.2 `ath`: base64url of the access token's SHA-256. */
export const accessTokenHash = (token: string) => createHash('sha256').update(token, 'ascii').digest('base64url');

/** One DPoP proof for `htm` and `htu` (and the access token's `ath` at a resource), with a unique jti. */
export function dpopProof(key: BenchKey, request: { readonly htm: string; readonly htu: string; readonly ath?: string; readonly iat?: number }): string {
  // The header's jwk is the bare public key (RFC 9449 §4.2), without the kid and alg Koios stores.
  const { kty, crv, x, y } = key.publicJwk;
  const jwk = y === undefined ? { kty, crv, x } : { kty, crv, x, y };
  const payload = {
    jti: randomUUID(),
    htm: request.htm,
    htu: request.htu,
    iat: request.iat ?? nowSeconds(),
    ...(request.ath === undefined ? {} : { ath: request.ath }),
  };
  return jws(key, { typ: 'dpop+jwt', jwk }, payload);
}

/** One client assertion (`iss` = `sub` = the client, `aud` the issuer), with a unique jti, valid for `lifetimeSeconds`. */
export function clientAssertion(key: BenchKey, claims: { readonly clientId: string; readonly audience: string; readonly lifetimeSeconds: number }): string {
  const iat = nowSeconds();
  const payload = { iss: claims.clientId, sub: claims.clientId, aud: claims.audience, iat, exp: iat + claims.lifetimeSeconds, jti: randomUUID() };
  return jws(key, { typ: 'JWT', kid: key.kid }, payload);
}
