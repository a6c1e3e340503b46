import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';
import { fixtureServer } from './test/fixture-server';
import { onnxWorker } from './test/onnx-worker';

export default defineConfig(async () => ({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: './wrangler.toml' },
      miniflare: {
        serviceBindings: { FIXTURES: fixtureServer(import.meta.dirname) },
        bindings: { ADMIN_TOKEN: 'test-admin-token', POINTER_TTL_SECONDS: '0' },
        workers: [await onnxWorker(import.meta.dirname)],
      },
    }),
  ],
  test: {
    include: ['test/worker/**/*.test.ts', 'test/property/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
}));
