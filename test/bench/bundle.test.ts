/**
 * What a deploy uploads (`wrangler deploy --dry-run`), for both entries: the full Worker carries
 * onnxruntime-web's Wasm; the kernel-only one (src/index-lite.ts) carries only our kernels and fits
 * the Workers free plan (3 MiB gzip).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without types
import { buildBundle } from '../../scripts/bench/servers.mjs';

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
  }, 120_000);
});
