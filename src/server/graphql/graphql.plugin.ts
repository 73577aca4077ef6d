import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import mercurius from 'mercurius';
import type { Services } from '../services.js';
import { authenticationHook, recordPermissionRefusal, type Authenticator } from '../http/authenticate.js';
import { getOperationAST, GraphQLError, Kind, parse, validate } from './graphql-js.js';
import { Forbidden, GRAPHQL_CODE } from '../errors.js';
import { methodsOtherThan } from '../http/method-not-allowed.js';
import { nulAt } from '../http/validation.js';
import { formatExecutionErrors, REQUEST_ERROR_CODES, RequestRefused, sendRequestError } from './errors.js';
import { batchLimitErrors, nulFreeStringsRule, operationLimitsRule, QUERY_LIMITS } from './limits.js';
import { createLoaders, createResolvers, type GraphQLContext } from './resolvers.js';
import { typeDefs } from './schema.js';

/**
 * A document is compiled by graphql-jit at its second execution (Mercurius `jit`), and runs
 * compiled from then on. Measured with autocannon, 50 connections, 3 rounds each way, medians: a
 * page of 50 clients with their roles went from 1,170 to 2,040 requests/s, `{ me { id } }` from
 * 19,500 to 22,000. `jit.test.ts` checks that compiled and interpreted answers are the same.
 */
export const GRAPHQL_JIT_AFTER = 1;

/**
 * A GET naming an operation its document lacks (or naming none in a document of several) made
 * Mercurius's own "no mutation over GET" check fail with a TypeError, answered 500; POST answers
 * 400 "Unknown operation named …" from graphql-js. The same answer for GET, before Mercurius.
 */
function refuseUnknownOperation(query: unknown): void {
  const { query: source, operationName } = (query ?? {}) as { query?: unknown; operationName?: unknown };
  if (typeof source !== 'string') return;
  let document;
  try {
    document = parse(source, { maxTokens: QUERY_LIMITS.maxTokens });
  } catch {
    return; // Mercurius answers the syntax error itself.
  }
  // Mercurius passes an empty operationName on as it is, and graphql-js then finds no operation of that name.
  const name = typeof operationName === 'string' ? operationName : null;
  if (getOperationAST(document, name) !== null) return;
  const message = name === null ? 'Must provide operation name if query contains multiple operations.' : `Unknown operation named "${name}".`;
  throw new RequestRefused([new GraphQLError(message, { extensions: { code: REQUEST_ERROR_CODES.validation } })]);
}

/**
 * `POST /graphql` (and `GET` for queries), one authentication step with REST, then
 * every limit checked before anything executes. GraphiQL is off; introspection
 * answers only the authenticated, as every field does.
 */
