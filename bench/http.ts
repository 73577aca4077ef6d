import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { Dialect } from '../src/server/db/database.js';
import { buildServer, onCleanUp, startTarget, type TargetProcess } from './children.js';
import { CONNECTIONS, load, type LoadRequest, type LoadSample, type OneUseParts } from './load.js';
import { CLIENT_COUNT } from './pagination.js';
import { accessTokenHash, benchKey, clientAssertion, dpopProof, type BenchKey } from './signed-requests.js';

/**
 * The HTTP half of `npm run bench`: the real Koios server (SQLite, and PostgreSQL when it
 * answers), node-oidc-provider with JWT (EdDSA) and with opaque access tokens, bare Fastify and
 * bare node:http routes, and the bare twins that do a Koios path's work and nothing else (the token
 * endpoint's, a first page's one query per dialect), each in a child process on loopback, loaded by autocannon from this
 * process: 50 keep-alive connections, pipelining 1, BENCH_DURATION seconds (default 5) a run,
 * BENCH_ROUNDS rounds (default 3) that each run every scenario once in turn, medians across rounds.
 * Beside the secret-and-bearer rows, the same requests as a client holding a key makes them: `/me`
 * with a DPoP-bound token and a fresh proof each time, a token request with a fresh private_key_jwt
 * assertion each time (bench/signed-requests.ts).
 */

/** One line of the printed table. */
export interface TableRow {
  readonly label: string;
  readonly rps: string;
  readonly p50: string;
  readonly p99: string;
  readonly errors: string;
  readonly non2xx: string;
}

/** One line under the table: a ratio (or a size) and whether it reaches its target. */
export interface Verdict {
  readonly what: string;
  readonly value: string;
  readonly target: string;
  readonly verdict: 'met' | 'MISSED' | 'n/a' | 'info';
}

export interface HttpBenchResult {
  readonly rows: TableRow[];
  readonly verdicts: Verdict[];
  /** Anything that makes the command fail: a target that did not start, a wrong answer, errors or non-2xx under load. */
  readonly failures: string[];
}

export interface HttpBenchOptions {
  /** PostgreSQL for a second Koios target, or null for SQLite only. */
  readonly pgUrl: string | null;
  /** Which scenario groups to run (BENCH_ONLY); all when undefined. */
  readonly only?: ReadonlySet<string>;
  readonly log: (line: string) => void;
}

interface Settings {
  readonly seconds: number;
  readonly rounds: number;
  readonly warmUpSeconds: number;
  readonly clients: number;
  readonly koiosLogLevel: string;
  readonly koiosNodeArgs: string[];
}

function numberFromEnv(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) throw new Error(`${name} must be a number ≥ ${min}, got "${raw}"`);
  return value;
}

export function httpSettings(): Settings {
  return {
    seconds: numberFromEnv('BENCH_DURATION', 5, 1),
    rounds: Math.round(numberFromEnv('BENCH_ROUNDS', 3, 1)),
    warmUpSeconds: numberFromEnv('BENCH_WARMUP', 2, 0),
    clients: Math.round(numberFromEnv('BENCH_CLIENTS', CLIENT_COUNT, 1000)),
    // The peers log nothing per request; KOIOS_LOG_LEVEL=info would add pino's two lines per request.
    koiosLogLevel: process.env['BENCH_KOIOS_LOG_LEVEL'] ?? 'warn',
    // e.g. "--cpu-prof --cpu-prof-dir=/tmp/koios-prof" to profile the Koios targets under load.
    koiosNodeArgs: (process.env['BENCH_KOIOS_NODE_ARGS'] ?? '').split(/\s+/).filter((arg) => arg.length > 0),
  };
}

type Group = 'token' | 'me' | 'graphql' | 'pages' | 'bare';

/** The bare twins' ratios (Koios ÷ the same work in a bare Fastify route) and what each should reach. */
export const TWIN_TARGETS = { token: 0.9, firstPage: 0.8 } as const;

