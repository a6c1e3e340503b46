import { resolve } from 'node:path';
import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

/**
 * The kernel inside workerd, loaded the way the Worker loads it (wrangler's CompiledWasm rule):
 *   npx vitest run --config test/bench/vitest.workerd.config.ts
 */
const root = `${resolve(import.meta.dirname, '../..')}/`;

export default defineConfig({
  root,
  plugins: [cloudflareTest({ wrangler: { configPath: `${root}wrangler.toml` } })],
  test: {
    include: ['test/bench/workerd/*.test.ts'],
    testTimeout: 60_000,
  },
});
