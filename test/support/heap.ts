import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

v8.setFlagsFromString('--expose-gc');
/** V8's full collection, reachable without starting the test process with --expose-gc. */
const collectGarbage = runInNewContext('gc') as () => void;

function liveHeapBytes(): number {
  collectGarbage();
  collectGarbage();
  return v8.getHeapStatistics().used_heap_size;
}

/**
 * How much more heap is live once `build` has run than before, its result still held: what a
 * structure costs once its garbage is collected, measured as the server's own figures are.
 */
export async function retainedHeapBytes<T>(build: () => Promise<T>): Promise<{ bytes: number; result: T }> {
  const before = liveHeapBytes();
  const result = await build();
  const bytes = liveHeapBytes() - before;
  return { bytes, result };
}
