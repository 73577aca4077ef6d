/**
 * One fault scenario of `npm run chaos`: it starts real server processes (and, for PostgreSQL, a
 * private cluster it may kill, freeze and restart), drives load through the fault, and reports
 * what the callers saw. `bench/chaos.ts` runs every `bench/chaos/*.scenarios.ts` module.
 */
export interface ChaosResult {
  readonly scenario: string;
  /** Requests sent during the scenario. */
  readonly requests: number;
  /** Answers by HTTP status, with `error` for a connection that failed (reset, refused). */
  readonly byStatus: Readonly<Record<string, number>>;
  /** `200`s answered for a client disabled before or during the fault: must be 0. */
  readonly disabledAccepted: number;
  /** From the fault's end (database back, lock released) to the first good answer; null when not measured. */
  readonly recoveryMs: number | null;
  /** Server processes that died without being asked to: must be 0. */
  readonly crashes: number;
  /** One line on what was done, shown under the table. */
  readonly note?: string;
}

export interface ChaosScenario {
  readonly name: string;
  readonly dialect: 'sqlite' | 'postgres';
  run(): Promise<ChaosResult>;
}

/** A scenario module exports its scenarios as `scenarios`. */
export interface ChaosModule {
  readonly scenarios: readonly ChaosScenario[];
}