/** One row: a request against one target, measured once per round. */
interface Spec {
  readonly key: string;
  readonly group: Group;
  readonly label: string;
  request?: LoadRequest;
  /** Why the row is "n/a" (not a failure: e.g. /graphql is not there yet). */
  notApplicable?: string;
  /** Why the row failed (the run then exits non-zero). */
  failed?: string;
  readonly samples: LoadSample[];
  /** Errors and non-2xx answers of the warm-up runs, counted in the row too. */
  readonly warmUp: LoadSample[];
  /** Signs `count` one-use parts (proofs, assertions) that stay valid for a run of `seconds`. */
  oneUse?: (count: number, seconds: number) => OneUseParts;
  /** The row this one is measured beside, whose rate sizes the first pool of one-use parts. */
  readonly twin?: string;
}

interface KoiosInfo extends Record<string, unknown> {
  readonly dialect: Dialect;
  readonly clients: number;
  readonly clientId: string;
  readonly clientSecret: string;
  /** The client that authenticates with the bench's keys (private_key_jwt), if any. */
  readonly keyClientId: string | null;
  readonly issuer: string;
}

/** The bench's keys: one per algorithm for client assertions, one for DPoP proofs. */
interface BenchKeys {
  readonly assertion: Readonly<Record<AssertionAlgorithm, BenchKey>>;
  readonly dpop: BenchKey;
}
const ASSERTION_ALGORITHMS = ['ES256', 'EdDSA'] as const;
type AssertionAlgorithm = (typeof ASSERTION_ALGORITHMS)[number];
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

