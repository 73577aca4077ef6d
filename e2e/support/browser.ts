import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';

/** Debian's Chromium; never a downloaded browser. */
export const CHROMIUM = '/usr/bin/chromium';

const SCREENSHOTS = fileURLToPath(new URL('../../test-results/screenshots/', import.meta.url));

/**
 * Whether the browser suites can run. Outside CI a missing Chromium skips them with a loud warning;
 * under CI=true the suites run and fail, since CI installs Chromium first.
 */
export function browserAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env['CI'] === 'true') return true;
  process.stderr.write(
    `\n\u001b[1;33m!!! ${CHROMIUM} is missing (apt-get install chromium).\n!!! SKIPPING the browser tests of the console in this run.\u001b[0m\n\n`,
  );
  return false;
}

/**
 * Under CI, a browser test of a file whose tests stand alone runs once more after a failure, as
 * Playwright's own CI configuration has it; each retry is named at the end of the run
 * (test/support/retried-tests-reporter.ts). Locally a failure shows at once.
 */
export const RETRIES_IN_CI = process.env['CI'] === 'true' ? 1 : 0;

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: under CI the browser tests must run (apt-get install chromium)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export async function newConsoleContext(browser: Browser, baseURL: string): Promise<BrowserContext> {
  const context = await browser.newContext({ baseURL, viewport: { width: 1360, height: 900 }, reducedMotion: 'reduce', locale: 'en-GB', timezoneId: 'UTC' });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseURL });
  // Generous: the suite shares two cores with the server, PostgreSQL and the other suites, and a
  // wait that times out here is a failure, never a skip.
  context.setDefaultTimeout(20_000);
  // A script error or a refused resource (the CSP) fails silently in the page: say it here.
  context.on('weberror', (error) => process.stderr.write(`[browser] uncaught: ${error.error().message}\n`));
  context.on('console', (message) => {
    // A 4xx is an answer the console shows (a 401 at start is how it learns to show Sign in).
    if (message.type() === 'error' && !/status of 4\d\d/.test(message.text())) process.stderr.write(`[browser] console.error: ${message.text()}\n`);
  });
  return context;
}

/** Saves `test-results/screenshots/<name>-<theme>.png` (gitignored) for a person to look at. */
export async function screenshot(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const theme = (await page.locator('html').getAttribute('data-mantine-color-scheme')) ?? 'light';
  // A dialog's overlay covers the viewport only: show the viewport then, the whole page otherwise.
  const dialogOpen = (await page.getByRole('dialog').count()) > 0;
  // Notifications of earlier steps would cover the page: dismiss them (not under a dialog, whose
  // outside a click must not reach).
  // They close by themselves too, so all are clicked at once, in the page, rather than one by one.
  if (!dialogOpen) {
    await page.evaluate('document.querySelectorAll(\'button[aria-label="Dismiss notification"]\').forEach((button) => button.click())');
    await page.getByRole('button', { name: 'Dismiss notification' }).first().waitFor({ state: 'detached' });
  }
  // A tooltip left open by the last hover would cover the page: move away and wait until it is gone,
  // then until every running transition (a tooltip fading, a tab's indicator sliding) has ended.
  await page.mouse.move(0, 0);
  await page.getByRole('tooltip').first().waitFor({ state: 'hidden' });
  await animationsEnded(page);
  // A full-page capture keeps the scroll offset, which would draw the fixed header mid-page.
  const fullPage = options.fullPage ?? !dialogOpen;
  if (fullPage) await page.evaluate('window.scrollTo(0, 0)');
  await page.screenshot({ path: join(SCREENSHOTS, `${name}-${theme}.png`), fullPage });
}

/** What makes the page scroll sideways: the elements reaching past the viewport's right edge (none, when it does not). */
export async function overflowsSideways(page: Page): Promise<string[]> {
  return page.evaluate(`document.scrollingElement.scrollWidth <= document.scrollingElement.clientWidth + 1 ? [] :
      [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > document.scrollingElement.clientWidth + 1)
        .slice(-5).map((e) => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))`);
}

