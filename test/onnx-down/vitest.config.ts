import { resolve } from 'node:path';
import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';
import { fixtureServer } from '../fixture-server';

/**
 * The edgerec Worker inside workerd with its ONNX runtime Worker down: the `ONNX` service binding
 * answers every call with an error (as when edgerec-onnx fails or is not deployed), the rest as in
 * the main project:
 *   npx vitest run --config test/onnx-down/vitest.config.ts
 */
const root = resolve(import.meta.dirname, '../..');

export default defineConfig({
  root,
  plugins: [
    cloudflareTest({
      wrangler: { configPath: `${root}/wrangler.toml` },
      miniflare: {
        serviceBindings: { FIXTURES: fixtureServer(root), ONNX: async () => new Response('edgerec-onnx is down', { status: 503 }) },
        bindings: { ADMIN_TOKEN: 'test-admin-token', POINTER_TTL_SECONDS: '0', MODEL_RETRY_SECONDS: '0' },
      },
    }),
  ],
  test: {
    include: ['test/onnx-down/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
