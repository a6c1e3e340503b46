/**
 * What a deploy uploads (`wrangler deploy --dry-run`), for both Workers: the edgerec Worker carries
 * only our kernels and fits the Workers free plan (3 MiB gzip); onnxruntime-web's Wasm ships in the
 * ONNX runtime Worker (wrangler.onnx.toml), which the edgerec Worker reaches over a service binding.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildBundle } from '../../scripts/bench/build.mjs';
// @ts-expect-error: a plain .mjs script without types
import { isolateColdStarts } from '../../scripts/bench/cold-start.mjs';

const out = mkdtempSync(join(tmpdir(), 'edgerec-bundle-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('deploy bundles', () => {
  it('the edgerec Worker ships only the kernels, under 3 MiB gzip; the ONNX runtime Worker ships ORT-web', async () => {
    const main = await buildBundle(join(out, 'main'));
    const onnx = await buildBundle(join(out, 'onnx'), { config: 'wrangler.onnx.toml' });
    const wasm = (dir: string) =>
      readdirSync(join(out, dir))
        .filter((f) => f.endsWith('.wasm'))
        .map((f) => f.replace(/^[0-9a-f]+-/, ''))
        .sort();
    expect(wasm('main')).toEqual(['int8_scan.wasm', 'tower.wasm']);
    expect(wasm('onnx')).toEqual(['ort-wasm-simd-threaded.wasm']);
    expect(main.gzipKiB).toBeLessThan(3 * 1024);
    expect(onnx.gzipKiB).toBeGreaterThan(main.gzipKiB! + 3000);
    const mainJs = readFileSync(join(out, 'main', 'index.js'), 'utf8');
    expect(mainJs).not.toContain('InferenceSession'); // no ORT code: its API is what the ONNX Worker imports
    expect(readFileSync(join(out, 'onnx', 'worker.js'), 'utf8')).toContain('InferenceSession');
    // zod as src/core/zod.ts gives it: zod/mini, tree-shaken, never the classic namespace (whose
    // evaluation cost ~30-40 ms of every isolate start), and only the English locale: English
    // messages stay, French ones are not there (esbuild writes non-ASCII as escapes, so an ASCII word is checked).
    expect(mainJs).toContain('"ZodMiniObject"');
    expect(mainJs).not.toContain('"ZodObject"');
    expect(mainJs).toContain('Invalid input');
    expect(mainJs).not.toContain('attendu'); // French, as in "Entrée invalide : ${expected} attendu"
  }, 120_000);

  it("each bundle, in a new workerd process, gives a model answer to the first request it sees (part d's cold start)", async () => {
    await buildBundle(join(out, 'with-ort'), { entry: 'scripts/bench/with-ort-entry.ts' });
    const bundles = [
      { label: 'main', bundleDir: join(out, 'main') },
      { label: 'with-ort', bundleDir: join(out, 'with-ort'), main: 'with-ort-entry.js' },
      // The ORT path as deployed: the ONNX runtime Worker as a second service, bound as ONNX.
      {
        label: 'onnx-rpc',
        bundleDir: join(out, 'main'),
        onnxBundleDir: join(out, 'onnx'),
        vars: { USER_TOWER: 'onnx' },
        userTower: 'onnxruntime-web',
      },
    ];
    // isolateColdStarts throws unless the first answer is a model answer (200, items, no fallback),
    // and, where `userTower` is given, unless /v1/model then says that runtime ran the tower.
    const run = await isolateColdStarts('models/default', { trials: 1, bundles });
    expect(run.items).toBe(1200);
    expect(run.bundles.map((b: { label: string }) => b.label)).toEqual(['main', 'with-ort', 'onnx-rpc']);
    for (const b of run.bundles) {
      expect(b.trials).toHaveLength(1);
      expect(Number.isFinite(b.coldMs)).toBe(true);
    }
  }, 120_000);
});
