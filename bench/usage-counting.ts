import type { FastifyInstance } from 'fastify';
import { SYSTEM_ACTOR } from '../src/server/actor.js';
import { createApp } from '../src/server/app.js';
import { loadConfig } from '../src/server/config.js';
import { createLogger } from '../src/server/logger.js';
import type { BenchContext, BenchResult } from './pagination.js';

/**
 * What counting usage costs the hot paths: the token and `/me` paths through one app, with the
 * usage recorder counting and with its counting calls replaced by no-ops, in one process,
 * alternately, with `app.inject` (no network). As in bench/metrics.ts, each sample is this
 * process's CPU time per call over a batch of CALLS calls, CONCURRENCY at a time, the first
 * WARM_UP_ROUNDS rounds not kept: on a shared machine the wall time of a call moves far more than
 * its CPU time. Counting alone is timed too. The recorder writes every 5 seconds meanwhile, as it
 * does in service, so its writes are in the "on" figures.
 */
const ROUNDS = 40;
const WARM_UP_ROUNDS = 4;
const CALLS = 300;
const CONCURRENCY = 16;
/** Counting alone: a sample is the time of this many counts, so that its milliseconds read as microseconds per count. */
const COUNT_CALLS = 1000;

type Call = (app: FastifyInstance) => Promise<void>;

/** CPU milliseconds per call. */
async function batch(app: FastifyInstance, call: Call): Promise<number> {
  let next = 0;
  const worker = async () => {
    while (next < CALLS) {
      next += 1;
      await call(app);
    }
  };
  const start = process.cpuUsage();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000 / CALLS;
}

export async function usageCountingScenario({ dialect, handle, services }: BenchContext): Promise<BenchResult[]> {
  const config = loadConfig({ HOST: '127.0.0.1', PORT: '3000', KOIOS_ISSUER: 'http://koios.bench', KOIOS_AUDIENCE: 'http://koios.bench' });
  const app = await createApp({ config, database: handle, services, logger: createLogger('warn') });
  const recorder = services.usageRecorder;
  const counting = { tokenIssued: recorder.tokenIssued, requested: recorder.requested };
  const setCounting = (on: boolean) => {
    recorder.tokenIssued = on ? counting.tokenIssued : () => undefined;
    recorder.requested = on ? counting.requested : () => undefined;
  };
  try {
    const administrator = await services.roles.resolve(SYSTEM_ACTOR, 'Administrator');
    const { client, clientSecret } = await services.clients.create(SYSTEM_ACTOR, { name: 'Usage bench', roleId: administrator.id });
    const basic = `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
    const tokenRequest = {
      method: 'POST' as const,
      url: '/oauth/token',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'grant_type=client_credentials',
    };
    const first = await app.inject(tokenRequest);
    if (first.statusCode !== 200) throw new Error(`token request: ${first.statusCode} ${first.body.slice(0, 200)}`);
    const bearer = `Bearer ${(first.json() as { access_token: string }).access_token}`;

    const calls: Record<string, Call> = {
      'POST /oauth/token': async (target) => {
        const answer = await target.inject(tokenRequest);
        if (answer.statusCode !== 200) throw new Error(`POST /oauth/token: ${answer.statusCode}`);
      },
      'GET /api/v1/me': async (target) => {
        const answer = await target.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: bearer } });
        if (answer.statusCode !== 200) throw new Error(`GET /api/v1/me: ${answer.statusCode}`);
      },
    };

    const results: BenchResult[] = [];
    for (const [path, call] of Object.entries(calls)) {
      const samples = { off: [] as number[], on: [] as number[] };
      for (let round = 0; round < WARM_UP_ROUNDS + ROUNDS; round++) {
        // Alternate which goes first, so neither always follows the other's garbage.
        const order = round % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const);
        for (const variant of order) {
          setCounting(variant === 'on');
          const perCall = await batch(app, call);
          if (round >= WARM_UP_ROUNDS) samples[variant].push(perCall);
        }
      }
      setCounting(true);
      const off = `${path}, CPU per call, usage counting off`;
      results.push({ dialect, query: off, samples: samples.off });
      results.push({ dialect, query: `${path}, CPU per call, usage counting on`, samples: samples.on, comparedWith: off });
    }

    const counts: number[] = [];
    for (let round = 0; round < WARM_UP_ROUNDS + ROUNDS; round++) {
      const start = process.cpuUsage();
      for (let i = 0; i < COUNT_CALLS; i++) recorder.requested(client.id, 'rest');
      const used = process.cpuUsage(start);
      if (round >= WARM_UP_ROUNDS) counts.push((used.user + used.system) / 1000);
    }
    results.push({ dialect, query: `usage counting alone, CPU per ${COUNT_CALLS.toLocaleString('en-US')} requests`, samples: counts });
    return results;
  } finally {
    setCounting(true);
    await app.close();
  }
}
