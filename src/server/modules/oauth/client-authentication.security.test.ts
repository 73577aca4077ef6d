import { randomUUID } from 'node:crypto';
import type { KyselyPlugin } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../actor.js';
import { createTestDatabase, createTestServices, testDialects, type TestDatabase } from '../../../../test/support/databases.js';
import type { Services } from '../../services.js';

const TRIES = 300;
const NEVER_THROTTLED = { perClient: 1_000_000, perAddress: 1_000_000, windowSeconds: 3600 };
/** Work that runs beside requests, not because of one: the change feed's catch-up and heartbeat, coalesced failure and usage counts. */
const BACKGROUND = /change_events|client_auth_failures|client_usage|client_refusals|pg_notify|^select 1$/i;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

describe.each(testDialects())('a known client id with a wrong secret and an unknown id on %s', (dialect) => {
  let database: TestDatabase;
  let services: Services;
  let statements: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    const base = database.handle.db;
    // Every statement the services send, as SQL text (parameters aside).
    const recorder: KyselyPlugin = {
      transformQuery(args) {
        statements.push(base.getExecutor().compileQuery(args.node, args.queryId).sql);
        return args.node;
      },
      transformResult: async (args) => args.result,
    };
    services = await createTestServices(database, { database: { ...database.handle, db: base.withPlugin(recorder) }, throttleLimits: NEVER_THROTTLED });
  });
  afterAll(async () => {
    await services.stop();
    await database.drop();
  });

  it('do the same work, statement for statement, with nothing cached, and take the same time within noise', async () => {
    const { client } = await services.clients.create(SYSTEM_ACTOR, { name: 'exists' });
    const unknownId = randomUUID();
    const attempt = async (clientId: string) => {
      services.clientStates.clear();
      statements = [];
      let hmacs = 0;
      let hashes = 0;
      const matchesAny = services.hasher.matchesAny;
      services.hasher.matchesAny = (presented, stored) => {
        hmacs += 1;
        hashes += stored.length;
        return matchesAny(presented, stored);
      };
      const started = process.hrtime.bigint();
      const error = await services.tokens
        .authenticateClient({ clientId, clientSecret: 'koios_cs_not-the-secret-of-anyone-at-all-000000', usedBasic: false }, '203.0.113.1')
        .then(
          () => null,
          (refusal: unknown) => refusal,
        );
      const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
      services.hasher.matchesAny = matchesAny;
      return { error, elapsedMs, hmacs, hashes, work: statements.filter((text) => !BACKGROUND.test(text.trim())) };
    };

    // Warm both paths once (first statements are prepared, first rows created), then interleave.
    await attempt(client.id);
    await attempt(unknownId);
    // A client in a rotation overlap holds two real hashes; it must cost the same one HMAC.
    const { client: rotating } = await services.clients.create(SYSTEM_ACTOR, { name: 'rotating' });
    await services.clients.regenerateSecret(SYSTEM_ACTOR, rotating.id, { keepPreviousFor: 3600 });
    const duringRotation = await attempt(rotating.id);
    const known: Awaited<ReturnType<typeof attempt>>[] = [];
    const unknown: Awaited<ReturnType<typeof attempt>>[] = [];
    for (let n = 0; n < TRIES / 2; n += 1) {
      known.push(await attempt(client.id));
      unknown.push(await attempt(unknownId));
    }

    for (const result of [...known, ...unknown, duringRotation]) {
      expect((result.error as { error?: string }).error).toBe('invalid_client');
      // One HMAC, compared with the current secret and the previous one (or a dummy), whether or not the client exists or rotates.
      expect(result.hmacs).toBe(1);
      expect(result.hashes).toBe(2);
    }
    const shapes = new Set([...known, ...unknown].map((result) => JSON.stringify(result.work)));
    expect(shapes.size, [...shapes].join('\n')).toBe(1);
    expect(known[0]!.work.filter((text) => /api_clients/.test(text))).toHaveLength(1);

    // The same statements make the same time; a loose ceiling, medians of interleaved tries.
    const knownMs = median(known.map((result) => result.elapsedMs));
    const unknownMs = median(unknown.map((result) => result.elapsedMs));
    expect(Math.max(knownMs, unknownMs) / Math.min(knownMs, unknownMs)).toBeLessThan(2);
  });
});
