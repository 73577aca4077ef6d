import { createHmac, generateKeyPairSync, randomBytes, randomUUID, sign, timingSafeEqual } from 'node:crypto';
import Fastify from 'fastify';
import { sortPermissionKeys, PERMISSION_KEYS } from '../../src/shared/permissions.js';
import { announceReady, fail, HELLO, onShutdown } from './common.js';

/**
 * The references, no logger, no hooks: `GET /json` answers a small JSON object, and so does
 * `POST /json` after parsing its JSON body; `POST /token` is
 * the token endpoint's work and nothing else, the limit a client-credentials server can reach on
 * this machine: a form body, Basic credentials (RFC 6749 §2.3.1), a keyed SHA-256 of the secret
 * compared in constant time with the stored one, and an RFC 9068 JWT signed with Ed25519 on
 * libuv's thread pool. One client, held in memory; its scope is every permission, as the Koios
 * bench client's (an Administrator) is, so both tokens are the same size.
 */
const ISSUER = 'http://koios.bench';
const TTL_SECONDS = 3600;
const FORM = 'application/x-www-form-urlencoded';

async function main(): Promise<void> {
  const hashKey = randomBytes(32);
  const hash = (secret: string) => createHmac('sha256', hashKey).update(secret, 'utf8').digest();
  const clientId = randomUUID();
  const clientSecret = `koios_cs_${randomBytes(32).toString('base64url')}`;
  const storedHash = hash(clientSecret);
  const scope = sortPermissionKeys(PERMISSION_KEYS).join(' ');
  const { privateKey } = generateKeyPairSync('ed25519');
  const header = Buffer.from(JSON.stringify({ alg: 'EdDSA', typ: 'at+jwt', kid: 'bench' })).toString('base64url');

  const app = Fastify({ logger: false });
  app.get('/json', async () => HELLO);
  // The transport work of a GraphQL request: a POST whose JSON body Fastify parses, the same answer.
  app.post('/json', async () => HELLO);
  app.addContentTypeParser(FORM, { parseAs: 'string' }, (_request, body, done) => done(null, new URLSearchParams(body as string)));
  app.post('/token', async (request, reply) => {
    const refuse = (status: number, error: string) => reply.code(status).header('Cache-Control', 'no-store').send({ error });
    const form = request.body as URLSearchParams;
    if (form.get('grant_type') !== 'client_credentials') return refuse(400, 'unsupported_grant_type');
    const match = /^Basic ([A-Za-z0-9+/]+=*)$/i.exec(request.headers.authorization ?? '');
    const decoded = match === null ? '' : Buffer.from(match[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon === -1) return refuse(401, 'invalid_client');
    const id = decodeURIComponent(decoded.slice(0, colon));
    const presented = hash(decodeURIComponent(decoded.slice(colon + 1)));
    if (!timingSafeEqual(presented, storedHash) || id !== clientId) return refuse(401, 'invalid_client');
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: ISSUER, sub: id, aud: ISSUER, exp: now + TTL_SECONDS, iat: now, jti: randomUUID(), client_id: id, scope };
    const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    const signature = await new Promise<Buffer>((resolve, reject) =>
      sign(null, Buffer.from(input, 'ascii'), privateKey, (error, signed) => (error ? reject(error) : resolve(signed))),
    );
    return reply
      .header('Cache-Control', 'no-store')
      .header('Pragma', 'no-cache')
      .send({ access_token: `${input}.${signature.toString('base64url')}`, token_type: 'Bearer', expires_in: TTL_SECONDS, scope });
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  onShutdown(() => app.close());
  announceReady({ url: address, tokenPath: '/token', clientId, clientSecret });
}

main().catch(fail);
