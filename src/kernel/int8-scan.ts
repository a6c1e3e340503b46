/**
 * Retrieval over the int8 item table with a WebAssembly SIMD128 kernel (int8_scan.wat), returning
 * exactly what `scanTopK` in src/core/item-table.ts returns (same rows, same float64 scores, same
 * tie order: score descending, then row ascending). Pure: imports nothing from hono, `cloudflare:*`
 * or onnxruntime-web; the compiled kernel is injected by the caller.
 *
 *   workerd: `import kernel from '../kernel/int8_scan.wasm'` (wrangler's CompiledWasm rule)
 *   Node:    `new WebAssembly.Module(readFileSync('src/kernel/int8_scan.wasm'))`
 *
 * How: the kernel scores every row approximately (u quantized to int16, int8 x int16 dot products)
 * and keeps a top-k threshold on guaranteed lower bounds; rows whose upper bound cannot reach it are
 * skipped during the scan, filters included. The few hundred rows left are rescored here with
 * `scoreRow` (the float64 arithmetic of scanTopK) and sorted. Inputs the bounds do not cover (a zero
 * or non-finite query, odd scales, a very large k, massive ties) go to `scanTopK` itself.
 *
 * Memory: the table lives in the kernel's linear memory, once per model. `scanner.table` is an
 * ordinary `ItemTable` whose `q` and `scales` are views of that memory: fill them once (for instance
 * with `readInto` (src/core/read-stream.ts) straight from an R2 body, so the bytes are never held twice), then scan.
 */
import { scanTopK as scanTopKJs, scoreRow, type ItemTable, type ScanFilter } from '../core/item-table';

type Scored = { row: number; score: number };

interface KernelExports {
  scan(
    table: number,
    stride: number,
    rows: number,
    scales: number,
    mask: number,
    excl: number,
    nexcl: number,
    u: number,
    uEnd: number,
    work: number,
    heap: number,
    k: number,
    cand: number,
    cap: number,
    c: number,
  ): number;
}

/** Sizes of the kernel's buffers besides the table. */
export interface Int8ScannerOptions {
  /** Candidate buffer entries (8 bytes each); bounds the largest k served by the kernel to a quarter. */
  maxCandidates?: number;
  /** Excluded rows handled as a sorted list (4 bytes each); larger sets become a mask. */
  maxExcluded?: number;
}

/** A kernel instance holding one item table. */
export interface Int8Scanner {
  /** The item table as views of kernel memory; fill `q` and `scales` before the first scan. */
  readonly table: ItemTable;
  /** Bytes of WebAssembly memory this scanner holds (table, scales, mask and buffers). */
  readonly memoryBytes: number;
  /** Same contract and results as `scanTopK(table, u, k, filter)` in src/core/item-table.ts. */
  scanTopK(u: Float32Array, k: number, filter?: ScanFilter): Scored[];
  /** Counters for benchmarks: the kernel's candidates last scan, and scans handed to scanTopK. */
  readonly stats: { lastCandidates: number; fallbacks: number };
}

const PAGE = 65536;
const MAX_DIM = 512; // |I| <= 128 * dim * 32767 must fit int32
const U_AT = 64;
const align16 = (n: number) => (n + 15) & ~15;
const scanners = new WeakMap<ItemTable, Int8Scanner>();

/**
 * Allocates a scanner for a `rows x dim` table: one WebAssembly.Memory sized exactly, never grown
 * (so the `table` views stay valid). Synchronous; the module must be compiled already.
 */
