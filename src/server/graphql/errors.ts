import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type { ExecutionResult, FormattedExecutionResult, GraphQLFormattedError } from 'graphql';
import { GraphQLError } from './graphql-js.js';
import { BadInput, DomainError, Forbidden, GRAPHQL_CODE } from '../errors.js';
import { isConnectionError, logProblem, problemHeaders, problemOf, type Problem } from '../http/problem.js';

/**
 * GraphQL errors. A domain error keeps its message and gets the pinned `extensions.code`
 * (through GRAPHQL_CODE); a bad request or document gets a code saying what was
 * wrong with it; anything else is logged and answered with a generic message. No stack trace or
 * internal message ever reaches the caller.
 */
export const REQUEST_ERROR_CODES = Object.freeze({
  parse: 'GRAPHQL_PARSE_FAILED',
  validation: 'GRAPHQL_VALIDATION_FAILED',
  badRequest: 'BAD_REQUEST',
  methodNotAllowed: 'METHOD_NOT_ALLOWED',
  payloadTooLarge: 'PAYLOAD_TOO_LARGE',
  responseTooLarge: 'RESPONSE_TOO_LARGE',
  unsupportedMediaType: 'UNSUPPORTED_MEDIA_TYPE',
  internal: 'INTERNAL_SERVER_ERROR',
});

/** A request refused before execution, with one error per reason (the limits, the batch cap). */
export class RequestRefused extends Error {
  readonly statusCode = 400;
  constructor(readonly errors: readonly GraphQLError[]) {
    super(errors.map((error) => error.message).join('; '));
    this.name = 'RequestRefused';
  }
}

/** Mercurius's own errors: a code `MER_ERR_…`, a status, and for validation a list of errors. */
interface MercuriusError extends Error {
  readonly code: string;
  readonly statusCode?: number;
  readonly errors?: readonly unknown[];
}

function isMercuriusError(error: unknown): error is MercuriusError {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === 'string' && code.startsWith('MER_ERR_');
}

const MERCURIUS_CODES: Readonly<Record<string, string>> = {
  MER_ERR_GQL_QUERY_DEPTH: REQUEST_ERROR_CODES.validation,
  MER_ERR_GQL_VALIDATION: REQUEST_ERROR_CODES.badRequest,
  MER_ERR_METHOD_NOT_ALLOWED: REQUEST_ERROR_CODES.methodNotAllowed,
};

/** A GraphQL error that no resolver raised: the document or its variables are wrong. */
function documentErrorCode(error: GraphQLError): string {
  // graphql-jit's errors (a compiled document's bad variables) may carry no extensions at all.
  const own = (error.extensions as GraphQLError['extensions'] | undefined)?.['code'];
  if (typeof own === 'string') return own;
  if (error.message.startsWith('Syntax Error')) return REQUEST_ERROR_CODES.parse;
  if (error.message.startsWith('Variable "$')) return GRAPHQL_CODE.bad_input;
  return REQUEST_ERROR_CODES.validation;
}

function domainExtensions(error: DomainError): Record<string, unknown> {
  return {
    code: GRAPHQL_CODE[error.code],
    ...(error instanceof BadInput ? { problems: error.problems } : {}),
    ...(error instanceof Forbidden && error.missing.length > 0 ? { missingPermissions: error.missing } : {}),
  };
}

/**
 * Formats any error a request can produce. `listCode` is the code of plain errors inside a list
 * error of Mercurius (a body that failed its JSON schema, a mutation sent with GET); outside such
 * a list a plain error is unexpected, so its message stays in the log.
 */
