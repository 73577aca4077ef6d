/** Time as the services see it; tests move it. Times are stored as ISO 8601 UTC text (first migration). */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
