import type { Clock } from '../../src/server/clock.js';

/** Time the services see; a test moves it forward (an expiry, a new window) instead of waiting. */
export function movableClock(): Clock & { advance(ms: number): void } {
  let offset = 0;
  return { now: () => new Date(Date.now() + offset), advance: (ms) => void (offset += ms) };
}
