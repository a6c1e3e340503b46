import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = `${resolve(import.meta.dirname, '../..')}/`;
const out = mkdtempSync(join(tmpdir(), 'edgerec-bench-smoke-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('retrieval benchmark (smoke run, tiny N, no FAISS)', () => {
  it('runs every method but FAISS (the kernel also inside workerd) and writes JSON, Markdown and SVG', () => {
    const stdout = execFileSync(process.execPath, [`${root}scripts/bench/run.mjs`, '--smoke', '--faiss-python', 'none', '--out', out], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 110_000,
    });
    expect(stdout).toContain('ratio Worker path (in Node) / native int8');
    expect(stdout).toContain('ratio Worker path in workerd / native int8');
    const res = JSON.parse(readFileSync(join(out, 'retrieval-latest.json'), 'utf8'));
    for (const mode of ['plain', 'filtered']) {
      const byMethod = res.results['3001'][mode];
      expect(Object.keys(byMethod).sort()).toEqual([
        'js',
        'kernel',
        'kernel-workerd',
        'ort-node-fp32',
        'ort-node-int8',
        'ort-web-fp32',
        'ort-web-int8',
      ]);
      expect(byMethod.kernel.identical).toBe(true);
      // The same kernel inside workerd answers the same rows and float64 scores.
      expect(byMethod['kernel-workerd'].identical).toBe(true);
      expect(byMethod.js.identical).toBe(true);
      for (const m of Object.values<{ median: number }>(byMethod)) expect(m.median).toBeGreaterThan(0);
      expect(res.floor['3001'][mode].median).toBeGreaterThan(0);
    }
    expect(existsSync(join(out, 'retrieval-latest.md'))).toBe(true);
    expect(readFileSync(join(out, 'retrieval-latest.svg'), 'utf8')).toMatch(/^<svg /);
  });
});
