/**
 * The Worker takes zod only from src/core/zod.ts (zod/mini with the English locale). An import of
 * `zod` itself anywhere else would bring back the classic namespace, which esbuild cannot tree-shake
 * and which cost ~30-40 ms of every isolate start (docs/BENCHMARKS.md). The bundle test sees that
 * too, after a build; this names the file at once.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('zod in the Worker', () => {
  it('is imported from src/core/zod.ts only', () => {
    const offenders = sources(join(root, 'src'))
      .filter((f) => relative(root, f) !== join('src', 'core', 'zod.ts'))
      .filter((f) => /from\s+['"](zod(\/[^'"]*)?|@hono\/zod-[\w-]+)['"]/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(root, f));
    expect(offenders).toEqual([]);
    expect(readFileSync(join(root, 'src/core/zod.ts'), 'utf8')).toMatch(/from 'zod\/v4\/mini'/);
  });
});
