import type { Reporter, TestCase, Vitest } from 'vitest/node';

/**
 * Says loudly which tests needed a retry, with what failed the first time, beside the default
 * reporter (which shows a passing retried test only as a dim "(retry x1)" suffix, and never its
 * first error). A retry keeps CI green; the flake it hid is still a bug to fix.
 */
export default class RetriedTestsReporter implements Reporter {
  private vitest: Vitest | undefined;
  private readonly retried: string[] = [];

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
  }

  onTestCaseResult(testCase: TestCase): void {
    const { retryCount } = testCase.diagnostic() ?? { retryCount: 0 };
    if (retryCount === 0) return;
    const result = testCase.result();
    const outcome = result.state === 'passed' ? `passed on attempt ${retryCount + 1}` : `${result.state} after ${retryCount + 1} attempts`;
    const firstError = result.errors?.[0];
    const reason = firstError === undefined ? '' : `\n    first failure: ${firstError.message.split('\n')[0]}`;
    this.retried.push(`${testCase.module.relativeModuleId} > ${testCase.fullName}: ${outcome}${reason}`);
  }

  onTestRunEnd(): void {
    if (this.retried.length === 0) return;
    const lines = [`\u001b[1;33m!!! ${this.retried.length} test(s) retried:\u001b[0m`, ...this.retried.map((line) => `  ${line}`)];
    this.vitest?.logger.log(`\n${lines.join('\n')}\n`);
  }
}
