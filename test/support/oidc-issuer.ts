import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

/** How one of the test issuer's issuers answers its discovery and JWKS requests. */
export type IssuerBehaviour =
  | 'normal'
  /** Discovery redirects to the same origin (followed). */
  | 'same-host-redirect'
  /** Discovery redirects to another host (localhost instead of 127.0.0.1; refused). */
  | 'other-host-redirect'
  /** The JWKS address redirects to another host (refused as discovery's is). */
  | 'jwks-other-host-redirect'
  /** A JWKS larger than any server should read, streamed without a Content-Length. */
  | 'oversize'
  /** A JWKS whose Content-Length alone says it is too large. */
  | 'oversize-declared'
  /** Accepts the connection and never answers. */
  | 'silent'
  /** Accepts the connection and answers nothing until the test calls `release` (then drops it). */
  | 'held'
  /** Sends the JWKS's headers and its first bytes, then nothing more. */
  | 'stalled-body'
  /** Discovery names another issuer (an OpenID mix-up; refused). */
  | 'wrong-issuer'
  /** Discovery's jwks_uri is plain http on a host that is not loopback (refused before any fetch). */
  | 'insecure-jwks-uri'
  /** The JWKS also publishes a symmetric (`oct`) key, whose secret anyone can then read. */
  | 'publishes-secret';

interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

interface IssuerState {
  behaviour: IssuerBehaviour;
  cacheControl: string | null;
  published: SigningKey[];
  jwksFetches: number;
  discoveryRequests: number;
  /** Connections a `held` issuer keeps open until released. */
  held: Set<ServerResponse>;
  /** Resolved at the first request a `held` issuer holds. */
  firstHeld: { promise: Promise<void>; resolve: () => void };
}

export interface MintOptions {
  /** Which key signs: the issuer's newest (default), or one it never published. */
  readonly key?: 'current' | 'unpublished';
  /** Sign with another test issuer's newest key instead (the `iss` stays this issuer's). */
  readonly signWith?: string;
  /** The header's kid, instead of the signing key's own. */
  readonly kid?: string;
  /** `iat` in seconds since the epoch (null: none); default now. */
  readonly issuedAt?: number | null;
  /** `exp` in seconds since the epoch (null: none); default `issuedAt` + expiresInSeconds. */
  readonly expiresAt?: number | null;
  readonly expiresInSeconds?: number;
  /** `nbf` in seconds since the epoch (null: none); default `issuedAt`. */
  readonly notBefore?: number | null;
}

export interface OidcIssuer {
  /** A new issuer under this server, `http://127.0.0.1:PORT/NAME`, with one published key. */
  add(name: string, options?: { behaviour?: IssuerBehaviour; cacheControl?: string | null }): Promise<string>;
  /** A workload token of `name` (sub, aud and any claims given), signed with its newest key unless told. */
  mint(name: string, claims: JWTPayload, options?: MintOptions): Promise<string>;
  /** Publishes a new key and withdraws the old ones, as an issuer rotating its keys does. */
  rotate(name: string): Promise<void>;
  /** The kid of the issuer's newest key. */
  currentKid(name: string): string;
  jwksFetches(name: string): number;
  discoveryRequests(name: string): number;
  /** Resolves once a `held` issuer holds its first request. */
  holding(name: string): Promise<void>;
  /** Drops the connections a `held` issuer holds, as a crashed issuer would. */
  release(name: string): void;
  close(): Promise<void>;
}

let kidCounter = 0;
async function newKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const kid = `key-${++kidCounter}`;
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
};

/** The symmetric key a `publishes-secret` issuer publishes beside its real one. */
const PUBLISHED_SECRET: JWK = { kty: 'oct', kid: 'published-secret', alg: 'HS256', k: Buffer.from('anyone can read this secret').toString('base64url') };

/**
 * A small OpenID Connect issuer on loopback: discovery, a JWKS with Cache-Control, key rotation,
 * and the bad behaviours a federation must survive; it mints the workload tokens tests exchange.
 */
