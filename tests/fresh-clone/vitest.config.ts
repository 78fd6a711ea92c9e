import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'fresh-clone',
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // A throwaway HOME and XDG folders for every test and child process; fails if the real home was written.
    globalSetup: ['../../vitest.temp-home.ts'],
    // A clone and an offline install (seconds with a warm store), the demo (about 40 s of CPU): generous budgets
    // for a loaded machine.
    testTimeout: 240_000,
    hookTimeout: 240_000,
  },
});
