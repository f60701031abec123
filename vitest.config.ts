import { defineConfig } from 'vitest/config';

// Unit and loopback-sshd integration tests. The lab e2e suites have their own config.
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/roles/**/*.test.ts', 'test/integration/**/*.test.ts'],
    testTimeout: 60000,
    hookTimeout: 60000,
    pool: 'forks',
    // One temp root per run, removed at the end (test/helpers/temp-root.ts).
    globalSetup: ['test/helpers/temp-root.ts'],
  },
});
