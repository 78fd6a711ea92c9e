import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'cli',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    environment: 'node',
    // The end-to-end tests run dist/bin.js: rebuild it first when the sources are newer.
    globalSetup: ['../../vitest.temp-home.ts', 'test/global-setup.ts'],
    // Generous: one end-to-end test runs up to a dozen CLI processes one after another, and the whole suite
    // shares two cores with other test files doing the same (20 s was reached under that load).
    testTimeout: 60_000,
    hookTimeout: 20_000,
  },
});
