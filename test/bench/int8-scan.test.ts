import { resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { scanTopK as scanTopKJs, type ItemTable, type ScanFilter } from '../../src/core/item-table';
import { readInto } from '../../src/core/read-stream';
import { createInt8Scanner, int8ScannerFromTable, scanTopK } from '../../src/kernel/int8-scan';
import { rng } from './rng';

const root = `${resolve(import.meta.dirname, '../..')}/`;
// In Node the caller compiles the bytes itself (workers-types declares the constructor abstract,
// since workerd refuses to compile at run time; there the module comes precompiled).
const ModuleFromBytes = WebAssembly.Module as unknown as new (bytes: Uint8Array) => WebAssembly.Module;
const kernel = new ModuleFromBytes(readFileSync(`${root}src/kernel/int8_scan.wasm`));

function randomTable(rows: number, dim: number, seed: number): ItemTable {
  const r = rng(seed);
  const q = Int8Array.from({ length: rows * dim }, () => Math.round((r() * 2 - 1) * 127));
  const scales = Float32Array.from({ length: rows }, () => r() * 0.02);
  return { q, scales, rows, dim };
}

function randomQuery(dim: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: dim }, () => r() * 2 - 1);
}

/** The kernel must return exactly what scanTopK returns: same rows, same order, same float64 scores. */
function expectSame(table: ItemTable, u: Float32Array, k: number, filter: ScanFilter = {}, options = {}) {
  const scanner = int8ScannerFromTable(kernel, table, options);
  const want = scanTopKJs(table, u, k, filter);
  const got = scanner.scanTopK(u, k, filter);
  expect(got).toEqual(want);
  for (let i = 0; i < want.length; i++) {
    // toEqual already demands equality; this states the brief's tolerance explicitly.
    if (Number.isFinite(want[i]!.score))
      expect(Math.abs(got[i]!.score - want[i]!.score)).toBeLessThanOrEqual(1e-5 * Math.abs(want[i]!.score));
  }
  return { scanner, got };
}

