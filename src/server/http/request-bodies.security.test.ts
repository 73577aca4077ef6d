import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../../../test/support/databases.js';
import { actorWith } from '../../../test/support/oauth.js';
import { unique } from '../../../test/support/rest.js';
import { everyRow } from '../../../test/support/rows.js';
import { startTestServer, type TestServer } from '../../../test/support/server.js';

const MIB = 1024 * 1024;
const UNKNOWN_ID = '6e5d4c3b-2a19-4f8e-9d7c-6b5a4f3e2d1c';

/** A JSON object of exactly `bytes` bytes: one string field padded to the size. */
const jsonOfSize = (bytes: number) => {
  const shell = JSON.stringify({ name: '' });
  return JSON.stringify({ name: 'x'.repeat(bytes - shell.length) });
};

/**
 * REST bodies are JSON of at most 1 MiB. Over it is 413, another media
 * type is 415, both as problem bodies, sent by an Administrator to every route that takes a body;
 * and neither writes anything.
 */
describe.each(testDialects())('request bodies the REST API refuses, on %s', (dialect) => {
  let server: TestServer;
  let token: string;
  /** Every operation of the document that takes a body, with a concrete path. */
  let withBody: { method: string; path: string }[];

  const send = (operation: { method: string; path: string }, contentType: string, body: string) =>
    fetch(`${server.url}${operation.path}`, { method: operation.method, headers: { authorization: `Bearer ${token}`, 'content-type': contentType }, body });

  const expectProblem = async (response: Response, status: number, code: string, what: string) => {
    expect(response.status, what).toBe(status);
    expect(response.headers.get('content-type'), what).toMatch(/^application\/problem\+json/);
    expect(await response.json(), what).toMatchObject({ status, code });
  };

  beforeAll(async () => {
    server = await startTestServer(dialect);
    token = (await actorWith(server, 'bodies administrator', 'Administrator')).token;
    const document = (await (await fetch(`${server.url}/api/v1/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { requestBody?: unknown }>>;
    };
    withBody = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.entries(operations)
        .filter(([, operation]) => operation.requestBody !== undefined)
        .map(([method]) => ({ method: method.toUpperCase(), path: path.replace('{id}', UNKNOWN_ID) })),
    );
  });
  afterAll(async () => server?.close());

  it('finds the routes that take a body: creating, changing, bulk, roles, users, sign-in and setup', () => {
    expect(withBody.map((operation) => `${operation.method} ${operation.path}`)).toEqual(
      expect.arrayContaining([
        'POST /api/v1/clients',
        `PATCH /api/v1/clients/${UNKNOWN_ID}`,
        'POST /api/v1/clients/bulk',
        'POST /api/v1/users',
        'POST /api/v1/session',
      ]),
    );
  });

  it('answers a JSON body one byte over 1 MiB with 413 and a problem body on every such route, and writes nothing', async () => {
    const before = await everyRow(server);
    const body = jsonOfSize(MIB + 1);
    for (const operation of withBody)
      await expectProblem(await send(operation, 'application/json', body), 413, 'payload_too_large', `${operation.method} ${operation.path}`);
    expect(await everyRow(server)).toEqual(before);
  });

  it('answers 413 to a body over 1 MiB sent without Content-Length (chunked), and creates nothing', async () => {
    const before = await everyRow(server);
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"name":"'));
      },
      pull(controller) {
        if (sent > MIB) {
          controller.enqueue(new TextEncoder().encode('"}'));
          controller.close();
          return;
        }
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const response = await fetch(`${server.url}/api/v1/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    await expectProblem(response, 413, 'payload_too_large', 'chunked');
    expect(await everyRow(server)).toEqual(before);
  });

  it('reads a JSON body just under 1 MiB: the answer is about its content (400 naming the field), not its size', async () => {
    const response = await send({ method: 'POST', path: '/api/v1/clients' }, 'application/json', jsonOfSize(MIB - 16));
    await expectProblem(response, 400, 'bad_input', 'just under 1 MiB');
  });

  it.each([
    ['text/plain', '{"name":"looks like JSON"}'],
    ['text/plain; charset=utf-8', 'name=plain'],
    ['application/x-www-form-urlencoded', 'name=form'],
    ['multipart/form-data; boundary=koios', '--koios\r\nContent-Disposition: form-data; name="name"\r\n\r\nmultipart\r\n--koios--\r\n'],
    ['application/xml', '<client><name>xml</name></client>'],
  ])('answers a %s body with 415 and a problem body on every such route, and writes nothing', async (contentType, body) => {
    const before = await everyRow(server);
    for (const operation of withBody)
      await expectProblem(await send(operation, contentType, body), 415, 'unsupported_media_type', `${operation.method} ${operation.path}`);
    expect(await everyRow(server)).toEqual(before);
  });

  it('answers a string holding an unpaired surrogate with 400 naming the field, sign-in included, and writes nothing', async () => {
    const before = await everyRow(server);
    const signIn = await fetch(`${server.url}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"email":"\\ud800@example.com","password":"            "}',
    });
    expect(signIn.status).toBe(400);
    expect(((await signIn.json()) as { errors: { field: string }[] }).errors.map((error) => error.field)).toEqual(['email']);
    const create = await send({ method: 'POST', path: '/api/v1/clients' }, 'application/json', '{"name":"half \\udc00 a pair"}');
    expect(create.status).toBe(400);
    expect(await everyRow(server)).toEqual(before);
  });

  it('still takes JSON with a charset: the 415 is about the media type, not the parameters', async () => {
    const response = await send(
      { method: 'POST', path: '/api/v1/clients' },
      'application/json; charset=utf-8',
      JSON.stringify({ name: `charset ${unique()}` }),
    );
    expect(response.status).toBe(201);
  });
});