export async function startOidcIssuer(options: { readonly now?: () => Date } = {}): Promise<OidcIssuer> {
  const now = options.now ?? (() => new Date());
  const issuers = new Map<string, IssuerState>();
  const sockets = new Set<Socket>();
  const unpublished = await newKey();
  let base = '';

  const send = (response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end(JSON.stringify(body));
  };

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = new URL(request.url ?? '/', base).pathname;
    const [, name, ...rest] = path.split('/');
    const state = name === undefined ? undefined : issuers.get(name);
    if (state === undefined) return send(response, 404, { error: 'no such issuer' });
    const tail = `/${rest.join('/')}`;
    const otherHost = base.replace('127.0.0.1', 'localhost');
    if (tail === '/.well-known/openid-configuration') state.discoveryRequests += 1;
    if (state.behaviour === 'silent') return;
    if (state.behaviour === 'held') {
      state.held.add(response);
      state.firstHeld.resolve();
      return;
    }
    if (tail === '/.well-known/openid-configuration') {
      if (state.behaviour === 'other-host-redirect') return send(response, 302, {}, { location: `${otherHost}/${name}/moved` });
      if (state.behaviour === 'same-host-redirect') return send(response, 302, {}, { location: `/${name}/moved` });
    }
    if (tail === '/.well-known/openid-configuration' || tail === '/moved') {
      const issuer = state.behaviour === 'wrong-issuer' ? `${base}/someone-else` : `${base}/${name}`;
      const jwksUri = state.behaviour === 'insecure-jwks-uri' ? `http://keys.example.com/${name}/jwks` : `${base}/${name}/jwks`;
      return send(response, 200, { issuer, jwks_uri: jwksUri, id_token_signing_alg_values_supported: ['ES256'] });
    }
    if (tail === '/jwks') {
      state.jwksFetches += 1;
      if (state.behaviour === 'jwks-other-host-redirect') return send(response, 302, {}, { location: `${otherHost}/${name}/jwks` });
      const keys = [...state.published.map((key) => key.publicJwk), ...(state.behaviour === 'publishes-secret' ? [PUBLISHED_SECRET] : [])];
      const headers: Record<string, string> = state.cacheControl === null ? {} : { 'cache-control': state.cacheControl };
      if (state.behaviour === 'oversize') {
        // Chunked, with no Content-Length: only counting what arrives can stop it.
        response.writeHead(200, { 'content-type': 'application/json', ...headers });
        response.write(`{"keys":${JSON.stringify(keys)},"padding":"`);
        for (let chunk = 0; chunk < 50; chunk += 1) response.write('x'.repeat(4096));
        return response.end('"}');
      }
      if (state.behaviour === 'oversize-declared') {
        const body = JSON.stringify({ keys, padding: 'x'.repeat(200 * 1024) });
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers });
        return response.end(body);
      }
      if (state.behaviour === 'stalled-body') {
        response.writeHead(200, { 'content-type': 'application/json', ...headers });
        response.write('{"keys":[');
        return;
      }
      return send(response, 200, { keys }, headers);
    }
    return send(response, 404, { error: 'not found' });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('the test issuer has no port');
  base = `http://127.0.0.1:${address.port}`;

  const stateOf = (name: string) => {
    const state = issuers.get(name);
    if (state === undefined) throw new Error(`no test issuer ${name}`);
    return state;
  };

  return {
    async add(name, options = {}) {
      issuers.set(name, {
        behaviour: options.behaviour ?? 'normal',
        cacheControl: options.cacheControl ?? null,
        published: [await newKey()],
        jwksFetches: 0,
        discoveryRequests: 0,
        held: new Set(),
        firstHeld: deferred(),
      });
      return `${base}/${name}`;
    },
    async mint(name, claims, mintOptions = {}) {
      const state = stateOf(name);
      const key =
        mintOptions.signWith !== undefined
          ? stateOf(mintOptions.signWith).published.at(-1)!
          : mintOptions.key === 'unpublished'
            ? unpublished
            : state.published.at(-1)!;
      const issuedAt = mintOptions.issuedAt ?? Math.floor(now().getTime() / 1000);
      const withIssuedAt = mintOptions.issuedAt !== null;
      const expiresAt = mintOptions.expiresAt === undefined ? issuedAt + (mintOptions.expiresInSeconds ?? 300) : mintOptions.expiresAt;
      const notBefore = mintOptions.notBefore === undefined ? issuedAt : mintOptions.notBefore;
      const token = new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: mintOptions.kid ?? key.kid, typ: 'JWT' })
        .setIssuer(typeof claims.iss === 'string' ? claims.iss : `${base}/${name}`);
      if (withIssuedAt) token.setIssuedAt(issuedAt);
      if (notBefore !== null) token.setNotBefore(notBefore);
      if (expiresAt !== null) token.setExpirationTime(expiresAt);
      return token.sign(key.privateKey);
    },
    async rotate(name) {
      stateOf(name).published = [await newKey()];
    },
    currentKid: (name) => stateOf(name).published.at(-1)!.kid,
    jwksFetches: (name) => stateOf(name).jwksFetches,
    discoveryRequests: (name) => stateOf(name).discoveryRequests,
    holding: (name) => stateOf(name).firstHeld.promise,
    release(name) {
      const state = stateOf(name);
      for (const response of state.held) response.socket?.destroy();
      state.held.clear();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