/** The element `locator` finds, once it has the keyboard focus. */
export function focused(page: Page, locator: Locator): Locator {
  return locator.and(page.locator(':focus'));
}

/** Switches the console's theme with its own toggle in the header. */
export async function useTheme(page: Page, theme: 'light' | 'dark'): Promise<void> {
  const current = await page.locator('html').getAttribute('data-mantine-color-scheme');
  if (current === theme) return;
  // Under a dialog the header's toggle cannot be reached: set what it sets (Mantine's colours follow the attribute).
  if ((await page.getByRole('dialog').count()) > 0) {
    await page.evaluate(`document.documentElement.setAttribute('data-mantine-color-scheme', '${theme}')`);
  } else {
    await page.getByRole('button', { name: `Use ${theme} theme` }).click();
    await page.locator(`html[data-mantine-color-scheme="${theme}"]`).waitFor({ state: 'attached' });
  }
  // Colours change with a transition: a colour read at once would be one on the way.
  await animationsEnded(page);
}

/**
 * Resolves once every running animation or transition that ends has ended (a tooltip fading, a
 * colour changing with the theme); a skeleton's pulse or a loader's spin never ends, so those are left out.
 */
export async function animationsEnded(page: Page): Promise<void> {
  await page.evaluate(
    'Promise.all(document.getAnimations().filter((a) => a.effect?.getComputedTiming().endTime !== Infinity).map((a) => a.finished.catch(() => undefined)))',
  );
}

/** What the page would paste: read with `expect.poll`, since a copy button writes it a moment after the click. */
export const clipboardText = (page: Page): Promise<string> => page.evaluate<string>('navigator.clipboard.readText()');

/**
 * Runs `check` with the notifications on screen kept open: each closes by itself after a few
 * seconds, and one caught fading has colours nobody reads. Mantine holds a notification while the
 * pointer is over it; the events say so without moving the real pointer, and afterwards each
 * notification's own timer starts again.
 */
export async function withNotificationsHeld<T>(page: Page, check: () => Promise<T>): Promise<T> {
  const pointer = (type: 'mouseover' | 'mouseout') =>
    page.evaluate(`document.querySelectorAll('.mantine-Notification-root').forEach((n) => n.dispatchEvent(new MouseEvent('${type}', { bubbles: true })))`);
  await pointer('mouseover');
  try {
    return await check();
  } finally {
    await pointer('mouseout');
  }
}

/** The view as it is, in the light theme and then the dark one (`<name>-light.png`, `<name>-dark.png`); it is left light. */
export async function screenshotBothThemes(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<void> {
  await useTheme(page, 'light');
  await screenshot(page, name, options);
  await useTheme(page, 'dark');
  await screenshot(page, name, options);
  await useTheme(page, 'light');
}

const CONTROL_ROLES = [
  'button',
  'link',
  'checkbox',
  'switch',
  'radio',
  'textbox',
  'searchbox',
  'combobox',
  'tab',
  'menuitem',
  'option',
  'slider',
  'spinbutton',
];

/**
 * The controls on the page (or in `scope`) that have no accessible name, as lines of the
 * accessibility tree: what a screen reader would announce as just "button".
 */
export async function unnamedControls(page: Page, scope = page.locator('body')): Promise<string[]> {
  const unnamed = new RegExp(`^\\s*- (${CONTROL_ROLES.join('|')})( \\[[^\\]]*\\])*:?$`);
  return (await scope.ariaSnapshot()).split('\n').filter((line) => unnamed.test(line));
}

/** Mantine draws switches and segmented controls over a hidden input: operate them as a keyboard user does. */
export async function toggle(control: Locator): Promise<void> {
  await control.focus();
  await control.page().keyboard.press('Space');
}

/** The notification saying `text`. */
export const notification = (page: Page, text: string | RegExp): Locator => page.getByRole('alert').filter({ hasText: text });
