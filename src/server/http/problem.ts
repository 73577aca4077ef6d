import type { FastifyBaseLogger, FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { BadInput, DomainError, DpopRefused, Forbidden, HTTP_STATUS, TooManyRequests, type ErrorCode, type FieldProblem } from '../errors.js';
import { DPOP_ALGORITHMS } from '../modules/oauth/dpop.js';
import type { Problem as ProblemBody } from '../../shared/schemas/problem.js';

/**
 * RFC 9457 problem bodies for the REST API: one place maps the closed set of domain errors to a
 * status, and Fastify's own errors (validation, size, media type) to the same shapes.
 */
export type Problem = ProblemBody & { code: ErrorCode | 'method_not_allowed' | 'payload_too_large' | 'unsupported_media_type' | 'internal' };

const TITLES: Record<Problem['code'], string> = {
  bad_input: 'Bad input',
  unauthenticated: 'Authentication required',
  forbidden: 'Forbidden',
  not_found: 'Not found',
  conflict: 'Conflict',
  too_many_requests: 'Too many requests',
  unavailable: 'Service unavailable',
  method_not_allowed: 'Method not allowed',
  payload_too_large: 'Payload too large',
  unsupported_media_type: 'Unsupported media type',
  internal: 'Internal error',
};

export function problem(code: Problem['code'], status: number, detail: string, errors?: readonly FieldProblem[]): Problem {
  return {
    type: `https://koios.dev/problems/${code.replace(/_/g, '-')}`,
    title: TITLES[code],
    status,
    detail,
    code,
    ...(errors === undefined ? {} : { errors: [...errors] }),
  };
}

export function sendProblem(reply: FastifyReply, body: Problem): FastifyReply {
  return reply.code(body.status).type('application/problem+json').send(body);
}

/** One failure of schema validation, as Fastify's validator reports it. */
interface ValidationError {
  readonly instancePath?: string;
  readonly params?: Record<string, unknown>;
  readonly message?: string;
}

/** `instancePath` `/name` or `/ids/3` → `name`, `ids[3]`; a missing property names itself. */
function fieldOf(error: ValidationError, location: string | undefined): string {
  const path = (error.instancePath ?? '')
    .split('/')
    .filter((part) => part.length > 0)
    .map((part, index) => (/^\d+$/.test(part) ? `[${part}]` : index === 0 ? part : `.${part}`))
    .join('');
  const missing = error.params?.['missingProperty'];
  const extra = error.params?.['additionalProperty'];
  const name =
    typeof missing === 'string'
      ? path === ''
        ? missing
        : `${path}.${missing}`
      : typeof extra === 'string'
        ? path === ''
          ? extra
          : `${path}.${extra}`
        : path;
  return name === '' ? (location ?? 'body') : name;
}

/** The problem body for any error a route can raise. Mapping only: see problemHeaders and logProblem. */
export function problemOf(error: unknown): Problem {
  if (error instanceof DomainError) {
    return problem(error.code, HTTP_STATUS[error.code], error.message, error instanceof BadInput ? error.problems : undefined);
  }
  const fastifyError = error as FastifyError & {
    validation?: ValidationError[];
    validationContext?: string;
  };
  if (fastifyError.validation !== undefined) return validationProblem(fastifyError.validation, fastifyError.validationContext);
  // Refused by the router before any route ran (app.ts frameworkErrors): a broken percent-escape
  // in the path, or a path parameter longer than the router takes.
  if (fastifyError.code === 'FST_ERR_BAD_URL') {
    return problem('bad_input', 400, 'the path is not a valid URL: a % must start an escape such as %2F', [
      { field: 'path', message: 'is not a valid URL path' },
    ]);
  }
  if (fastifyError.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return problem('bad_input', 414, 'a path parameter is too long', [{ field: 'path', message: 'has a parameter that is too long' }]);
  }
  switch (fastifyError.statusCode) {
    case 413:
      return problem('payload_too_large', 413, 'the body is larger than 1 MiB');
    case 415:
      return problem('unsupported_media_type', 415, 'send the body as application/json');
    case 400:
      return problem(
        'bad_input',
        400,
        fastifyError.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || /JSON/.test(fastifyError.message)
          ? 'the body is not valid JSON'
          : 'the request cannot be parsed',
        [{ field: 'body', message: 'is not valid JSON' }],
      );
    default:
      break;
  }
  if (fastifyError.statusCode !== undefined && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return problem('bad_input', fastifyError.statusCode, 'the request cannot be processed');
  }
  // A database that went away or stopped answering is a 503 the caller can retry, not a 500.
  if (isConnectionError(error)) return problem('unavailable', 503, 'the database is unavailable; try again shortly');
  return problem('internal', 500, 'an unexpected error occurred; it has been logged');
}

/** Schema validation's errors, one per field, as a `bad_input` problem. */
function validationProblem(validation: readonly ValidationError[], location: string | undefined): Problem {
  const all = validation.map((item) => ({ field: fieldOf(item, location), message: item.message ?? 'is invalid' }));
  // A nullable field that is wrong also fails "must be null" and the anyOf: say the useful part once.
  const noise = new Set(['must be null', 'must match a schema in anyOf', 'must match exactly one schema in oneOf']);
  const errors = all.filter(
    (error, index) =>
      (!noise.has(error.message) || !all.some((other) => other.field === error.field && !noise.has(other.message))) &&
      all.findIndex((other) => other.field === error.field && other.message === error.message) === index,
  );
  return problem('bad_input', 400, errors.map((e) => `${e.field} ${e.message}`).join('; '), errors);
}

/**
 * The headers an error's answer carries, as data for each door to set: `WWW-Authenticate` on
 * Unauthenticated and on a bearer caller's Forbidden, `Retry-After` on TooManyRequests.
 */
export function problemHeaders(error: unknown, request: Pick<FastifyRequest, 'headers' | 'actorVia'>): Record<string, string> {
  if (!(error instanceof DomainError)) return {};
  if (error.code === 'unauthenticated') {
    // RFC 6750 §3.1: an error code only when a bearer token was attempted; none for no
    // credentials or another scheme (Basic…), which the client may not know is unsupported.
    // RFC 9449 §7.1: a DPoP request, or a DPoP-bound token sent as Bearer, gets a DPoP challenge with the accepted algs.
    if (error instanceof DpopRefused || /^dpop(\s|$)/i.test(request.headers.authorization ?? '')) {
      const code = error instanceof DpopRefused ? error.dpopError : 'invalid_token';
      return {
        'WWW-Authenticate': `DPoP algs="${DPOP_ALGORITHMS.join(' ')}", error="${code}", error_description="${error.message.replace(/"/g, "'")}"`,
      };
    }
    const presented = /^bearer(\s|$)/i.test(request.headers.authorization ?? '');
    return {
      'WWW-Authenticate': presented
        ? `Bearer realm="koios", error="invalid_token", error_description="${error.message.replace(/"/g, "'")}"`
        : 'Bearer realm="koios"',
    };
  }
  if (error instanceof TooManyRequests) return { 'Retry-After': String(error.retryAfterSeconds) };
  if (error instanceof Forbidden && request.actorVia === 'bearer') {
    return { 'WWW-Authenticate': `Bearer realm="koios", error="insufficient_scope", scope="${error.missing.join(' ')}"` };
  }
  return {};
}

/**
 * What the operator must see of an answered error: a database that is away (a warning, without
 * the statement) and anything unexpected (an error, with its stack). The caller's mistakes are not logged.
 */
export function logProblem(log: FastifyBaseLogger, error: unknown, answered: Problem): void {
  if (answered.code === 'internal') {
    log.error({ err: error }, 'request failed');
    return;
  }
  if (answered.code !== 'unavailable') return;
  const cause: unknown = error instanceof DomainError ? error.cause : error;
  if (error instanceof DomainError && !(cause instanceof Error)) return;
  log.warn({ err: { message: (cause as Error).message, code: (cause as { code?: unknown }).code } }, 'database unavailable');
}

/** The REST door's answer to an error: the problem body with the headers it implies, logged as it needs. */
export function sendErrorProblem(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const body = problemOf(error);
  logProblem(request.log, error, body);
  return sendProblem(reply.headers(problemHeaders(error, request)), body);
}

/**
 * Errors that say the database is unreachable, restarting or too slow, not that the request is
 * wrong: socket errors; PostgreSQL's admin_shutdown, crash_shutdown, cannot_connect_now (57P0x),
 * connection exceptions (08xxx), a statement cancelled by its timeout (57014) and a transaction
 * ended by the idle one (25P03); pg's own messages for a lost connection or a timeout.
 */
const CONNECTION_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57P01',
  '57P02',
  '57P03',
  '57014',
  '25P03',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  'SQLITE_BUSY',
]);
const CONNECTION_MESSAGES =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable|Query read timeout|Cannot use a pool after calling end/i;

export function isConnectionError(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 3) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && CONNECTION_ERRORS.has(code)) return true;
  const message = (error as Error).message ?? '';
  if (CONNECTION_MESSAGES.test(message)) return true;
  // Kysely and pg wrap some failures (an aborted rollback, an AggregateError of several sockets).
  const nested = [
    (error as { cause?: unknown }).cause,
    ...((error as { errors?: unknown }).errors instanceof Array ? (error as { errors: unknown[] }).errors : []),
  ];
  return nested.some((inner) => inner !== undefined && inner !== error && isConnectionError(inner, depth + 1));
}
