/** The parts of a `node --cpu-prof` profile (V8's Profiler.Profile) the bench's readers use. */

export interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

export interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

export interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  /** µs since the previous sample; the first since `startTime`. */
  readonly timeDeltas: readonly number[];
  /** µs of the monotonic clock (`process.hrtime`). */
  readonly startTime: number;
  readonly endTime: number;
}
