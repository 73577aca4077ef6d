import { expect, it } from 'vitest';
import { overflowsSideways, screenshotBothThemes } from './support/browser.js';
import { LONG_CLIENT_NAME, seedClientList } from './support/console-server.js';
import { consoleSuite } from './support/console-suite.js';

const WIDTHS = [390, 1024, 1280, 1440] as const;

/** Every page at a phone's width and three laptop widths, in both themes, for a person to look at (test-results/screenshots/). */
consoleSuite('screenshots of every page at every width', { seed: seedClientList, independentTests: true }, (suite) => {
  it.each(WIDTHS)('screenshots every page at %i px wide in both themes', async (width) => {
    await suite.page.setViewportSize({ width, height: 800 });
    const pages: [string, string, string][] = [
      ['users', '/users', 'Users'],
      ['roles', '/roles', 'Roles'],
      ['role-detail', `/roles/${suite.roles.viewer.id}`, 'Viewer'],
      ['audit', '/audit', 'Audit'],
      ['client-permissions', `/system/connections/${suite.seeded.longId}?tab=permissions`, LONG_CLIENT_NAME],
      ['not-found', '/nope', 'Page not found'],
    ];
    for (const [name, path, heading] of pages) {
      await suite.page.goto(path);
      await suite.page.getByRole('heading', { name: heading, level: 1 }).waitFor();
      expect(await overflowsSideways(suite.page)).toEqual([]);
      await screenshotBothThemes(suite.page, `${name}-${width}`);
    }
  });
});
