import type { FastifyInstance } from 'fastify';
import { SYSTEM_ACTOR } from '../src/server/actor.js';
import { createApp } from '../src/server/app.js';
import { loadConfig } from '../src/server/config.js';
import { createLogger } from '../src/server/logger.js';
import type { BenchContext, BenchResult } from './pagination.js';
import { benchKey, dpopProof } from './signed-requests.js';

/**
 * What accepting a token request's DPoP proof once across instances costs: `POST /oauth/token`
 * with a fresh proof per call, its jti recorded in the database (as in service) and kept in this
 * instance's memory only (the record replaced by a no-op), alternately in one process through
 * `app.inject`, beside the same request without a proof. As in bench/usage-counting.ts, a sample
 * is a batch of CALLS calls, CONCURRENCY at a time, the first WARM_UP_ROUNDS not kept; both the
 * CPU time and the wall time per call are kept, since a PostgreSQL write is mostly a wait.
 * Proofs are signed before each batch, outside the timing.
 */
const ROUNDS = 20;
const WARM_UP_ROUNDS = 3;
const CALLS = 300;
const CONCURRENCY = 16;

type Variant = 'bearer' | 'memory' | 'database';
type Call = (app: FastifyInstance, proof: string | undefined) => Promise<void>;

async function batch(app: FastifyInstance, call: Call, proofs: readonly (string | undefined)[]): Promise<{ cpu: number; wall: number }> {
  let next = 0;
  const worker = async () => {
    while (next < CALLS) {
      const proof = proofs[next];
      next += 1;
      await call(app, proof);
    }
  };
  const cpuStart = process.cpuUsage();
  const wallStart = process.hrtime.bigint();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const used = process.cpuUsage(cpuStart);
  return { cpu: (used.user + used.system) / 1000 / CALLS, wall: Number(process.hrtime.bigint() - wallStart) / 1e6 / CALLS };
}

export async function dpopJtisScenario({ dialect, handle, services }: BenchContext): Promise<BenchResult[]> {
  const config = loadConfig({ HOST: '127.0.0.1', PORT: '3000', KOIOS_ISSUER: 'http://koios.bench', KOIOS_AUDIENCE: 'http://koios.bench' });
  const app = await createApp({ config, database: handle, services, logger: createLogger('warn') });
  const record = services.dpopJtis.accept;
  const setRecording = (on: boolean) => {
    services.dpopJtis.accept = on ? record : async () => true;
  };
  try {
    const administrator = await services.roles.resolve(SYSTEM_ACTOR, 'Administrator');
    const { client, clientSecret } = await services.clients.create(SYSTEM_ACTOR, { name: 'DPoP bench', roleId: administrator.id });
    const basic = `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
    const key = benchKey('ES256', 'bench-dpop');
    const signProofs = (count: number) => Array.from({ length: count }, () => dpopProof(key, { htm: 'POST', htu: `${config.issuer}/oauth/token` }));
    const call: Call = async (target, proof) => {
      const answer = await target.inject({
        method: 'POST',
        url: '/oauth/token',
        headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded', ...(proof === undefined ? {} : { dpop: proof }) },
        payload: 'grant_type=client_credentials',
      });
      if (answer.statusCode !== 200) throw new Error(`POST /oauth/token: ${answer.statusCode} ${answer.body.slice(0, 200)}`);
    };

    const samples: Record<Variant, { cpu: number[]; wall: number[] }> = {
      bearer: { cpu: [], wall: [] },
      memory: { cpu: [], wall: [] },
      database: { cpu: [], wall: [] },
    };
    const variants: Variant[] = ['bearer', 'memory', 'database'];
    for (let round = 0; round < WARM_UP_ROUNDS + ROUNDS; round++) {
      // Rotate which goes first, so that none always follows another's garbage.
      const order = variants.map((_, index) => variants[(index + round) % variants.length]!);
      for (const variant of order) {
        setRecording(variant === 'database');
        const proofs = variant === 'bearer' ? new Array<undefined>(CALLS).fill(undefined) : signProofs(CALLS);
        const measured = await batch(app, call, proofs);
        if (round >= WARM_UP_ROUNDS) {
          samples[variant].cpu.push(measured.cpu);
          samples[variant].wall.push(measured.wall);
        }
      }
    }
    const label = (variant: Variant, what: string) =>
      `POST /oauth/token, ${what} per call, ${variant === 'bearer' ? 'no DPoP proof' : variant === 'memory' ? 'DPoP, jti in memory only' : 'DPoP, jti also recorded in the database'}`;
    const results: BenchResult[] = [];
    for (const [what, key] of [
      ['CPU', 'cpu'],
      ['wall time', 'wall'],
    ] as const) {
      results.push({ dialect, query: label('bearer', what), samples: samples.bearer[key] });
      results.push({ dialect, query: label('memory', what), samples: samples.memory[key], comparedWith: label('bearer', what) });
      results.push({ dialect, query: label('database', what), samples: samples.database[key], comparedWith: label('memory', what) });
    }
    return results;
  } finally {
    setRecording(true);
    await app.close();
  }
}
