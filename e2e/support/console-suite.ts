import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe } from 'vitest';
import { browserAvailable, launchBrowser, newConsoleContext, RETRIES_IN_CI } from './browser.js';
import { signIn, startConsoleServer, type ConsoleServer } from './console-server.js';

export interface ConsoleSuiteOptions<Seeded> {
  /** The data the file's tests start from, made through the services before the browser opens; what it returns is `suite.seeded`. */
  readonly seed?: (console_: ConsoleServer) => Promise<Seeded>;
  /**
   * Where the page lands after signing in as the Administrator through the console's form
   * (`/system/connections` unless given); `false` leaves the page blank and signed out.
   */
  readonly signIn?: string | false;
  /** No user exists yet, as at the first start (the setup page's case); the page starts signed out. */
  readonly firstRun?: boolean;
  /** Vitest's timeout for each test of the suite. */
  readonly timeout?: number;
  /**
   * Each test starts from the seed alone, on a page it opens itself, and leaves nothing a later test
   * needs: then, under CI, a failed test runs once more, on a new page signed in again (a retry
   * keeps the server and its data, so a file whose tests build on one another must not say this).
   */
  readonly independentTests?: boolean;
}

/** What every test of a console suite works with: the server, and a browser with one page open on it. */
export interface ConsoleSuite<Seeded = undefined> extends Omit<ConsoleServer, 'close'> {
  readonly seeded: Seeded;
  readonly browser: Browser;
  readonly context: BrowserContext;
  readonly page: Page;
}

/**
 * A describe block for the console in a real browser: before its first test a fresh server (its
 * own SQLite database, serving the built console) is seeded, Chromium launched and the
 * Administrator signed in; after its last, all of it is closed. Nothing is shared between files,
 * so each file runs alone and in any order. Without Chromium the suite is skipped loudly, or run
 * (and failed) under CI; see `browserAvailable`.
 */
export function consoleSuite<Seeded = undefined>(title: string, options: ConsoleSuiteOptions<Seeded>, body: (suite: ConsoleSuite<Seeded>) => void): void {
  const testOptions = {
    ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
    ...(options.independentTests === true ? { retry: RETRIES_IN_CI } : {}),
  };
  describe.runIf(browserAvailable())(title, testOptions, () => {
    let server: ConsoleServer | undefined;
    let seeded: { value: Seeded } | undefined;
    let browser: Browser | undefined;
    let context: BrowserContext | undefined;
    let page: Page | undefined;

    const opened = <T>(value: T | undefined): T => {
      if (value === undefined) throw new Error('the console suite is not open yet: use it inside a test or a hook');
      return value;
    };

    const landing = options.firstRun === true ? false : (options.signIn ?? '/system/connections');

    beforeAll(async () => {
      server = await startConsoleServer({ firstRun: options.firstRun ?? false });
      seeded = { value: (await options.seed?.(server)) as Seeded };
      browser = await launchBrowser();
      context = await newConsoleContext(browser, server.url);
      page = await context.newPage();
      if (landing !== false) await signIn(page, server, landing);
    }, 240_000);

    // A retry starts where the file's first test started, not on the page the failure left behind.
    beforeEach(async ({ task }) => {
      if ((task.result?.retryCount ?? 0) === 0) return;
      await context?.close();
      context = await newConsoleContext(opened(browser), opened(server).url);
      page = await context.newPage();
      if (landing !== false) await signIn(page, opened(server), landing);
    });

    afterAll(async () => {
      await context?.close();
      await browser?.close();
      await server?.close();
    });

    body({
      get server() {
        return opened(server).server;
      },
      get url() {
        return opened(server).url;
      },
      get admin() {
        return opened(server).admin;
      },
      get roles() {
        return opened(server).roles;
      },
      get seeded() {
        return opened(seeded).value;
      },
      get browser() {
        return opened(browser);
      },
      get context() {
        return opened(context);
      },
      get page() {
        return opened(page);
      },
    });
  });
}
