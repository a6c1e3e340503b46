import { resolve } from 'node:path';
import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';
import { fixtureServer } from '../fixture-server';

/**
 * The kernel-only Worker (src/index-lite.ts: no onnxruntime-web) inside workerd, with the same
 * bindings as the full one:
 *   npx vitest run --config test/lite/vitest.config.ts
 */
const root = resolve(import.meta.dirname, '../..');

export default defineConfig({
  root,
  plugins: [
    cloudflareTest({
      main: `${root}/src/index-lite.ts`,
      wrangler: { configPath: `${root}/wrangler.toml` },
      miniflare: {
        serviceBindings: { FIXTURES: fixtureServer(root) },
        bindings: { ADMIN_TOKEN: 'test-admin-token', POINTER_TTL_SECONDS: '0', MODEL_RETRY_SECONDS: '0' },
      },
    }),
  ],
  test: {
    include: ['test/lite/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
