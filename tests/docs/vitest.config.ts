import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'docs',
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // A throwaway HOME and XDG folders for every test and child process; fails if the real home was written.
    globalSetup: ['../../vitest.temp-home.ts'],
    // The examples run one by one against the simulators; typedoc converts every package (10–30 s).
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
