import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'testkit',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    environment: 'node',
    // A throwaway HOME and XDG folders for every test and child process; fails if the real home was written.
    globalSetup: ['../../vitest.temp-home.ts'],
    // Generous: the structure test expands 2,000 simulated entries (14–23 s when the whole suite shares two cores).
    testTimeout: 60_000,
    hookTimeout: 20_000,
  },
});
