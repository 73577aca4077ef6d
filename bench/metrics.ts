import type { FastifyInstance } from 'fastify';
import { SYSTEM_ACTOR } from '../src/server/actor.js';
import { createApp } from '../src/server/app.js';
import { loadConfig } from '../src/server/config.js';
import { createLogger } from '../src/server/logger.js';
import type { BenchContext, BenchResult } from './pagination.js';

/**
 * What timing every request costs: the token and `/me` paths through two apps over the same
 * services and database, one built with the metrics on (KOIOS_METRICS_PORT set: the onResponse
 * hook observes each request's duration) and one without, measured in one process, alternately,
 * with `app.inject` (no network). Each sample is the CPU time of this process (every thread:
 * token signatures run on libuv's pool) per call, over a batch of CALLS calls, CONCURRENCY at a
 * time; the first WARM_UP_ROUNDS rounds are not kept. CPU time, not wall time: on a machine shared
 * with other jobs the wall time of a call moved fivefold between batches, its CPU time far less.
 * The hook's own work (recording one request into the histogram) is timed alone too.
 */
const ROUNDS = 40;
const WARM_UP_ROUNDS = 4;
const CALLS = 300;
const CONCURRENCY = 16;
/** The hook alone: a sample is the time of this many recordings, so that its milliseconds read as microseconds per request. */
const HOOK_CALLS = 1000;

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

export async function metricsScenario({ dialect, handle, services }: BenchContext): Promise<BenchResult[]> {
  const logger = createLogger('warn');
  const base = { HOST: '127.0.0.1', PORT: '3000', KOIOS_ISSUER: 'http://koios.bench', KOIOS_AUDIENCE: 'http://koios.bench' };
  // The listener itself is not started: only whether requests are timed differs between the two apps.
  const apps = {
    off: await createApp({ config: loadConfig(base), database: handle, services, logger }),
    on: await createApp({ config: loadConfig({ ...base, KOIOS_METRICS_PORT: '9464' }), database: handle, services, logger }),
  };
  try {
    const administrator = await services.roles.resolve(SYSTEM_ACTOR, 'Administrator');
    const { client, clientSecret } = await services.clients.create(SYSTEM_ACTOR, { name: 'Metrics bench', roleId: administrator.id });
    const basic = `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
    const tokenRequest = {
      method: 'POST' as const,
      url: '/oauth/token',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
    };
    const first = await apps.off.inject({ ...tokenRequest, payload: 'grant_type=client_credentials' });
    if (first.statusCode !== 200) throw new Error(`token request: ${first.statusCode} ${first.body.slice(0, 200)}`);
    const bearer = `Bearer ${(first.json() as { access_token: string }).access_token}`;

    const calls: Record<string, Call> = {
      'POST /oauth/token': async (app) => {
        const answer = await app.inject({ ...tokenRequest, payload: 'grant_type=client_credentials' });
        if (answer.statusCode !== 200) throw new Error(`POST /oauth/token: ${answer.statusCode}`);
      },
      'GET /api/v1/me': async (app) => {
        const answer = await app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: bearer } });
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
          const perCall = await batch(apps[variant], call);
          if (round >= WARM_UP_ROUNDS) samples[variant].push(perCall);
        }
      }
      const off = `${path}, CPU per call, metrics off`;
      results.push({ dialect, query: off, samples: samples.off });
      results.push({ dialect, query: `${path}, CPU per call, metrics on`, samples: samples.on, comparedWith: off });
    }

    const hook: number[] = [];
    const statuses = [200, 200, 200, 401];
    for (let round = 0; round < WARM_UP_ROUNDS + ROUNDS; round++) {
      const start = process.cpuUsage();
      for (let i = 0; i < HOOK_CALLS; i++) services.metrics.recordRequest('GET', '/api/v1/me', statuses[i % 4]!, 0.0003);
      const used = process.cpuUsage(start);
      if (round >= WARM_UP_ROUNDS) hook.push((used.user + used.system) / 1000);
    }
    results.push({ dialect, query: `the hook's recording alone, CPU per ${HOOK_CALLS.toLocaleString('en-US')} requests`, samples: hook });
    return results;
  } finally {
    await Promise.all([apps.off.close(), apps.on.close()]);
  }
}
