/**
 * scripts/publish.mjs against a local Miniflare state, as `npm start` uses it: `push --if-absent`
 * seeds the default model, replaces a default it seeded itself when models/default changes, and
 * never replaces a version someone activated by hand.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'edgerec-publish-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const publish = (...args: string[]) =>
  execFileSync(process.execPath, [join(root, 'scripts/publish.mjs'), ...args, '--local', '--persist-to', join(work, 'state')], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
  });

describe('publish.mjs push --if-absent', () => {
  it('seeds, replaces its own older seed, and leaves a version activated by hand', () => {
    const current = JSON.parse(readFileSync(join(root, 'models/default/manifest.json'), 'utf8')).version;
    // An "older default": the same blobs under another version name.
    const older = join(work, 'older');
    cpSync(join(root, 'models/default'), older, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(older, 'manifest.json'), 'utf8'));
    writeFileSync(join(older, 'manifest.json'), JSON.stringify({ ...manifest, version: 'older-default' }));

    expect(publish('push', older, '--if-absent')).toContain('active version: older-default');
    expect(publish('push', join(root, 'models/default'), '--if-absent')).toContain(
      `replacing the seeded default older-default with ${current}`,
    );
    expect(publish('push', join(root, 'models/default'), '--if-absent')).toContain('already this default');
    publish('activate', 'older-default');
    expect(publish('push', join(root, 'models/default'), '--if-absent')).toContain('activated by hand');
    expect(publish('list')).toMatch(/^\* older-default /m);
  }, 120_000);
});