export function createInt8Scanner(module: WebAssembly.Module, rows: number, dim: number, options: Int8ScannerOptions = {}): Int8Scanner {
  if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(dim) || dim < 1) throw new Error(`bad table shape ${rows} x ${dim}`);
  const rows4 = (rows + 3) & ~3;
  const uChunks = Math.ceil(dim / 16);
  const cap = Math.min(rows + 1, options.maxCandidates ?? 65536);
  const maxExcluded = options.maxExcluded ?? 4096;

  // Layout (byte offsets, 16-aligned); see int8_scan.wat.
  const uAt = U_AT;
  const workAt = align16(uAt + uChunks * 32);
  const tableAt = workAt + 16384;
  const scalesAt = align16(tableAt + rows4 * dim + 16);
  const maskAt = align16(scalesAt + rows4 * 4);
  const exclAt = align16(maskAt + rows4 + 16);
  const heapAt = align16(exclAt + maxExcluded * 4);
  const candAt = align16(heapAt + cap * 4);
  const end = candAt + cap * 8;
  const pages = Math.ceil(end / PAGE);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  const kernel = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as KernelExports;

  const buf = memory.buffer;
  const table: ItemTable = {
    q: new Int8Array(buf, tableAt, rows * dim),
    scales: new Float32Array(buf, scalesAt, rows),
    rows,
    dim,
  };
  const uq = new Int16Array(buf, uAt, uChunks * 16);
  const mask = new Uint8Array(buf, maskAt, rows);
  const excl = new Int32Array(buf, exclAt, maxExcluded);
  const heap = new Float32Array(buf, heapAt, cap);
  const heapSize = new Int32Array(buf, 0, 1);
  const candRows = new Int32Array(buf, candAt, cap * 2);
  const candUpper = new Float32Array(buf, candAt, cap * 2);
  const stats = { lastCandidates: 0, fallbacks: 0 };
  let scalesOk: boolean | undefined;

  /** Whether the bounds hold for these scales: finite, >= 0, and no product under- or overflows f32. */
  const checkScales = () => {
    const s = table.scales;
    for (let r = 0; r < rows; r++) {
      const v = s[r]!;
      if (!(v >= 0 && v < 2 ** 90) || (v > 0 && v < 2 ** -64)) return false;
    }
    return true;
  };

  const fallback = (u: Float32Array, k: number, filter: ScanFilter) => {
    stats.fallbacks++;
    return scanTopKJs(table, u, k, filter);
  };

  const scan = (u: Float32Array, k: number, filter: ScanFilter = {}): Scored[] => {
    if (!Number.isInteger(k) || k <= 0) return scanTopKJs(table, u, k, filter);
    scalesOk ??= checkScales();
    if (!scalesOk || dim > MAX_DIM || u.length < dim || (cap <= rows && k * 4 > cap)) return fallback(u, k, filter);

    // Quantize u to int16: uq = round(u / us), us = max|u| / 32767.
    let m = 0;
    for (let d = 0; d < dim; d++) m = Math.max(m, Math.abs(u[d]!));
    if (!(m > 0 && m < Infinity)) return fallback(u, k, filter); // zero, NaN or infinite query
    const us = m / 32767;
    let delta = 0;
    for (let d = 0; d < dim; d++) {
      const v = Math.max(-32767, Math.min(32767, Math.round(u[d]! / us)));
      uq[d] = v;
      delta = Math.max(delta, Math.abs(u[d]! / us - v));
    }
    // C (units of us) >= |E[r]| (at most 128 * dim * delta, delta <= 1/2) plus the float32 roundings of
    // the bounds (< dim, as |I| < 2^22 * dim) and of the float64 rescoring (< 2^-13 * dim): see the .wat.
    const c = Math.fround(128 * dim * delta * (1 + 2 ** -20) + 2 * dim + 1);

    // Filters: `allowed` becomes the kernel's mask (copied), `excluded` a sorted list or mask holes.
    let maskPtr = 0;
    let nexcl = 0;
    const { allowed, excluded } = filter;
    const exRows = excluded && excluded.size > 0 ? excludedRows(excluded, rows) : undefined;
    if (allowed || (exRows && exRows.length > maxExcluded)) {
      if (allowed) {
        const n = Math.min(rows, allowed.length);
        mask.set(n === allowed.length ? allowed : allowed.subarray(0, n));
        if (n < rows) mask.fill(0, n);
      } else mask.fill(1);
      if (exRows) for (const r of exRows) mask[r] = 0;
      maskPtr = maskAt;
    } else if (exRows) {
      excl.set(exRows);
      nexcl = exRows.length;
    }

    const n = kernel.scan(tableAt, dim, rows, scalesAt, maskPtr, exclAt, nexcl, uAt, uAt + uChunks * 32, workAt, heapAt, k, candAt, cap, c);
    stats.lastCandidates = n;
    if (n < 0) return fallback(u, k, filter);

    // Exact rescoring of the rows whose upper bound reaches the final threshold.
    const threshold = heapSize[0] === k ? heap[0]! : -Infinity;
    const out: Scored[] = [];
    for (let i = 0; i < n; i++) {
      if (candUpper[2 * i + 1]! < threshold) continue;
      const row = candRows[2 * i]!;
      out.push({ row, score: scoreRow(table, row, u) });
    }
    out.sort((a, b) => b.score - a.score || a.row - b.row);
    if (out.length > k) out.length = k;
    return out;
  };

  const scanner: Int8Scanner = { table, memoryBytes: pages * PAGE, scanTopK: scan, stats };
  scanners.set(table, scanner);
  return scanner;
}

/** Integer members of `excluded` inside [0, rows), sorted ascending (the only ones scanTopK can match). */
function excludedRows(excluded: ReadonlySet<number>, rows: number): Int32Array {
  const out: number[] = [];
  for (const r of excluded) if (Number.isInteger(r) && r >= 0 && r < rows) out.push(r);
  return Int32Array.from(out).sort();
}

/** A scanner holding a copy of `table` (Node, tests, benchmarks; the Worker fills `scanner.table` directly). */
export function int8ScannerFromTable(module: WebAssembly.Module, table: ItemTable, options?: Int8ScannerOptions): Int8Scanner {
  const scanner = createInt8Scanner(module, table.rows, table.dim, options);
  scanner.table.q.set(table.q.subarray(0, table.rows * table.dim));
  scanner.table.scales.set(table.scales.subarray(0, table.rows));
  return scanner;
}

/**
 * Drop-in for `scanTopK` in src/core/item-table.ts: uses the kernel when `table` is a scanner's
 * `table`, and the plain scan otherwise.
 */
export function scanTopK(table: ItemTable, u: Float32Array, k: number, filter: ScanFilter = {}): Scored[] {
  const scanner = scanners.get(table);
  return scanner ? scanner.scanTopK(u, k, filter) : scanTopKJs(table, u, k, filter);
}
