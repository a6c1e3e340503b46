import { resolve } from 'node:path';
import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';
import { onnxWorker } from '../onnx-worker';

/**
 * The kernel inside workerd, loaded the way the Worker loads it (wrangler's CompiledWasm rule):
 *   npx vitest run --config test/bench/vitest.workerd.config.ts
 */
const root = `${resolve(import.meta.dirname, '../..')}/`;

export default defineConfig(async () => ({
  root,
  plugins: [cloudflareTest({ wrangler: { configPath: `${root}wrangler.toml` }, miniflare: { workers: [await onnxWorker(root)] } })],
  test: {
    include: ['test/bench/workerd/*.test.ts'],
    testTimeout: 60_000,
  },
}));
