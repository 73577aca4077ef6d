import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'src/web/**/*.test.tsx', 'e2e/**/*.test.ts'],
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
  },
});
