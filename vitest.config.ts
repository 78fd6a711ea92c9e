import { defineConfig } from 'vitest/config';

// Runs every package's tests in one process (`pnpm test:unit`, editors). CI runs them per package through turbo.
export default defineConfig({
  test: {
    projects: ['packages/*', 'tests/*'],
  },
});
