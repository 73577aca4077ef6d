/**
 * Polls `read` until it answers `expected`, for at most a second: another instance hears of a
 * change through the change feed, whose listener is trusted only while its heartbeat (sent every
 * 250 ms) came back less than a second ago. Returns the last answer, for the assertion.
 */
export async function withinOneSecond<T>(read: () => Promise<T>, expected: T): Promise<T> {
  const deadline = performance.now() + 1000;
  let answer = await read();
  while (answer !== expected && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    answer = await read();
  }
  return answer;
}
