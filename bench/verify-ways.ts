import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { EmbeddedJWK, importJWK, jwtVerify, type CryptoKey, type JWK } from 'jose';
import { benchKey, clientAssertion, dpopProof, type BenchKeyAlgorithm } from './signed-requests.js';

/**
 * `npx tsx bench/verify-ways.ts`: how fast DPoP proofs and client assertions verify, three ways,
 * with 50 verifications in flight as under the HTTP bench's 50 connections: jose's `jwtVerify`
 * (WebCrypto, whose verify runs on libuv's thread pool), node:crypto's one-shot `verify` with a
 * callback (also the thread pool, without WebCrypto's promise and argument checking), and the
 * same `verify` without a callback (on the event loop). Ways and algorithms alternate in short
 * rounds so a burst of load on a shared machine hits them alike; prints medians of the rounds:
 * verifications a second and the event loop's CPU a verification (what an HTTP server cannot spend
 * on its other requests).
 *
 * Settings: VERIFY_ROUNDS (15), VERIFY_COUNT (2000 a way a round).
 */
const ROUNDS = Number(process.env['VERIFY_ROUNDS'] ?? 15);
const COUNT = Number(process.env['VERIFY_COUNT'] ?? 2000);
const IN_FLIGHT = 50;

type Way = 'jose' | 'jose-cached' | 'node-callback' | 'node-cached' | 'node-sync';
type Kind = 'dpop' | 'assertion';

interface Parsed {
  readonly input: Buffer;
  readonly signature: Buffer;
  readonly header: Record<string, unknown>;
  readonly payload: Record<string, unknown>;
}

function parse(jws: string): Parsed {
  const [header, payload, signature] = jws.split('.') as [string, string, string];
  return {
    input: Buffer.from(`${header}.${payload}`),
    signature: Buffer.from(signature, 'base64url'),
    header: JSON.parse(Buffer.from(header, 'base64url').toString()) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>,
  };
}

const nodeOptions = (alg: BenchKeyAlgorithm, key: KeyObject) => ({
  digest: alg === 'ES256' ? 'sha256' : null,
  key: { key, dsaEncoding: 'ieee-p1363' as const },
});

function verifyNode(alg: BenchKeyAlgorithm, jws: string, key: KeyObject | null, callback: boolean): Promise<void> {
  const { input, signature, header } = parse(jws);
  // A DPoP proof brings its key; a client's assertion key is imported once and kept.
  const publicKey = key ?? createPublicKey({ key: header['jwk'] as import('node:crypto').JsonWebKey, format: 'jwk' });
  const { digest, key: options } = nodeOptions(alg, publicKey);
  if (!callback) {
    if (!verify(digest, input, { ...options, key: publicKey }, signature)) throw new Error('bad signature');
    return Promise.resolve();
  }
  return new Promise((resolve, reject) =>
    verify(digest, input, { ...options, key: publicKey }, signature, (error, ok) =>
      error !== null ? reject(error) : ok ? resolve() : reject(new Error('bad signature')),
    ),
  );
}

async function run(jobs: readonly (() => Promise<unknown>)[]): Promise<{ perSecond: number; loopMicros: number; cpuMicros: number }> {
  let next = 0;
  const cpu = process.cpuUsage();
  const loop = performance.eventLoopUtilization();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < jobs.length) await jobs[next++]!();
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const busy = performance.eventLoopUtilization(loop);
  const used = process.cpuUsage(cpu);
  return { perSecond: jobs.length / seconds, loopMicros: (busy.active * 1000) / jobs.length, cpuMicros: (used.user + used.system) / jobs.length };
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const algorithms: BenchKeyAlgorithm[] = ['ES256', 'EdDSA'];
  const ways: Way[] = ['jose', 'jose-cached', 'node-callback', 'node-cached', 'node-sync'];
  const keys = Object.fromEntries(algorithms.map((alg) => [alg, benchKey(alg, `verify-${alg}`)])) as Record<BenchKeyAlgorithm, ReturnType<typeof benchKey>>;
  const joseKeys = Object.fromEntries(await Promise.all(algorithms.map(async (alg) => [alg, await importJWK(keys[alg].publicJwk as JWK, alg)]))) as Record<
    BenchKeyAlgorithm,
    CryptoKey
  >;
  const nodeKeys = Object.fromEntries(algorithms.map((alg) => [alg, createPublicKey({ key: keys[alg].publicJwk, format: 'jwk' })])) as Record<
    BenchKeyAlgorithm,
    KeyObject
  >;
  const signed = (kind: Kind, alg: BenchKeyAlgorithm) =>
    Array.from({ length: COUNT }, () =>
      kind === 'dpop'
        ? dpopProof(keys[alg], { htm: 'GET', htu: 'http://koios.bench/api/v1/me', ath: 'x' })
        : clientAssertion(keys[alg], { clientId: 'bench', audience: 'http://koios.bench', lifetimeSeconds: 60 }),
    );
  // "cached": a DPoP proof's key imported once, as a client sends the same key with every proof
  // (an assertion's key is always imported once, with the client's state).
  const job = (way: Way, kind: Kind, alg: BenchKeyAlgorithm, jws: string) => (): Promise<unknown> => {
    if (way === 'jose' || way === 'jose-cached') {
      return kind === 'dpop'
        ? jwtVerify(jws, way === 'jose' ? EmbeddedJWK : joseKeys[alg], { typ: 'dpop+jwt', algorithms: [alg] })
        : jwtVerify(jws, joseKeys[alg], { algorithms: [alg], issuer: 'bench', audience: 'http://koios.bench' });
    }
    return verifyNode(alg, jws, kind === 'dpop' && way === 'node-callback' ? null : nodeKeys[alg], way !== 'node-sync');
  };

  const samples = new Map<string, { perSecond: number[]; loopMicros: number[]; cpuMicros: number[] }>();
  for (let round = 0; round <= ROUNDS; round += 1) {
    for (const kind of ['dpop', 'assertion'] as const) {
      for (const alg of algorithms) {
        const order = round % 2 === 0 ? ways : [...ways].reverse();
        for (const way of order) {
          const jobs = signed(kind, alg).map((jws) => job(way, kind, alg, jws));
          const result = await run(jobs);
          if (round === 0) continue; // warm-up
          const key = `${kind} ${alg} ${way}`;
          const entry = samples.get(key) ?? { perSecond: [], loopMicros: [], cpuMicros: [] };
          entry.perSecond.push(result.perSecond);
          entry.loopMicros.push(result.loopMicros);
          entry.cpuMicros.push(result.cpuMicros);
          samples.set(key, entry);
        }
      }
    }
  }
  process.stdout.write(
    `${ROUNDS} rounds of ${COUNT} verifications a way, ${IN_FLIGHT} in flight, UV_THREADPOOL_SIZE ${process.env['UV_THREADPOOL_SIZE'] ?? 4}\n`,
  );
  for (const [key, { perSecond, loopMicros, cpuMicros }] of [...samples].sort(([a], [b]) => a.localeCompare(b))) {
    const jose = samples.get(key.replace(/\S+$/, 'jose'))!;
    const ratios = perSecond.map((value, round) => value / jose.perSecond[round]!);
    process.stdout.write(
      `${key.padEnd(30)} ${median(perSecond).toFixed(0).padStart(7)}/s  event loop ${median(loopMicros).toFixed(1).padStart(6)} µs, CPU ${median(cpuMicros).toFixed(1).padStart(6)} µs each  ÷ jose ${median(ratios).toFixed(2)}×\n`,
    );
  }
}

await main();
