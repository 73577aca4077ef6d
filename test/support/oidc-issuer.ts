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
  /** A JWKS larger than any server should read. */
  | 'oversize'
  /** Accepts the connection and never answers. */
  | 'silent';

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
}

export interface OidcIssuer {
  /** A new issuer under this server, `http://127.0.0.1:PORT/NAME`, with one published key. */
  add(name: string, options?: { behaviour?: IssuerBehaviour; cacheControl?: string | null }): Promise<string>;
  /** A workload token of `name` (sub, aud and any claims given), signed with its newest key unless told. */
  mint(name: string, claims: JWTPayload, options?: { key?: 'current' | 'unpublished'; expiresInSeconds?: number; issuedAt?: number }): Promise<string>;
  /** Publishes a new key and withdraws the old ones, as an issuer rotating its keys does. */
  rotate(name: string): Promise<void>;
  jwksFetches(name: string): number;
  close(): Promise<void>;
}

let kidCounter = 0;
async function newKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const kid = `key-${++kidCounter}`;
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

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
    if (state.behaviour === 'silent') return;
    if (tail === '/.well-known/openid-configuration') {
      if (state.behaviour === 'other-host-redirect') return send(response, 302, {}, { location: `${base.replace('127.0.0.1', 'localhost')}/${name}/moved` });
      if (state.behaviour === 'same-host-redirect') return send(response, 302, {}, { location: `/${name}/moved` });
    }
    if (tail === '/.well-known/openid-configuration' || tail === '/moved') {
      return send(response, 200, { issuer: `${base}/${name}`, jwks_uri: `${base}/${name}/jwks`, id_token_signing_alg_values_supported: ['ES256'] });
    }
    if (tail === '/jwks') {
      state.jwksFetches += 1;
      const keys = state.published.map((key) => key.publicJwk);
      const padding = state.behaviour === 'oversize' ? { padding: 'x'.repeat(200 * 1024) } : {};
      return send(response, 200, { keys, ...padding }, state.cacheControl === null ? {} : { 'cache-control': state.cacheControl });
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
      issuers.set(name, { behaviour: options.behaviour ?? 'normal', cacheControl: options.cacheControl ?? null, published: [await newKey()], jwksFetches: 0 });
      return `${base}/${name}`;
    },
    async mint(name, claims, mintOptions = {}) {
      const state = stateOf(name);
      const key = mintOptions.key === 'unpublished' ? unpublished : state.published.at(-1)!;
      const issuedAt = mintOptions.issuedAt ?? Math.floor(now().getTime() / 1000);
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'JWT' })
        .setIssuer(typeof claims.iss === 'string' ? claims.iss : `${base}/${name}`)
        .setIssuedAt(issuedAt)
        .setNotBefore(issuedAt)
        .setExpirationTime(issuedAt + (mintOptions.expiresInSeconds ?? 300))
        .sign(key.privateKey);
    },
    async rotate(name) {
      stateOf(name).published = [await newKey()];
    },
    jwksFetches: (name) => stateOf(name).jwksFetches,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
