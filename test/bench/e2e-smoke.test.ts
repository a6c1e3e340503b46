import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = `${resolve(import.meta.dirname, '../..')}/`;
const out = mkdtempSync(join(tmpdir(), 'edgerec-e2e-smoke-'));
const artifacts = mkdtempSync(join(tmpdir(), 'edgerec-e2e-smoke-artifacts-'));
afterAll(() => {
  rmSync(out, { recursive: true, force: true });
  rmSync(artifacts, { recursive: true, force: true });
});

describe('end-to-end benchmark (smoke run: the computation and a cold load in Node, tiny inputs)', () => {
  it('runs the Worker path and the native baselines on the default model and a synthetic catalog, and writes JSON, Markdown and SVG', () => {
    const stdout = execFileSync(process.execPath, [`${root}scripts/bench/e2e.mjs`, '--smoke', '--out', out, '--artifacts', artifacts], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 110_000,
    });
    expect(stdout).toContain('ratio Worker / native tower');
    const res = JSON.parse(readFileSync(join(out, 'e2e-latest.json'), 'utf8'));
    const manifest = JSON.parse(readFileSync(`${root}models/default/manifest.json`, 'utf8'));
    expect(res.compute.artifacts.map((a: { items: number }) => a.items)).toEqual([manifest.items, 3001]);
    for (const a of res.compute.artifacts) {
      expect(Object.keys(a.results).sort()).toEqual(['explain', 'filtered', 'plain']);
      for (const r of Object.values<any>(a.results)) {
        for (const v of ['web', 'ortweb', 'native', 'nativeAll']) expect(r[v].median).toBeGreaterThan(0);
        // The same model through the tower kernel, ORT-web and ORT-node ranks the same items.
        expect(r.sameTopK).toBe(1);
        expect(r.sameTopKOrtWeb).toBe(1);
        expect(r.maxScoreDiff).toBeLessThan(1e-3);
      }
    }
    const cold = res.cold.node[0];
    expect(cold.items).toBe(manifest.items);
    expect(cold.loadMs).toBeGreaterThan(0);
    expect(cold.memory.ortHeapBytes).toBe(0); // the tower kernels serve: ORT never starts on a load
    expect(cold.memory.kernelBytes).toBeGreaterThanOrEqual(manifest.items * manifest.dim);
    expect(Object.keys(cold.breakdown)).toContain('user tower: kernel (user_tower.bin, sha256, dequantize)');
    expect(Object.keys(cold.breakdown)).toContain('user tower: ORT init + session (the ONNX Worker, without kernels)');
    expect(readFileSync(join(out, 'e2e-latest.md'), 'utf8')).toContain('### b. The whole computation');
    expect(readFileSync(join(out, 'e2e-latest.svg'), 'utf8')).toMatch(/^<svg /);
  });
});