describe('int8 kernel', () => {
  it('matches scanTopK on random tables for dims 32, 64 and 128 and row counts not a multiple of 16', () => {
    let seed = 1;
    for (const dim of [32, 64, 128]) {
      for (const rows of [1, 3, 17, 250, 1003, 4099]) {
        const table = randomTable(rows, dim, seed++);
        for (const k of [1, 10, 100]) expectSame(table, randomQuery(dim, seed++), k);
      }
    }
  });

  it('matches scanTopK for dims that are not a multiple of 16 (49-63: the all-of-u-in-locals path)', () => {
    for (const dim of [1, 7, 20, 49, 50, 63, 65, 100, 257]) expectSame(randomTable(777, dim, dim), randomQuery(dim, dim + 1), 50);
  });

  it('applies an allowed mask and an excluded set inside the scan, like scanTopK', () => {
    const table = randomTable(5003, 64, 7);
    const r = rng(8);
    const allowed = Uint8Array.from({ length: table.rows }, () => (r() < 0.1 ? 1 : 0));
    const u = randomQuery(64, 9);
    const best = scanTopKJs(table, u, 40, { allowed }).map((x) => x.row);
    const excluded = new Set([...best.slice(0, 20), 1, 2, 3, 5000]);
    expectSame(table, u, 100, { allowed });
    expectSame(table, u, 100, { excluded });
    const { got } = expectSame(table, u, 100, { allowed, excluded });
    expect(got).toHaveLength(100);
    expect(got.every(({ row }) => allowed[row] === 1 && !excluded.has(row))).toBe(true);
  });

  it('applies a sparse mask (under half of each chunk allowed) for dims with and without u in registers', () => {
    for (const dim of [16, 50, 64, 100]) {
      const table = randomTable(3001, dim, dim);
      const r = rng(dim + 1);
      const allowed = Uint8Array.from({ length: table.rows }, () => (r() < 0.2 ? 1 : 0));
      expectSame(table, randomQuery(dim, dim + 2), 50, { allowed });
    }
  });

  it('treats only mask bytes equal to 1 as allowed, and a short mask as disallowing the rest', () => {
    const table = randomTable(1000, 32, 11);
    const u = randomQuery(32, 12);
    const odd = Uint8Array.from({ length: 1000 }, (_, i) => i % 3);
    expectSame(table, u, 100, { allowed: odd });
    expectSame(table, u, 100, { allowed: new Uint8Array(400).fill(1) });
  });

  it('ignores excluded members that are not rows, and handles excluded sets larger than its list', () => {
    const table = randomTable(3000, 64, 13);
    const u = randomQuery(64, 14);
    expectSame(table, u, 20, { excluded: new Set([-1, 1.5, 3000, 1e9, Number.NaN, 7]) });
    const many = new Set(Array.from({ length: 2500 }, (_, i) => (i * 7) % 3000));
    expectSame(table, u, 20, { excluded: many }, { maxExcluded: 16 });
  });

  it('returns every passing row when k exceeds them', () => {
    const table = randomTable(999, 64, 15);
    const u = randomQuery(64, 16);
    const allowed = new Uint8Array(999);
    for (const r of [5, 100, 998, 400]) allowed[r] = 1;
    const { got } = expectSame(table, u, 100, { allowed, excluded: new Set([100]) });
    expect(got.map((x) => x.row).sort((a, b) => a - b)).toEqual([5, 400, 998]);
    expect(expectSame(table, u, 5000).got).toHaveLength(999);
  });

  it('breaks ties by row, ascending: duplicate rows, zero rows and a zero query', () => {
    const table = randomTable(2000, 64, 17);
    // rows 100..199 copy row 50; rows 300..399 are zero (scale 0).
    for (let r = 100; r < 200; r++) {
      table.q.copyWithin(r * 64, 50 * 64, 51 * 64);
      table.scales[r] = table.scales[50]!;
    }
    for (let r = 300; r < 400; r++) {
      table.q.fill(0, r * 64, (r + 1) * 64);
      table.scales[r] = 0;
    }
    const u = randomQuery(64, 18);
    expectSame(table, u, 30);
    expectSame(table, u, 150);
    // Aim the query at row 50 so the duplicates are the top scores.
    const aimed = Float32Array.from({ length: 64 }, (_, d) => table.q[50 * 64 + d]!);
    const { got } = expectSame(table, aimed, 60);
    const ties = got.slice(1).filter((x, i) => x.score === got[i]!.score);
    expect(ties.length).toBeGreaterThan(30);
    expect(got.slice(1).every((x, i) => x.score < got[i]!.score || (x.score === got[i]!.score && x.row > got[i]!.row))).toBe(true);
    expectSame(table, new Float32Array(64), 10);
  });

  it('falls back to scanTopK, with the same results, when ties overflow its candidate buffer', () => {
    // Every row identical: all upper bounds tie near the threshold.
    const rows = 5000;
    const table = randomTable(rows, 32, 19);
    for (let r = 1; r < rows; r++) {
      table.q.copyWithin(r * 32, 0, 32);
      table.scales[r] = table.scales[0]!;
    }
    const { scanner } = expectSame(table, randomQuery(32, 20), 10, {}, { maxCandidates: 256 });
    expect(scanner.stats.fallbacks).toBe(1);
  });

  it('falls back for inputs its bounds do not cover: NaN queries, odd scales, non-integer k', () => {
    const table = randomTable(500, 64, 21);
    const u = randomQuery(64, 22);
    const nan = u.slice();
    nan[3] = Number.NaN;
    expectSame(table, nan, 10);
    expectSame(table, u, 0);
    expectSame(table, u, -3);
    const odd = { ...table, scales: table.scales.map((s, i) => (i === 7 ? -s : s)) };
    const { scanner } = expectSame(odd, u, 10);
    expect(scanner.stats.fallbacks).toBe(1);
  });

  it('rescans correctly many times in a row (no state leaks between scans)', () => {
    const table = randomTable(3001, 64, 23);
    const scanner = int8ScannerFromTable(kernel, table);
    const r = rng(24);
    const allowed = Uint8Array.from({ length: table.rows }, () => (r() < 0.3 ? 1 : 0));
    for (let i = 0; i < 20; i++) {
      const u = randomQuery(64, 100 + i);
      const filter: ScanFilter = i % 3 === 0 ? {} : i % 3 === 1 ? { allowed } : { excluded: new Set([i, 2 * i]) };
      expect(scanner.scanTopK(u, 1 + i * 7, filter)).toEqual(scanTopKJs(table, u, 1 + i * 7, filter));
    }
  });

  it('is a drop-in scanTopK: kernel for scanner tables, plain scan for any other table', () => {
    const table = randomTable(800, 64, 25);
    const scanner = int8ScannerFromTable(kernel, table);
    const u = randomQuery(64, 26);
    expect(scanTopK(scanner.table, u, 10)).toEqual(scanTopKJs(table, u, 10));
    expect(scanTopK(table, u, 10)).toEqual(scanTopKJs(table, u, 10));
  });

  it('fills its table from a stream, and refuses a stream of the wrong length', async () => {
    const table = randomTable(100, 64, 27);
    const scanner = createInt8Scanner(kernel, 100, 64);
    const bytes = new Uint8Array(table.q.buffer);
    const stream = (data: Uint8Array) =>
      new ReadableStream<Uint8Array>({
        start(c) {
          for (let i = 0; i < data.length; i += 1000) c.enqueue(data.slice(i, i + 1000));
          c.close();
        },
      });
    await readInto(stream(bytes), new Uint8Array(scanner.table.q.buffer, scanner.table.q.byteOffset, 6400));
    scanner.table.scales.set(table.scales);
    const u = randomQuery(64, 28);
    expect(scanner.scanTopK(u, 10)).toEqual(scanTopKJs(table, u, 10));
    await expect(readInto(stream(bytes.subarray(0, 6000)), new Uint8Array(6400))).rejects.toThrow(/6000 bytes/);
  });

  it('holds a 1M x 64 table in about 70 MB of kernel memory', () => {
    const scanner = createInt8Scanner(kernel, 1_000_000, 64);
    expect(scanner.memoryBytes).toBeGreaterThan(68_000_000);
    expect(scanner.memoryBytes).toBeLessThan(72 * 2 ** 20);
  });

  it('ships a .wasm that matches its .wat source', () => {
    expect(() => execFileSync(process.execPath, [`${root}scripts/bench/build-kernel.mjs`, '--check'], { stdio: 'pipe' })).not.toThrow();
  });
});
