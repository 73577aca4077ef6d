/**
 * The closed set of domain errors. Services throw these; the REST door maps them to status codes
 * and RFC 9457 problem bodies, the GraphQL door to `extensions.code`, the CLI to a line and exit 1.
 */

import type { FieldProblem } from '../shared/schemas/problem.js';
export type ErrorCode = 'bad_input' | 'unauthenticated' | 'forbidden' | 'not_found' | 'conflict' | 'too_many_requests' | 'unavailable';

export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = Object.freeze({
  bad_input: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_many_requests: 429,
  unavailable: 503,
});

export const GRAPHQL_CODE: Readonly<Record<ErrorCode, string>> = Object.freeze({
  bad_input: 'BAD_USER_INPUT',
  unauthenticated: 'UNAUTHENTICATED',
  forbidden: 'FORBIDDEN',
  not_found: 'NOT_FOUND',
  conflict: 'CONFLICT',
  too_many_requests: 'TOO_MANY_REQUESTS',
  unavailable: 'SERVICE_UNAVAILABLE',
});

export type { FieldProblem };

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class BadInput extends DomainError {
  readonly problems: readonly FieldProblem[];
  constructor(problems: FieldProblem[] | FieldProblem) {
    const list = Array.isArray(problems) ? problems : [problems];
    super('bad_input', list.map((p) => `${p.field} ${p.message}`).join('; '));
    this.problems = Object.freeze(list);
  }
}

export class NotFound extends DomainError {
  constructor(
    readonly resource: string,
    readonly id: string,
  ) {
    super('not_found', `${resource} ${id} was not found`);
  }
}

export class Conflict extends DomainError {
  constructor(message: string) {
    super('conflict', message);
  }
}

export class Forbidden extends DomainError {
  constructor(
    message: string,
    /** The permissions the caller lacks, when that is the reason. */
    readonly missing: readonly string[] = [],
  ) {
    super('forbidden', message);
  }
}

export class Unauthenticated extends DomainError {
  constructor(message = 'authentication required') {
    super('unauthenticated', message);
  }
}

/** RFC 9449 §7.1: a refused DPoP request (or a DPoP-bound token sent as Bearer), answered with a DPoP challenge. */
export class DpopRefused extends Unauthenticated {
  constructor(
    /** `use_dpop_nonce` (RFC 9449 §9): the answer carries a fresh nonce in `DPoP-Nonce` (app.ts). */
    readonly dpopError: 'invalid_dpop_proof' | 'invalid_token' | 'use_dpop_nonce',
    message: string,
  ) {
    super(message);
  }
}

export class TooManyRequests extends DomainError {
  constructor(
    readonly retryAfterSeconds: number,
    message = `too many failed attempts; retry after ${retryAfterSeconds} seconds`,
  ) {
    super('too_many_requests', message);
  }
}

/** The database cannot answer now; `cause` keeps the driver's error for the log, never for the caller. */
export class Unavailable extends DomainError {
  constructor(message = 'the database is unavailable; try again shortly', options?: ErrorOptions) {
    super('unavailable', message, options);
  }
}

/** Collects field problems, then throws them together so a caller can fix every field at once. */
export class ProblemCollector {
  private readonly problems: FieldProblem[] = [];
  add(field: string, message: string | null): void {
    if (message !== null) this.problems.push({ field, message });
  }
  throwIfAny(): void {
    if (this.problems.length > 0) throw new BadInput(this.problems);
  }
}

/**
 * Runs a service call and names the fields of its BadInput as the caller sent them: a service
 * names a field after its own input's property (`search`), a door after its wire name (the
 * query parameter `q`, the GraphQL argument `filter.search`).
 */
export async function namingFields<T>(rename: (field: string) => string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof BadInput) throw new BadInput(error.problems.map((problem) => ({ field: rename(problem.field), message: problem.message })));
    throw error;
  }
}

/** A renaming by name (`ids[3]` follows `ids`); a field without a name here keeps its own. */
export function renameFields(names: Readonly<Record<string, string>>): (field: string) => string {
  return (field) => {
    const head = /^[^.[]*/.exec(field)![0];
    return (names[head] ?? head) + field.slice(head.length);
  };
}
