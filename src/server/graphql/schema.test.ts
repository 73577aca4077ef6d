import { readFileSync } from 'node:fs';
import { buildClientSchema, buildSchema, getIntrospectionQuery, printSchema, type IntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphqlClient } from '../../../test/support/graphql.js';
import { actorWith } from '../../../test/support/oauth.js';
import { startTestServer, type TestServer } from '../../../test/support/server.js';

/**
 * `schema.graphql` is what integrators and code generators read: it must be exactly the schema
 * the server serves. When this fails after a change to schema.ts, replace the file with the
 * schema the failure shows (then `npx prettier --write` it).
 */
const checkedIn = readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8');

describe('the checked-in SDL', () => {
  // The schema does not depend on the database: one dialect is enough.
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('sqlite');
  });
  afterAll(async () => server?.close());

  it('equals the schema the running server serves, read back through introspection', async () => {
    const ask = graphqlClient(server, (await actorWith(server, 'schema reader', 'Viewer')).token);
    const answer = await ask<IntrospectionQuery>(
      getIntrospectionQuery({ descriptions: true, schemaDescription: true, specifiedByUrl: true, directiveIsRepeatable: true, inputValueDeprecation: true }),
    );
    expect(answer.errors).toEqual([]);
    // Both printed by graphql-js, so only the schema can differ (the file itself is in Prettier's layout).
    expect(printSchema(buildSchema(checkedIn))).toBe(printSchema(buildClientSchema(answer.data!)));
  });
});
