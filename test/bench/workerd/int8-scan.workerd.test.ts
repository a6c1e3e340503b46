import { describe, expect, it } from 'vitest';
import { scanTopK as scanTopKJs, type ItemTable } from '../../../src/core/item-table';
import { int8ScannerFromTable } from '../../../src/kernel/int8-scan';
import kernel from '../../../src/kernel/int8_scan.wasm';
import { rng } from '../rng';

describe('int8 kernel inside workerd', () => {
  it('arrives as a compiled module (CompiledWasm rule), instantiates, and matches scanTopK', () => {
    expect(kernel).toBeInstanceOf(WebAssembly.Module);
    const r = rng(1);
    const rows = 20_011;
    const table: ItemTable = {
      q: Int8Array.from({ length: rows * 64 }, () => Math.round((r() * 2 - 1) * 127)),
      scales: Float32Array.from({ length: rows }, () => r() * 0.02),
      rows,
      dim: 64,
    };
    const scanner = int8ScannerFromTable(kernel, table);
    const allowed = Uint8Array.from({ length: rows }, () => (r() < 0.1 ? 1 : 0));
    for (let i = 0; i < 5; i++) {
      const u = Float32Array.from({ length: 64 }, () => r() * 2 - 1);
      const filter = i % 2 ? { allowed, excluded: new Set([1, 2, 3]) } : {};
      expect(scanner.scanTopK(u, 100, filter)).toEqual(scanTopKJs(table, u, 100, filter));
    }
    expect(scanner.stats.fallbacks).toBe(0);
  });

  it('matches scanTopK for dims around the all-of-u-in-locals path (49-64) and past it, dense and sparse', () => {
    for (const dim of [48, 49, 63, 65]) {
      const r = rng(dim);
      const rows = 3_001;
      const table: ItemTable = {
        q: Int8Array.from({ length: rows * dim }, () => Math.round((r() * 2 - 1) * 127)),
        scales: Float32Array.from({ length: rows }, () => r() * 0.02),
        rows,
        dim,
      };
      const scanner = int8ScannerFromTable(kernel, table);
      const allowed = Uint8Array.from({ length: rows }, () => (r() < 0.2 ? 1 : 0));
      for (const filter of [{}, { allowed }]) {
        const u = Float32Array.from({ length: dim }, () => r() * 2 - 1);
        expect(scanner.scanTopK(u, 50, filter)).toEqual(scanTopKJs(table, u, 50, filter));
      }
      expect(scanner.stats.fallbacks).toBe(0);
    }
  });
});
