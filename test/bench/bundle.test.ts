/**
 * What a deploy uploads (`wrangler deploy --dry-run`), for both entries: the full Worker carries
 * onnxruntime-web's Wasm; the kernel-only one (src/index-lite.ts) carries only our kernels and fits
 * the Workers free plan (3 MiB gzip).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without types
import { buildBundle } from '../../scripts/bench/servers.mjs';
// @ts-expect-error: a plain .mjs script without types
import { isolateColdStarts } from '../../scripts/bench/cold-start.mjs';

const out = mkdtempSync(join(tmpdir(), 'edgerec-bundle-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('deploy bundles', () => {
  it('the full Worker ships ORT-web and both kernels; the kernel-only one only the kernels, under 3 MiB gzip', async () => {
    const full = await buildBundle(join(out, 'full'));
    const lite = await buildBundle(join(out, 'lite'), { entry: 'src/index-lite.ts' });
    const wasm = (dir: string) => readdirSync(join(out, dir)).filter((f) => f.endsWith('.wasm')).map((f) => f.replace(/^[0-9a-f]+-/, '')).sort();
    expect(wasm('full')).toEqual(['int8_scan.wasm', 'ort-wasm-simd-threaded.wasm', 'tower.wasm']);
    expect(wasm('lite')).toEqual(['int8_scan.wasm', 'tower.wasm']);
    expect(lite.gzipKiB).toBeLessThan(3 * 1024);
    expect(full.gzipKiB).toBeGreaterThan(lite.gzipKiB + 3000);
    // zod's locales are patched down to English (patches/zod+4.6.7.patch): 358 KiB less JavaScript
    // for every isolate start to parse. English messages stay, French ones are gone (esbuild writes non-ASCII as escapes, so an ASCII word is checked).
    for (const js of [join(out, 'full', 'index.js'), join(out, 'lite', 'index-lite.js')]) {
      const code = readFileSync(js, 'utf8');
      expect(code).toContain('Invalid input');
      expect(code).not.toContain('attendu'); // French, as in "Entrée invalide : ${expected} attendu"
    }
  }, 120_000);

  it("each bundle, in a new workerd process, gives a model answer to the first request it sees (part d's cold start)", async () => {
    const bundles = [
      { label: 'full', bundleDir: join(out, 'full') },
      { label: 'lite', bundleDir: join(out, 'lite'), main: 'index-lite.js' },
    ];
    // isolateColdStarts throws unless the first answer is a model answer (200, items, no fallback).
    const run = await isolateColdStarts('models/default', { trials: 1, bundles });
    expect(run.items).toBe(1200);
    expect(run.bundles.map((b: { label: string }) => b.label)).toEqual(['full', 'lite']);
    for (const b of run.bundles) {
      expect(b.trials).toHaveLength(1);
      expect(Number.isFinite(b.coldMs)).toBe(true);
    }
  }, 120_000);
});