export function formatErrors(error: unknown, log: FastifyBaseLogger, listCode: string | null = null): GraphQLFormattedError[] {
  if (error instanceof GraphQLError) {
    const where = { ...(error.locations === undefined ? {} : { locations: error.locations }), ...(error.path === undefined ? {} : { path: error.path }) };
    const original = error.originalError;
    // A variable's value that its type refuses (graphql-js keeps the type's own error as the original).
    const badVariable = error.message.startsWith('Variable "$') && !(original instanceof DomainError);
    if (original === undefined || original === null || original === error || badVariable) {
      return [{ message: error.message, ...where, extensions: { code: documentErrorCode(error) } }];
    }
    return formatErrors(original, log, listCode).map((formatted) => ({ ...formatted, ...where }));
  }
  if (error instanceof DomainError) return [{ message: error.message, extensions: domainExtensions(error) }];
  if (error instanceof RequestRefused) return error.errors.flatMap((inner) => formatErrors(inner, log, REQUEST_ERROR_CODES.badRequest));
  if (isMercuriusError(error)) {
    const code = MERCURIUS_CODES[error.code] ?? REQUEST_ERROR_CODES.badRequest;
    if (error.errors !== undefined && error.errors.length > 0) return error.errors.flatMap((inner) => formatErrors(inner, log, code));
    return [{ message: error.message, extensions: { code } }];
  }
  if (listCode !== null && error instanceof Error) return [{ message: error.message, extensions: { code: listCode } }];
  log.error({ err: error }, 'GraphQL request failed');
  // A database that went away is an error the caller can retry.
  if (isConnectionError(error)) return [{ message: 'the database is unavailable; try again shortly', extensions: { code: GRAPHQL_CODE.unavailable } }];
  return [{ message: 'an unexpected error occurred; it has been logged', extensions: { code: REQUEST_ERROR_CODES.internal } }];
}

/**
 * Mercurius's `errorFormatter`: the errors of an execution (whose data stands, `200`), or of one
 * operation of a batch refused before it ran.
 */
export function formatExecutionErrors(
  execution: ExecutionResult & Required<Pick<ExecutionResult, 'errors'>>,
  context: { reply: FastifyReply },
): { statusCode: number; response: FormattedExecutionResult } {
  const errors = execution.errors.flatMap((error) => formatErrors(error, context.reply.log));
  if (execution.data === undefined) return { statusCode: 400, response: { errors } };
  return { statusCode: 200, response: { data: execution.data, errors } };
}

const PROBLEM_CODES: Readonly<Partial<Record<Problem['code'], string>>> = {
  bad_input: REQUEST_ERROR_CODES.badRequest,
  method_not_allowed: REQUEST_ERROR_CODES.methodNotAllowed,
  payload_too_large: REQUEST_ERROR_CODES.payloadTooLarge,
  unsupported_media_type: REQUEST_ERROR_CODES.unsupportedMediaType,
  internal: REQUEST_ERROR_CODES.internal,
};

/**
 * Errors before execution: at the door (authentication, CSRF, body size and type) with the same
 * status, headers and log lines as REST (`problemOf`, `problemHeaders`, `logProblem`), and
 * refused requests and documents (`400`, `405`). The body is a GraphQL response without `data`:
 * nothing ran.
 */
export function sendRequestError(error: unknown, request: FastifyRequest, reply: FastifyReply, bodyLimit: number): FastifyReply {
  let status: number;
  let errors: GraphQLFormattedError[];
  if (error instanceof RequestRefused || isMercuriusError(error) || error instanceof GraphQLError) {
    status = (error as { statusCode?: number }).statusCode ?? 400;
    if (status === 405) void reply.header('Allow', 'POST');
    errors = formatErrors(error, request.log);
  } else {
    const problem = problemOf(error);
    logProblem(request.log, error, problem);
    void reply.headers(problemHeaders(error, request));
    status = problem.status;
    if (error instanceof DomainError) errors = formatErrors(error, request.log);
    else {
      const detail = problem.code === 'payload_too_large' ? `the body is larger than ${bodyLimit / 1024} KiB` : problem.detail;
      const code =
        PROBLEM_CODES[problem.code] ?? (problem.code in GRAPHQL_CODE ? GRAPHQL_CODE[problem.code as DomainError['code']] : REQUEST_ERROR_CODES.internal);
      errors = [{ message: detail, extensions: { code } }];
    }
  }
  return reply.code(status).type('application/json; charset=utf-8').send({ errors });
}
