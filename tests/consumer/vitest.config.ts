import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'consumer',
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // Packs every published package once for all test files.
    globalSetup: ['../../vitest.temp-home.ts', 'test/global-setup.ts'],
    // Packing and installing from the registry takes a while on a cold cache.
    testTimeout: 240_000,
    hookTimeout: 240_000,
  },
});
