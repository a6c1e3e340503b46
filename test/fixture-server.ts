import { readFile } from 'node:fs/promises';
import { resolve, sep } from 'node:path';

/**
 * FIXTURES: a service binding, answered in Node, that serves read-only files from models/ and
 * test/fixtures/ under `root` to tests running inside workerd (which has no file system). Tests use
 * it to publish real artifacts into the simulated R2/KV exactly as the publisher does.
 */
export function fixtureServer(root: string): (request: Request) => Promise<Response> {
  return async (request) => {
    const path = decodeURIComponent(new URL(request.url).pathname).replace(/^\/+/, '');
    const file = resolve(root, path);
    const allowed = [resolve(root, 'models') + sep, resolve(root, 'test', 'fixtures') + sep];
    if (!allowed.some((dir) => file.startsWith(dir))) return new Response('forbidden', { status: 403 });
    try {
      return new Response(await readFile(file));
    } catch {
      return new Response('not found', { status: 404 });
    }
  };
}
