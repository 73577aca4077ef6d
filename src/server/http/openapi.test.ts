import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../../../test/support/databases.js';
import { concretePath, openApiPath, routeTable } from '../../../test/support/routes.js';
import { startTestServer, type TestServer } from '../../../test/support/server.js';

interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
}

const UNKNOWN_ID = '3f0c9a8e-5b7d-4c2a-9e1f-6a5b4c3d2e1f';

describe.each(testDialects())('the served OpenAPI document on %s', (dialect) => {
  let server: TestServer;
  let document: OpenApiDocument;
  /** `get /api/v1/clients/{id}` for every operation the document describes. */
  let documented: Set<string>;

  beforeAll(async () => {
    server = await startTestServer(dialect);
    const response = await fetch(`${server.url}/api/v1/openapi.json`);
    expect(response.status).toBe(200);
    document = (await response.json()) as OpenApiDocument;
    documented = new Set(Object.entries(document.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method} ${path}`)));
  });
  afterAll(async () => server?.close());

  it('is a valid OpenAPI 3.1 document by @apidevtools/swagger-parser, every $ref resolved', async () => {
    expect(document.openapi).toBe('3.1.0');
    // validate() dereferences in place: give it a copy, and keep the served document as it was.
    const copy = structuredClone(document) as unknown as Parameters<typeof SwaggerParser.validate>[0];
    await expect(SwaggerParser.validate(copy)).resolves.toBeDefined();
  });

  it('describes every route the server registered under /api/v1; any other method of a path is only a 405 refusal', async () => {
    const table = routeTable(server.app).filter((route) => route.url.startsWith('/api/v1/') && route.method !== 'HEAD');
    expect(table.length).toBeGreaterThan(20);
    const missing: string[] = [];
    for (const route of table) {
      const key = `${route.method.toLowerCase()} ${openApiPath(route.url)}`;
      if (documented.has(key)) continue;
      // Not described: the route must be one the 405 mechanism added, answering nothing but 405.
      // Injected: fetch refuses TRACE.
      const answer = await server.app.inject({ method: route.method as 'GET', url: concretePath(route.url, UNKNOWN_ID) });
      if (answer.statusCode !== 405) missing.push(`${route.method} ${route.url} (answers ${answer.statusCode})`);
    }
    expect(missing).toEqual([]);
  });

  it('describes no operation the server does not have', () => {
    const registered = new Set(routeTable(server.app).map((route) => `${route.method.toLowerCase()} ${openApiPath(route.url)}`));
    expect([...documented].filter((operation) => !registered.has(operation))).toEqual([]);
  });

  it('is served to anyone, and describes itself', async () => {
    expect(documented).toContain('get /api/v1/openapi.json');
    const answer = await fetch(`${server.url}/api/v1/openapi.json`, { headers: { authorization: 'Bearer not-a-token' } });
    expect(answer.status).toBe(200);
  });
});
