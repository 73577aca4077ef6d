import { Type, type Static } from '@sinclair/typebox';

/** One field that was wrong: its path as the caller sent it (`name`, `ids[3]`) and what was wrong. */
export const FieldProblem = Type.Object({ field: Type.String(), message: Type.String() }, { additionalProperties: false });
export type FieldProblem = Static<typeof FieldProblem>;

/** RFC 9457 problem details, with the fields that were wrong. */
export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String({ description: 'bad_input, unauthenticated, forbidden, not_found, conflict, too_many_requests, unavailable, …' }),
    errors: Type.Optional(Type.Array(FieldProblem)),
  },
  { $id: 'Problem', additionalProperties: false },
);
export type Problem = Static<typeof Problem>;
