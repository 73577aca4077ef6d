import { AxeBuilder } from '@axe-core/playwright';
import type { Page } from 'playwright-core';
import { animationsEnded, useTheme } from './browser.js';

/** WCAG 2.0, 2.1 and 2.2 at levels A and AA, and axe's own best practices. */
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];

/** The serious and critical violations axe-core finds on the page as it is, in the light theme and the dark one (the page is left light). */
export async function seriousViolations(page: Page): Promise<string[]> {
  const found: string[] = [];
  for (const theme of ['light', 'dark'] as const) {
    await useTheme(page, theme);
    // Let colour transitions end, so contrast is measured on the final colours.
    await animationsEnded(page);
    // axe.run in the page itself: the default (runPartial in each frame, then finishRun in a new
    // blank page) opens a tab and injects axe twice per check, for frames from other origins,
    // which the console has none of; with one, the default runs. Same results, half the time.
    const results = await new AxeBuilder({ page })
      .withTags(TAGS)
      .setLegacyMode(page.frames().length === 1)
      .analyze();
    for (const violation of results.violations) {
      if (violation.impact !== 'serious' && violation.impact !== 'critical') continue;
      const targets = violation.nodes.slice(0, 5).map((node) => `${node.target.join(' ')} ${node.html.slice(0, 160)} ${node.failureSummary ?? ''}`);
      found.push(`${theme}: ${violation.id} (${violation.impact}) ${violation.help}: ${targets.join(' | ')}`);
    }
  }
  await useTheme(page, 'light');
  return found;
}
