import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../actor.js';
import { testDialects } from '../../../test/support/databases.js';
import { graphqlClient, postGraphql } from '../../../test/support/graphql.js';
import { actorWith } from '../../../test/support/oauth.js';
import { startTestServer, type TestServer } from '../../../test/support/server.js';
import { QUERY_LIMITS } from './limits.js';

/**
 * Introspection reads no database, but its answers are large: 16 aliased `__schema` in each of
 * 10 batched operations, from a client with no permission at all, made a 7 MiB answer and stalled
 * every other request for seconds. It counts toward every limit like any selection, a batch's
 * operations share one budget, and no answer over the size limit is sent.
 */
const SCHEMA_WALK = '__schema { types { name kind description fields { name description type { name kind ofType { name kind } } args { name } } } }';

describe.each(testDialects())('introspection within the GraphQL limits, on %s', (dialect) => {
  let server: TestServer;
  let nobodyToken: string;
  let adminToken: string;

  beforeAll(async () => {
    server = await startTestServer(dialect);
    nobodyToken = (await actorWith(server, 'no permissions', [])).token;
    adminToken = (await actorWith(server, 'introspection admin', 'Administrator')).token;
  });
  afterAll(async () => server?.close());

  it('refuses 10 batched operations of 16 aliased __schema from a client with no permissions, with a small answer', async () => {
    const operation = `{ ${Array.from({ length: 16 }, (_, index) => `s${index}: ${SCHEMA_WALK}`).join(' ')} }`;
    const answer = await postGraphql(server, nobodyToken, JSON.stringify(Array.from({ length: 10 }, () => ({ query: operation }))));
    expect(answer.status).toBe(400);
    expect(answer.text.length).toBeLessThan(4096);
    const errors = (answer.json as { errors: { message: string; extensions: { code: string } }[] }).errors;
    expect(errors.map((error) => error.extensions.code)).toEqual(errors.map(() => 'GRAPHQL_VALIDATION_FAILED'));
    expect(errors.map((error) => error.message)).toContain('the batch has 160 aliases; at most 30 are allowed');
    expect(JSON.stringify(errors)).toMatch(/the batch costs an estimated \d+; at most 25000 is allowed/);
  });

  it('counts introspection toward the cost of one operation: 17 aliased schema walks, within the alias and field limits, are refused', async () => {
    const answer = await graphqlClient(
      server,
      nobodyToken,
    )(`query Walks { ${Array.from({ length: 17 }, (_, index) => `s${index}: ${SCHEMA_WALK}`).join(' ')} }`);
    expect(answer.status).toBe(400);
    expect(answer.errors.map((error) => error.message)).toEqual([expect.stringMatching(/^Walks costs an estimated \d+; at most 25000 is allowed/)]);
    // One walk is well within every limit.
    const one = await graphqlClient(server, nobodyToken)(`{ ${SCHEMA_WALK} }`);
    expect(one.status).toBe(200);
    expect(one.errors).toEqual([]);
  });

  it('makes batched operations share one budget: ten standard introspection queries, each allowed alone, are refused together', async () => {
    const alone = await postGraphql(server, nobodyToken, JSON.stringify({ query: getIntrospectionQuery() }));
    expect(alone.status).toBe(200);
    const batch = await postGraphql(server, nobodyToken, JSON.stringify(Array.from({ length: 10 }, () => ({ query: getIntrospectionQuery() }))));
    expect(batch.status).toBe(400);
    expect(batch.json).toEqual({
      errors: expect.arrayContaining([
        expect.objectContaining({ message: expect.stringMatching(/^the batch costs an estimated \d+; at most 25000 is allowed/) }),
      ]),
    });
  });

  it('counts aliased __type and __typename toward the alias limit', async () => {
    const aliases = Array.from({ length: QUERY_LIMITS.maxAliases + 1 }, (_, index) =>
      index % 2 === 0 ? `t${index}: __typename` : `t${index}: __type(name: "ApiClient") { name }`,
    );
    const answer = await graphqlClient(server, nobodyToken)(`{ ${aliases.join(' ')} }`);
    expect(answer.status).toBe(400);
    expect(answer.errors[0]!.message).toContain(`has ${QUERY_LIMITS.maxAliases + 1} aliases`);
  });

  it('replaces an answer over 1 MiB with a RESPONSE_TOO_LARGE error, and still sends one under it', async () => {
    const description = 'd'.repeat(1000);
    for (let index = 0; index < 200; index += 1) await server.services.clients.create(SYSTEM_ACTOR, { name: `bulky ${index}`, description });
    const page = 'apiClients(first: 200) { edges { node { description } } }';
    const admin = graphqlClient(server, adminToken);
    const small = await admin(`{ ${page} }`);
    expect(small.status).toBe(200);
    expect(small.errors).toEqual([]);
    const large = await postGraphql(
      server,
      adminToken,
      JSON.stringify({ query: `{ ${Array.from({ length: 6 }, (_, index) => `p${index}: ${page}`).join(' ')} }` }),
    );
    expect(large.text.length).toBeLessThan(4096);
    expect(large.json).toEqual({
      data: null,
      errors: [{ message: expect.stringContaining('larger than 1 MiB'), extensions: { code: 'RESPONSE_TOO_LARGE' } }],
    });
  });
});