interface OidcInfo extends Record<string, unknown> {
  readonly tokenPath: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

const FORM = 'application/x-www-form-urlencoded';
const GRAPHQL_ME = JSON.stringify({ query: '{ me { id } }' });

function basic(id: string, secret: string): string {
  // RFC 6749 §2.3.1: each part form-encoded, then Base64.
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

function tokenRequest(url: string, id: string, secret: string): LoadRequest {
  return { url, method: 'POST', headers: { authorization: basic(id, secret), 'content-type': FORM }, body: 'grant_type=client_credentials' };
}

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

async function send(request: LoadRequest): Promise<Answer> {
  const response = await fetch(request.url, {
    method: request.method ?? 'GET',
    ...(request.headers === undefined ? {} : { headers: request.headers }),
    ...(request.body === undefined ? {} : { body: request.body }),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: kept as text for the error message.
  }
  return { status: response.status, body };
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

function describe(answer: Answer): string {
  return `${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`;
}

type Json = Record<string, unknown>;
const field = (value: unknown, name: string): unknown => (typeof value === 'object' && value !== null ? (value as Json)[name] : undefined);

async function fetchToken(request: LoadRequest): Promise<string> {
  const answer = await send(request);
  const token = field(answer.body, 'access_token');
  check(answer.status === 200 && typeof token === 'string', `token request: ${describe(answer)}`);
  check(String(field(answer.body, 'token_type')).toLowerCase() === 'bearer', `token request: token_type ${String(field(answer.body, 'token_type'))}`);
  return token;
}

function jwtHeader(token: string): Json | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    return JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as Json;
  } catch {
    return null;
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const thousands = (value: number) => Math.round(value).toLocaleString('en-US');

/** What the Koios scenarios need to know before the load: a token, a deep cursor, whether /graphql exists. */
async function prepareKoios(
  koios: TargetProcess<KoiosInfo>,
  specs: Map<string, Spec>,
  settings: Settings,
  keys: BenchKeys,
  log: (line: string) => void,
): Promise<void> {
  const { url, clientId, clientSecret, dialect, clients, keyClientId, issuer } = koios.info;
  const key = (name: string) => `koios-${dialect}:${name}`;
  const guard = async (name: string, prepare: (spec: Spec) => Promise<void>) => {
    const spec = specs.get(key(name));
    if (spec === undefined || spec.failed !== undefined) return;
    try {
      await prepare(spec);
    } catch (error) {
      spec.failed = (error as Error).message;
    }
  };

  const token = tokenRequest(`${url}/oauth/token`, clientId, clientSecret);
  let bearer: string | undefined;
  try {
    const accessToken = await fetchToken(token);
    check(jwtHeader(accessToken)?.['alg'] === 'EdDSA', 'Koios access tokens should be EdDSA JWTs');
    bearer = `Bearer ${accessToken}`;
  } catch (error) {
    for (const spec of specs.values()) if (spec.key.startsWith(`koios-${dialect}:`)) spec.failed = `getting a token: ${(error as Error).message}`;
    return;
  }
  const auth = { authorization: bearer };

  await guard('token', async (spec) => {
    spec.request = token;
  });

  await guard('me', async (spec) => {
    const request: LoadRequest = { url: `${url}/api/v1/me`, headers: auth };
    const answer = await send(request);
    check(answer.status === 200 && field(answer.body, 'id') === clientId, `GET /api/v1/me: ${describe(answer)}`);
    spec.request = request;
  });

  // RFC 9449 §4.2: proofs name the issuer's origin and the path, as the server rebuilds them.
  const origin = new URL(issuer).origin;
  await guard('me-dpop', async (spec) => {
    const bound = await send({ ...token, headers: { ...token.headers, dpop: dpopProof(keys.dpop, { htm: 'POST', htu: `${origin}/oauth/token` }) } });
    const accessToken = field(bound.body, 'access_token');
    check(bound.status === 200 && typeof accessToken === 'string' && field(bound.body, 'token_type') === 'DPoP', `DPoP token request: ${describe(bound)}`);
    const proof = { htm: 'GET', htu: `${origin}/api/v1/me`, ath: accessTokenHash(accessToken) };
    const request: LoadRequest = { url: `${url}/api/v1/me`, headers: { authorization: `DPoP ${accessToken}` } };
    const answer = await send({ ...request, headers: { ...request.headers, dpop: dpopProof(keys.dpop, proof) } });
    check(answer.status === 200 && field(answer.body, 'id') === clientId, `GET /api/v1/me with DPoP: ${describe(answer)}`);
    spec.request = request;
    // A proof's iat may be 60 s either side of the server's clock: the middle of the run keeps a pool
    // signed just before it valid for runs of up to about 100 s.
    spec.oneUse = (count, seconds) => {
      const iat = Math.floor(Date.now() / 1000 + seconds / 2);
      const more = () => ({ headers: { dpop: dpopProof(keys.dpop, { ...proof, iat }) } });
      return { pool: Array.from({ length: count }, more), more };
    };
  });

  for (const alg of ASSERTION_ALGORITHMS) {
    await guard(`token-${alg}`, async (spec) => {
      check(keyClientId !== null, 'the target has no client with keys');
      const form = (lifetimeSeconds: number) =>
        new URLSearchParams({
          grant_type: 'client_credentials',
          client_assertion_type: JWT_BEARER,
          client_assertion: clientAssertion(keys.assertion[alg], { clientId: keyClientId, audience: issuer, lifetimeSeconds }),
        }).toString();
      const request: LoadRequest = { url: `${url}/oauth/token`, method: 'POST', headers: { 'content-type': FORM } };
      const answer = await send({ ...request, body: form(60) });
      check(
        answer.status === 200 && typeof field(answer.body, 'access_token') === 'string',
        `token request with private_key_jwt (${alg}): ${describe(answer)}`,
      );
      spec.request = request;
      // Valid through the run and a minute more; the server allows at most 5 minutes.
      spec.oneUse = (count, seconds) => {
        const more = () => ({ body: form(Math.min(300, Math.ceil(seconds) + 60)) });
        return { pool: Array.from({ length: count }, more), more };
      };
    });
  }

  await guard('graphql', async (spec) => {
    const request: LoadRequest = { url: `${url}/graphql`, method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: GRAPHQL_ME };
    const answer = await send(request);
    if (answer.status === 404) {
      spec.notApplicable = 'POST /graphql answers 404: not built yet';
      return;
    }
    check(answer.status === 200 && field(field(field(answer.body, 'data'), 'me'), 'id') === clientId, `POST /graphql { me { id } }: ${describe(answer)}`);
    spec.request = request;
  });

  await guard('first-page', async (spec) => {
    const request: LoadRequest = { url: `${url}/api/v1/clients?limit=50`, headers: auth };
    const answer = await send(request);
    const items = field(answer.body, 'items');
    check(answer.status === 200 && Array.isArray(items) && items.length === 50, `first page: ${describe(answer)}`);
    check(field(answer.body, 'total') === clients, `first page: total ${String(field(answer.body, 'total'))}, expected ${clients}`);
    spec.request = request;
  });

  await guard('deep-page', async (spec) => {
    // The cursor after the first 90% (90,000 of 100,000), found by walking there once with limit 200.
    const position = Math.floor((settings.clients * 0.9) / 200) * 200;
    const started = Date.now();
    let cursor: string | null = null;
    for (let seen = 0; seen < position; seen += 200) {
      const answer = await send({ url: `${url}/api/v1/clients?limit=200${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`, headers: auth });
      const items = field(answer.body, 'items');
      const next = field(answer.body, 'nextCursor');
      check(
        answer.status === 200 && Array.isArray(items) && items.length === 200 && typeof next === 'string',
        `walking to ${position} at ${seen}: ${describe(answer)}`,
      );
      cursor = next;
    }
    log(`koios ${dialect}: walked to the cursor after ${thousands(position)} clients in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const request: LoadRequest = { url: `${url}/api/v1/clients?limit=50&cursor=${encodeURIComponent(cursor!)}`, headers: auth };
    const answer = await send(request);
    const items = field(answer.body, 'items');
    check(answer.status === 200 && Array.isArray(items) && items.length === 50, `deep page: ${describe(answer)}`);
    spec.request = request;
  });
}

async function prepareOidc(oidc: TargetProcess<OidcInfo>, spec: Spec | undefined, format: 'jwt' | 'opaque'): Promise<void> {
  if (spec === undefined) return;
  try {
    const request = tokenRequest(`${oidc.info.url}${oidc.info.tokenPath}`, oidc.info.clientId, oidc.info.clientSecret);
    const token = await fetchToken(request);
    const header = jwtHeader(token);
    if (format === 'jwt') check(header?.['alg'] === 'EdDSA' && header['typ'] === 'at+jwt', `expected an EdDSA at+jwt, got ${JSON.stringify(header)}`);
    else check(header === null, 'expected an opaque token, got a JWT');
    spec.request = request;
  } catch (error) {
    spec.failed = (error as Error).message;
  }
}

async function prepareBare(target: TargetProcess<Record<string, unknown>>, spec: Spec | undefined, post = false): Promise<void> {
  if (spec === undefined) return;
  try {
    // POST: the GraphQL row's body, which the bare route parses and ignores (the transport work alone).
    const request: LoadRequest = post
      ? { url: `${target.info.url}/json`, method: 'POST', headers: { 'content-type': 'application/json' }, body: GRAPHQL_ME }
      : { url: `${target.info.url}/json` };
    const answer = await send(request);
    check(answer.status === 200 && field(answer.body, 'hello') === 'world', `GET /json: ${describe(answer)}`);
    spec.request = request;
  } catch (error) {
    spec.failed = (error as Error).message;
  }
}

/** The bare token twin (targets/fastify.ts): an EdDSA at+jwt for its one client, and a 401 for a wrong secret. */
async function prepareBareToken(target: TargetProcess<OidcInfo>, spec: Spec | undefined): Promise<void> {
  if (spec === undefined) return;
  try {
    const url = `${target.info.url}${target.info.tokenPath}`;
    const request = tokenRequest(url, target.info.clientId, target.info.clientSecret);
    const header = jwtHeader(await fetchToken(request));
    check(header?.['alg'] === 'EdDSA' && header['typ'] === 'at+jwt', `expected an EdDSA at+jwt, got ${JSON.stringify(header)}`);
    const wrong = await send(tokenRequest(url, target.info.clientId, `${target.info.clientSecret.slice(0, -1)}x`));
    check(wrong.status === 401, `a wrong secret: ${describe(wrong)}`);
    spec.request = request;
  } catch (error) {
    spec.failed = (error as Error).message;
  }
}

/** The bare first-page twin (targets/fastify-page.ts) must answer the page Koios answers, item for item. */
async function prepareBarePage(target: TargetProcess<Record<string, unknown>>, koiosUrl: string, auth: Record<string, string>, spec: Spec): Promise<void> {
  try {
    const request: LoadRequest = { url: `${target.info.url}/clients` };
    const [bare, koios] = await Promise.all([send(request), send({ url: `${koiosUrl}/api/v1/clients?limit=50`, headers: auth })]);
    check(bare.status === 200, `GET /clients: ${describe(bare)}`);
    const ids = (answer: Answer) => (field(answer.body, 'items') as Json[] | undefined)?.map((item) => item['id']).join(',');
    check(ids(bare) === ids(koios) && ids(bare)?.split(',').length === 50, 'the bare page lists other clients than Koios’s first page');
    check(field(bare.body, 'total') === field(koios.body, 'total'), `total ${String(field(bare.body, 'total'))}, Koios ${String(field(koios.body, 'total'))}`);
    check(field(bare.body, 'nextCursor') === field(koios.body, 'nextCursor'), 'the bare page’s cursor differs from Koios’s');
    spec.request = request;
  } catch (error) {
    spec.failed = (error as Error).message;
  }
}

/** A temporary database for one Koios target, dropped by the clean-up even if the bench fails. */
export function koiosDatabase(dialect: Dialect, pgUrl: string | null): Record<string, string> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'koios-bench-http-'));
    onCleanUp(async () => rmSync(dir, { recursive: true, force: true }));
    return { BENCH_KOIOS_DIALECT: 'sqlite', BENCH_KOIOS_SQLITE_PATH: join(dir, 'koios.db') };
  }
  const schema = `bench_http_${randomBytes(6).toString('hex')}`;
  onCleanUp(async () => {
    const client = new pg.Client({ connectionString: pgUrl!, connectionTimeoutMillis: 5000 });
    await client.connect();
    try {
      await client.query(`drop schema if exists ${schema} cascade`);
    } finally {
      await client.end();
    }
  });
  return { BENCH_KOIOS_DIALECT: 'postgres', BENCH_KOIOS_PG_URL: pgUrl!, BENCH_KOIOS_PG_SCHEMA: schema };
}

export async function httpBench(options: HttpBenchOptions): Promise<HttpBenchResult> {
  const { log } = options;
  const settings = httpSettings();
  const wants = (group: Group) => options.only === undefined || options.only.has(group);
  const dialects: Dialect[] = options.pgUrl === null ? ['sqlite'] : ['sqlite', 'postgres'];
  const failures: string[] = [];
  const count = thousands(settings.clients + 1);

  // Rows in table order; each round runs them in this order, so the targets alternate.
  const specs = new Map<string, Spec>();
  const add = (key: string, group: Group, label: string, twin?: string) => {
    if (wants(group)) specs.set(key, { key, group, label, samples: [], warmUp: [], ...(twin === undefined ? {} : { twin }) });
  };
  for (const dialect of dialects) {
    add(`koios-${dialect}:token`, 'token', `koios ${dialect}: POST /oauth/token`);
    for (const alg of ASSERTION_ALGORITHMS) {
      add(`koios-${dialect}:token-${alg}`, 'token', `koios ${dialect}: POST /oauth/token, private_key_jwt ${alg}`, `koios-${dialect}:token`);
    }
  }
  add('fastify:token', 'token', 'bare Fastify: POST /token, the same work');
  add('oidc-jwt:token', 'token', 'oidc-provider JWT (EdDSA): POST /token');
  add('oidc-opaque:token', 'token', 'oidc-provider opaque: POST /token');
  for (const dialect of dialects) {
    add(`koios-${dialect}:me`, 'me', `koios ${dialect}: GET /api/v1/me`);
    add(`koios-${dialect}:me-dpop`, 'me', `koios ${dialect}: GET /api/v1/me, DPoP ES256`, `koios-${dialect}:me`);
  }
  for (const dialect of dialects) add(`koios-${dialect}:graphql`, 'graphql', `koios ${dialect}: POST /graphql { me { id } }`);
  for (const dialect of dialects) add(`koios-${dialect}:first-page`, 'pages', `koios ${dialect}: GET /api/v1/clients?limit=50, first of ${count}`);
  for (const dialect of dialects) add(`bare-page-${dialect}:first-page`, 'pages', `bare Fastify ${dialect}: the same 51 rows, one prepared statement`);
  for (const dialect of dialects) add(`koios-${dialect}:deep-page`, 'pages', `koios ${dialect}: GET /api/v1/clients?limit=50, after 90%`);
  add('fastify:json', 'bare', 'bare Fastify: GET /json');
  add('fastify:post-json', 'bare', 'bare Fastify: POST /json, the GraphQL body');
  add('node-http:json', 'bare', 'bare node:http: GET /json');

  const needsKoios = wants('token') || wants('me') || wants('graphql') || wants('pages');
  const keys: BenchKeys = {
    assertion: { ES256: benchKey('ES256', 'bench-es256'), EdDSA: benchKey('EdDSA', 'bench-ed25519') },
    dpop: benchKey('ES256', 'bench-dpop'),
  };
  log(
    `http: ${settings.rounds} round(s) of ${settings.seconds} s per scenario after a ${settings.warmUpSeconds} s warm-up, ${CONNECTIONS} connections, ` +
      `Koios logging at ${settings.koiosLogLevel}${settings.koiosNodeArgs.length > 0 ? `, Koios node ${settings.koiosNodeArgs.join(' ')}` : ''}`,
  );

  // Start every target at once (the Koios ones spend their first seconds inserting clients).
  const koiosTargets: TargetProcess<KoiosInfo>[] = [];
  const started = Date.now();
  const starts: Promise<void>[] = [];
  const failAll = (prefix: string, error: unknown) => {
    for (const spec of specs.values()) if (spec.key.startsWith(prefix)) spec.failed = `did not start: ${(error as Error).message}`;
  };
  if (needsKoios) {
    buildServer(log);
    for (const dialect of dialects) {
      const database = koiosDatabase(dialect, options.pgUrl);
      starts.push(
        startTarget<KoiosInfo>(
          `koios ${dialect}`,
          'koios',
          {
            ...database,
            BENCH_KOIOS_CLIENTS: String(settings.clients),
            KOIOS_LOG_LEVEL: settings.koiosLogLevel,
            BENCH_KOIOS_CLIENT_KEYS: JSON.stringify(ASSERTION_ALGORITHMS.map((alg) => keys.assertion[alg].publicJwk)),
          },
          settings.koiosNodeArgs,
        ).then(
          async (koios) => {
            koiosTargets.push(koios);
            log(
              `koios ${dialect}: ready with ${thousands(koios.info.clients)} clients after ${((Date.now() - started) / 1000).toFixed(1)} s (pid ${koios.pid})`,
            );
            await prepareKoios(koios, specs, settings, keys, log);
            // The first page's twin reads the database this Koios target seeded, once it is there.
            const twin = specs.get(`bare-page-${dialect}:first-page`);
            if (twin === undefined) return;
            try {
              const bearer = await fetchToken(tokenRequest(`${koios.info.url}/oauth/token`, koios.info.clientId, koios.info.clientSecret));
              const bare = await startTarget(`bare page ${dialect}`, 'fastify-page', database);
              await prepareBarePage(bare, koios.info.url, { authorization: `Bearer ${bearer}` }, twin);
            } catch (error) {
              twin.failed = (error as Error).message;
            }
          },
          (error: unknown) => {
            failAll(`koios-${dialect}:`, error);
            failAll(`bare-page-${dialect}:`, error);
          },
        ),
      );
    }
  }
  if (wants('token')) {
    for (const format of ['jwt', 'opaque'] as const) {
      starts.push(
        startTarget<OidcInfo>(`oidc-provider ${format}`, 'oidc', { BENCH_OIDC_FORMAT: format }).then(
          (oidc) => prepareOidc(oidc, specs.get(`oidc-${format}:token`), format),
          (error: unknown) => failAll(`oidc-${format}:`, error),
        ),
      );
    }
  }
  if (wants('bare') || wants('token')) {
    starts.push(
      startTarget<OidcInfo>('fastify', 'fastify', {}).then(
        (target) =>
          Promise.all([
            prepareBare(target, specs.get('fastify:json')),
            prepareBare(target, specs.get('fastify:post-json'), true),
            prepareBareToken(target, specs.get('fastify:token')),
          ]).then(() => undefined),
        (error: unknown) => failAll('fastify:', error),
      ),
    );
  }
  if (wants('bare')) {
    starts.push(
      startTarget('node-http', 'node-http', {}).then(
        (target) => prepareBare(target, specs.get('node-http:json')),
        (error: unknown) => failAll('node-http:', error),
      ),
    );
  }
  await Promise.all(starts);
  log(`http: targets started and checked in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const runnable = () => [...specs.values()].filter((spec) => spec.request !== undefined && spec.failed === undefined && spec.notApplicable === undefined);
  /**
   * A row whose requests each carry a one-use proof or assertion gets them signed here, before its
   * timed window, by node:crypto in this process: signing in the window would load the generator
   * and measure it. The pool holds twice what the row's fastest run so far (before its first, its
   * twin's last, a faster bearer or secret row) answered in as many seconds; on a shared machine a
   * run can still outlast it, and then signs the rest itself and says so.
   */
  const oneUseParts = (spec: Spec, seconds: number): OneUseParts | undefined => {
    if (spec.oneUse === undefined) return undefined;
    const own = [...spec.warmUp, ...spec.samples].map((sample) => sample.rps);
    const twin = spec.twin === undefined ? undefined : specs.get(spec.twin);
    const rate = own.length > 0 ? Math.max(...own) : ((twin === undefined ? undefined : [...twin.warmUp, ...twin.samples].at(-1)?.rps) ?? 20_000);
    return spec.oneUse(Math.ceil(rate * seconds * 2) + 2000, seconds);
  };
  const measure = async (spec: Spec, seconds: number, into: LoadSample[]) => {
    try {
      const sample = await load(spec.request!, seconds, oneUseParts(spec, seconds));
      into.push(sample);
      if (sample.signedDuringRun > 0) log(`http: ${spec.key}: the pool ran out; ${thousands(sample.signedDuringRun)} signed during the run`);
      return sample;
    } catch (error) {
      spec.failed = `autocannon: ${(error as Error).message}`;
      return undefined;
    }
  };

  if (settings.warmUpSeconds > 0) {
    for (const spec of runnable()) await measure(spec, settings.warmUpSeconds, spec.warmUp);
  }
  for (let round = 1; round <= settings.rounds; round++) {
    const parts: string[] = [];
    for (const spec of runnable()) {
      const sample = await measure(spec, settings.seconds, spec.samples);
      if (sample !== undefined) parts.push(`${spec.key} ${thousands(sample.rps)}`);
    }
    log(`http: round ${round}/${settings.rounds}: ${parts.join(', ')} req/s`);
  }

  // The server's memory after every run: what it holds on to, not a peak.
  const rss = new Map<Dialect, number | null>();
  for (const koios of koiosTargets) rss.set(koios.info.dialect, koios.rssBytes());

  const rows: TableRow[] = [];
  const rps = new Map<string, number>();
  for (const spec of specs.values()) {
    const all = [...spec.warmUp, ...spec.samples];
    const errors = all.reduce((sum, sample) => sum + sample.errors, 0);
    const non2xx = all.reduce((sum, sample) => sum + sample.non2xx, 0);
    if (spec.notApplicable !== undefined) {
      rows.push({ label: spec.label, rps: 'n/a', p50: 'n/a', p99: 'n/a', errors: 'n/a', non2xx: 'n/a' });
      continue;
    }
    if (spec.failed !== undefined || spec.samples.length === 0) {
      failures.push(`${spec.label}: ${spec.failed ?? 'no measurement'}`);
      rows.push({ label: spec.label, rps: 'FAILED', p50: '', p99: '', errors: String(errors), non2xx: String(non2xx) });
      continue;
    }
    if (errors > 0 || non2xx > 0) {
      const statuses: Record<string, number> = {};
      for (const sample of all) for (const [code, n] of Object.entries(sample.statuses)) statuses[code] = (statuses[code] ?? 0) + n;
      failures.push(`${spec.label}: ${errors} error(s), ${non2xx} non-2xx answer(s) under load (status codes: ${JSON.stringify(statuses)})`);
    }
    const medianRps = median(spec.samples.map((sample) => sample.rps));
    rps.set(spec.key, medianRps);
    rows.push({
      label: spec.label,
      rps: thousands(medianRps),
      p50: median(spec.samples.map((sample) => sample.p50)).toFixed(1),
      p99: median(spec.samples.map((sample) => sample.p99)).toFixed(1),
      errors: String(errors),
      non2xx: String(non2xx),
    });
  }

  const verdicts: Verdict[] = [];
  const ratio = (what: string, numerator: string, denominator: string, min: number, target: string) => {
    const top = rps.get(numerator);
    const bottom = rps.get(denominator);
    if (!specs.has(numerator) || !specs.has(denominator)) return;
    if (top === undefined || bottom === undefined || bottom === 0) {
      verdicts.push({ what, value: '—', target, verdict: 'n/a' });
      return;
    }
    const value = top / bottom;
    verdicts.push({ what, value: `${value.toFixed(2)}×`, target, verdict: Number.isNaN(min) ? 'info' : value >= min ? 'met' : 'MISSED' });
  };
  for (const dialect of dialects) {
    const k = (name: string) => `koios-${dialect}:${name}`;
    ratio(`${dialect}: token issuance ÷ bare Fastify, the same work`, k('token'), 'fastify:token', TWIN_TARGETS.token, `≥ ${TWIN_TARGETS.token}×`);
    ratio(
      `${dialect}: first page of ${count} ÷ bare Fastify, the same 51 rows`,
      k('first-page'),
      `bare-page-${dialect}:first-page`,
      TWIN_TARGETS.firstPage,
      `≥ ${TWIN_TARGETS.firstPage}×`,
    );
    ratio(`${dialect}: GraphQL { me { id } } ÷ bare Fastify`, k('graphql'), 'fastify:json', 0.7, '≥ 0.7×');
    // Beside it, against the same transport: a POST whose JSON body is parsed, which a GET does not pay.
    ratio(`${dialect}: GraphQL { me { id } } ÷ bare Fastify POST /json`, k('graphql'), 'fastify:post-json', NaN, '');
    ratio(`${dialect}: GET /api/v1/me ÷ bare Fastify`, k('me'), 'fastify:json', 0.9, '≥ 0.9× (stretch)');
    ratio(`${dialect}: token issuance ÷ oidc-provider JWT`, k('token'), 'oidc-jwt:token', 3, '≥ 3× (stretch)');
    ratio(`${dialect}: first page of ${count} ÷ bare Fastify GET /json`, k('first-page'), 'fastify:json', NaN, '');
    ratio(`${dialect}: deep page ÷ first page`, k('deep-page'), k('first-page'), 1 / 1.5, '≥ 0.67× (within 1.5×)');
    if (rss.has(dialect)) {
      const bytes = rss.get(dialect) ?? null;
      verdicts.push(
        bytes === null
          ? { what: `${dialect}: server RSS after all runs`, value: '—', target: '< 250 MB', verdict: 'n/a' }
          : {
              what: `${dialect}: server RSS after all runs`,
              value: `${(bytes / 1024 / 1024).toFixed(0)} MB`,
              target: '< 250 MB',
              verdict: bytes < 250 * 1024 * 1024 ? 'met' : 'MISSED',
            },
      );
    }
  }
  for (const dialect of dialects) {
    const k = (name: string) => `koios-${dialect}:${name}`;
    ratio(`${dialect}: GET /api/v1/me, DPoP ES256 ÷ bearer`, k('me-dpop'), k('me'), NaN, '');
    for (const alg of ASSERTION_ALGORITHMS) ratio(`${dialect}: token, private_key_jwt ${alg} ÷ client_secret_basic`, k(`token-${alg}`), k('token'), NaN, '');
  }
  for (const dialect of dialects) ratio(`${dialect}: token issuance ÷ oidc-provider opaque`, `koios-${dialect}:token`, 'oidc-opaque:token', NaN, '');
  ratio('oidc-provider opaque ÷ JWT', 'oidc-opaque:token', 'oidc-jwt:token', NaN, '');
  ratio('bare node:http ÷ bare Fastify', 'node-http:json', 'fastify:json', NaN, '');
  ratio('bare Fastify POST /json ÷ GET /json', 'fastify:post-json', 'fastify:json', NaN, '');
  return { rows, verdicts, failures };
}
