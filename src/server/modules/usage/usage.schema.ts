import { Type } from '@sinclair/typebox';
import { StringEnum } from '../../../shared/schemas/fields.js';
import { USAGE_GRANULARITIES } from '../../../shared/schemas/usage.js';
import { MAX_BUCKETS, REFUSALS_LIMIT } from './usage.service.js';

const Time = (description: string) => Type.String({ maxLength: 40, description, examples: ['2026-12-01T00:00:00Z'] });

export const UsageQuery = Type.Object(
  {
    from: Type.Optional(Time('ISO 8601 date or time, rounded down to its hour or day; default: 24 hours (hour) or 30 days (day) before `to`')),
    to: Type.Optional(Time('ISO 8601 date or time, exclusive, rounded up to the next hour or day; default: now')),
    granularity: Type.Optional(
      StringEnum(USAGE_GRANULARITIES, {
        default: 'hour',
        description: `One bucket per hour (at most ${MAX_BUCKETS.hour}) or per UTC day (at most ${MAX_BUCKETS.day})`,
      }),
    ),
  },
  { additionalProperties: false },
);

export const RefusalsQuery = Type.Object(
  { limit: Type.Integer({ minimum: 1, maximum: REFUSALS_LIMIT.max, default: REFUSALS_LIMIT.default }) },
  { additionalProperties: false },
);
