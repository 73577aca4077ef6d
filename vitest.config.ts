import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/**
 * Files that run one at a time, after the rest: the browser suites (Chromium and a server
 * each), the fault suites (processes killed, databases frozen or cut), and those that hold a
 * wall-clock bound (a change seen on another instance within a second, throttle and rate-limit
 * windows, SQLite busy timeouts), which a second file's load could break.
 */
const ALONE = [
  'e2e/**/*.test.ts',
  'test/**/*.test.ts',
  'src/server/db/sqlite.test.ts',
  'src/server/metrics/metrics.test.ts',
  'src/server/modules/clients/clients.allowlist.security.test.ts',
  'src/server/modules/federation/federation.security.test.ts',
  'src/server/modules/oauth/oauth.rules.test.ts',
  'src/server/modules/oauth/secret-lifecycle.test.ts',
  'src/server/modules/usage/usage.test.ts',
  'src/server/rate-limiting/rate-limits.security.test.ts',
  'src/server/throttling/throttle.security.test.ts',
];

export default defineConfig({
  test: {
    exclude: ['node_modules/**', 'dist/**'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // A test's poll waits as long as the browser's own waits do (e2e/support/browser.ts): one second,
    // the default, is too short on two cores shared with the server and the other suites.
    expect: { poll: { timeout: 20_000 } },
    pool: 'forks',
    // The second names every test that needed a retry (only browser suites of independent tests may retry, under CI).
    reporters: ['default', './test/support/retried-tests-reporter.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'parallel',
          include: ['src/**/*.test.ts', 'src/web/**/*.test.tsx'],
          exclude: ALONE,
          // Vitest's default leaves one core to itself: one worker on two cores. These files wait on
          // databases and sockets as much as they compute, so two share two cores well.
          maxWorkers: Math.max(2, availableParallelism() - 1),
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'alone',
          include: ALONE,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