export async function graphqlApi(app: FastifyInstance, deps: { services: Services; authenticator: Authenticator; jitAfter?: number }): Promise<void> {
  const { services, authenticator } = deps;
  // Returning the reply makes Fastify wait for the response sent here rather than send another.
  const onError = (error: unknown, request: FastifyRequest, reply: FastifyReply) => sendRequestError(error, request, reply, QUERY_LIMITS.bodyLimit);
  app.setErrorHandler(onError);

  // Authentication before the body is even read: an anonymous caller learns nothing, not even
  // whether its document is valid. Bearer token or console session (with its CSRF checks), as REST.
  app.addHook(
    'onRequest',
    authenticationHook(authenticator, (request, actor) => {
      if (actor.type === 'client' && request.actorVia === 'bearer') services.usageRecorder.requested(actor.id, 'graphql');
    }),
  );

  // A batch runs its operations side by side: the cap bounds one request's work, and its
  // operations share one budget of aliases, fields and cost.
  const refuseOversizedBatch = (request: FastifyRequest): void => {
    if (request.method === 'GET') refuseUnknownOperation(request.query);
    if (!Array.isArray(request.body)) return;
    const count = request.body.length;
    if (count === 0 || count > QUERY_LIMITS.maxBatch) {
      throw new RequestRefused([
        new GraphQLError(`a batch must hold 1 to ${QUERY_LIMITS.maxBatch} operations; this one has ${count}`, {
          extensions: { code: REQUEST_ERROR_CODES.badRequest },
        }),
      ]);
    }
    const documents = request.body.flatMap((operation: unknown) => {
      const source = (operation as { query?: unknown } | null)?.query;
      if (typeof source !== 'string') return [];
      try {
        return [parse(source, { maxTokens: QUERY_LIMITS.maxTokens })];
      } catch {
        return []; // Mercurius answers the syntax error itself.
      }
    });
    const errors = batchLimitErrors(app.graphql.schema, documents, QUERY_LIMITS);
    if (errors.length > 0) throw new RequestRefused(errors);
  };
  // A callback hook, not an async one: it runs on every request, and an async hook costs a
  // promise and a turn of the microtask queue.
  app.addHook('preHandler', (request, _reply, done) => {
    try {
      refuseOversizedBatch(request);
    } catch (error) {
      done(error as Error);
      return;
    }
    done();
  });

  // Responses carry client secrets (createApiClient, regenerateApiClientSecret), and every answer
  // is per caller: nothing here may be cached.
  app.addHook('onSend', (_request, reply, payload, done) => {
    void reply.header('Cache-Control', 'no-store');
    // The limits above estimate; this bounds what one answer can hold in memory and on the wire.
    const size = typeof payload === 'string' || Buffer.isBuffer(payload) ? Buffer.byteLength(payload) : 0;
    if (size <= QUERY_LIMITS.responseLimit) {
      done(null, payload);
      return;
    }
    const limit = `${QUERY_LIMITS.responseLimit / 1024 / 1024} MiB`;
    const message = `the answer is larger than ${limit}; ask for smaller pages, fewer fields or fewer aliases`;
    void reply.header('content-type', 'application/json; charset=utf-8');
    done(null, JSON.stringify({ data: null, errors: [{ message, extensions: { code: REQUEST_ERROR_CODES.responseTooLarge } }] }));
  });

  await app.register(mercurius, {
    schema: typeDefs,
    resolvers: createResolvers(services),
    loaders: createLoaders(services),
    context: (request): Pick<GraphQLContext, 'actor' | 'address'> => ({ actor: request.actor, address: request.ip }),
    path: '/graphql',
    graphiql: false,
    jit: deps.jitAfter ?? GRAPHQL_JIT_AFTER,
    cache: QUERY_LIMITS.documentCacheSize,
    allowBatchedQueries: true,
    queryDepth: QUERY_LIMITS.maxDepth,
    graphql: { parseOptions: { maxTokens: QUERY_LIMITS.maxTokens } },
    additionalRouteOptions: { bodyLimit: QUERY_LIMITS.bodyLimit },
    errorFormatter: (execution, context) => {
      // A field the caller may not read is one permission refusal, however many fields it hit.
      const forbidden = execution.errors.find((error) => error.originalError instanceof Forbidden && error.originalError.missing.length > 0);
      if (forbidden !== undefined) recordPermissionRefusal(services.failures, context.reply.request, forbidden.originalError);
      return formatExecutionErrors(execution, context);
    },
    errorHandler: async (error, request, reply) => {
      await onError(error, request, reply);
    },
  });

  // The alias, field and cost limits run before the standard validation rules, some of which
  // are quadratic in the number of fields (OverlappingFieldsCanBeMerged). Documents that pass are
  // cached by Mercurius, so this runs once per distinct document.
  const limitsRule = operationLimitsRule(QUERY_LIMITS);
  app.graphql.addHook('preValidation', async (schema, document) => {
    const errors = validate(schema, document, [limitsRule, nulFreeStringsRule]);
    if (errors.length > 0) throw new RequestRefused(errors);
  });

  // Not async: it runs on every execution, and Mercurius awaits its answer either way (a throw
  // here rejects as an async hook's would).
  app.graphql.addHook('preExecution', (_schema, document, _context, variables) => {
    // Variables are parsed from a GET's query string after the request's validation, so the NUL
    // check of every body (http/validation.ts) has not seen them: PostgreSQL cannot store U+0000.
    const nul = nulAt(variables, '');
    if (nul !== null) {
      throw new RequestRefused([
        new GraphQLError(`the variable at ${nul} must not contain the NUL character (U+0000)`, { extensions: { code: GRAPHQL_CODE.bad_input } }),
      ]);
    }
    // Mercurius keeps one compiled query per document text, compiled for the operationName of the
    // execution that compiled it, and runs it whatever operationName later requests name: in a
    // document with a mutation beside a query, a GET naming the query would run the mutation.
    // A document of several operations is therefore always interpreted (a returned document
    // counts as modified, which Mercurius never compiles); jit.test.ts attacks this.
    let operations = 0;
    for (const definition of document.definitions) if (definition.kind === Kind.OPERATION_DEFINITION) operations += 1;
    return operations > 1 ? { document } : undefined;
  });

  app.route({
    method: methodsOtherThan(app, ['GET', 'HEAD', 'POST']),
    url: '/graphql',
    exposeHeadRoute: false,
    handler: async (_request, reply) =>
      reply
        .code(405)
        .header('Allow', 'GET, POST')
        .send({ errors: [{ message: 'use POST, or GET for queries', extensions: { code: REQUEST_ERROR_CODES.methodNotAllowed } }] }),
  });
}
