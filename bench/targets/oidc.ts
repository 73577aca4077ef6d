import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';
import { announceReady, fail, freePort, onShutdown } from './common.js';

/**
 * node-oidc-provider as a client-credentials-only authorization server with one client
 * (client_secret_basic). BENCH_OIDC_FORMAT=jwt: RFC 9068 JWT access tokens signed EdDSA (Ed25519)
 * for the default resource; =opaque: opaque tokens kept in its (default, in-memory) adapter.
 */
const RESOURCE = 'urn:koios:bench-api';

async function main(): Promise<void> {
  const format = process.env['BENCH_OIDC_FORMAT'] ?? 'jwt';
  if (format !== 'jwt' && format !== 'opaque') throw new Error(`BENCH_OIDC_FORMAT must be jwt or opaque, got ${format}`);
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const clientId = 'bench-client';
  const clientSecret = randomBytes(32).toString('base64url');
  const signingKey = { ...generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }), kid: 'bench-ed25519', use: 'sig', alg: 'EdDSA' };

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys: [signingKey] },
    clientDefaults: { id_token_signed_response_alg: 'EdDSA' },
    scopes: ['api:read'],
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    ttl: { ClientCredentials: 3600 },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => RESOURCE,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx: unknown, resourceIndicator: string) => {
          if (resourceIndicator !== RESOURCE) throw new Error(`unknown resource ${resourceIndicator}`);
          return {
            scope: 'api:read',
            audience: RESOURCE,
            accessTokenTTL: 3600,
            accessTokenFormat: format,
            ...(format === 'jwt' ? { jwt: { sign: { alg: 'EdDSA' } } } : {}),
          };
        },
      },
    },
  });
  provider.on('server_error', (_ctx, error) => process.stderr.write(`oidc-provider server_error: ${String((error as Error).stack ?? error)}\n`));

  const server = createServer(provider.callback());
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  onShutdown(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  announceReady({ url: issuer, tokenPath: '/token', clientId, clientSecret, format });
}

main().catch(fail);
