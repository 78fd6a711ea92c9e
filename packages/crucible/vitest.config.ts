import { readFileSync } from 'node:fs';
import { defineProject } from 'vitest/config';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as {
  version: string;
};

export default defineProject({
  define: { __SCIPORT_CRUCIBLE_VERSION__: JSON.stringify(pkg.version) },
  test: {
    name: 'crucible',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    environment: 'node',
    // A throwaway HOME and XDG folders for every test and child process; fails if the real home was written.
    globalSetup: ['../../vitest.temp-home.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
