import { describe, expect, it } from 'vitest';
import { runLighthouse } from '../scripts/lighthouse.js';
import { browserAvailable, RETRIES_IN_CI } from './support/browser.js';

/** Lighthouse (Debian's Chromium), signed in, on the two pages administrators spend their time on. */
describe.runIf(browserAvailable())('Lighthouse on the console', () => {
  it('scores 95 or more for accessibility and best practices on the client list and a client’s page', { timeout: 180_000, retry: RETRIES_IN_CI }, async () => {
    const scores = await runLighthouse();
    expect(scores.map(({ page }) => page)).toEqual(['client list', 'client detail']);
    for (const { page, accessibility, bestPractices, failing } of scores) {
      expect({ page, accessibility: accessibility >= 95, bestPractices: bestPractices >= 95, failing }).toMatchObject({
        page,
        accessibility: true,
        bestPractices: true,
      });
    }
    process.stdout.write(
      `${scores.map(({ page, accessibility, bestPractices }) => `${page}: accessibility ${accessibility}, best practices ${bestPractices}`).join('\n')}\n`,
    );
  });
});
