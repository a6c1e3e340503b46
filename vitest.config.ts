import { readFile } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

const root = import.meta.dirname;

/**
 * FIXTURES: a service binding, answered in Node, that serves read-only files from models/ and
 * test/fixtures/ to tests running inside workerd (which has no file system). Tests use it to
 * publish real artifacts into the simulated R2/KV exactly as the publisher does.
 */
async function serveFixture(request: Request): Promise<Response> {
  const path = decodeURIComponent(new URL(request.url).pathname).replace(/^\/+/, '');
  const file = resolve(root, path);
  const allowed = [resolve(root, 'models') + sep, resolve(root, 'test', 'fixtures') + sep];
  if (!allowed.some((dir) => file.startsWith(dir))) return new Response('forbidden', { status: 403 });
  try {
    return new Response(await readFile(file));
  } catch {
    return new Response('not found', { status: 404 });
  }
}

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: './wrangler.toml' },
      miniflare: {
        serviceBindings: { FIXTURES: serveFixture },
        bindings: { ADMIN_TOKEN: 'test-admin-token', POINTER_TTL_SECONDS: '0' },
      },
    }),
  ],
  test: {
    include: ['test/worker/**/*.test.ts', 'test/property/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
