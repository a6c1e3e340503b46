import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

/**
 * Kernel and benchmark tests in Node (the repo's root vitest.config.ts runs tests inside workerd):
 *   npx vitest run --config test/bench/vitest.config.ts
 */
export default defineConfig({
  root: resolve(import.meta.dirname, '../..'),
  test: {
    include: ['test/bench/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
  },
});
