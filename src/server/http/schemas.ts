import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type TUnsafe } from '@sinclair/typebox';
import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from 'fastify';
import { Ref, Uuid } from '../../shared/schemas/fields.js';
import { Problem } from '../../shared/schemas/problem.js';
import { renameFields } from '../errors.js';

/**
 * The Fastify instance REST modules register their routes on: the TypeBox type provider gives each
 * handler its params, query, body and reply types from the route's schemas, so no route writes them twice.
 */
export type RoutesApp = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

/** Problem responses for the statuses a route declares. */
export function problems<const S extends readonly number[]>(...statuses: S): Record<S[number], TUnsafe<Problem>> {
  return Object.fromEntries(statuses.map((status) => [status, Ref(Problem)])) as Record<S[number], TUnsafe<Problem>>;
}

/** Responses every authenticated route can give (429: a client over its rate limit). */
export const AUTHENTICATED_ERRORS = [400, 401, 403, 429, 503] as const;

export const IdParams = Type.Object({ id: Uuid('The resource id') }, { additionalProperties: false });

/** The list routes' query parameters, by the service field each one fills (`q` is the service's `search`). */
export const listQueryNames = renameFields({ search: 'q' });
