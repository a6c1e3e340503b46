/**
 * The int8 item table and the retrieval scan over it. Pure.
 *
 * score(r) = scale[r] * sum_d q[r, d] * u[d]   (docs/ARTIFACTS.md), accumulated in float64.
 */
import { TopK } from './topk';

export interface ItemTable {
  /** Row-major int8 embeddings, `rows * dim`. */
  readonly q: Int8Array;
  /** One scale per row. */
  readonly scales: Float32Array;
  readonly rows: number;
  readonly dim: number;
}

/** Which rows a scan may return. Rows outside `allowed` (when given) or inside `excluded` are skipped. */
export interface ScanFilter {
  excluded?: ReadonlySet<number>;
  allowed?: Uint8Array;
}

/** Wraps raw blob bytes as an item table, checking their sizes against the manifest. */
export function itemTableFromBytes(emb: ArrayBuffer, scales: ArrayBuffer, rows: number, dim: number): ItemTable {
  if (emb.byteLength !== rows * dim) throw new Error(`item embeddings: ${emb.byteLength} bytes, expected ${rows * dim}`);
  if (scales.byteLength !== rows * 4) throw new Error(`item scales: ${scales.byteLength} bytes, expected ${rows * 4}`);
  return { q: new Int8Array(emb), scales: new Float32Array(scales), rows, dim };
}

/** The dequantized embedding of one row. */
export function dequantizeRow(table: ItemTable, row: number, out = new Float32Array(table.dim)): Float32Array {
  const s = table.scales[row]!;
  const base = row * table.dim;
  for (let d = 0; d < table.dim; d++) out[d] = table.q[base + d]! * s;
  return out;
}

/** Score of one row for a query vector. */
export function scoreRow(table: ItemTable, row: number, u: Float32Array): number {
  const { q, dim } = table;
  const base = row * dim;
  let acc = 0;
  for (let d = 0; d < dim; d++) acc += q[base + d]! * u[d]!;
  return acc * table.scales[row]!;
}

/**
 * Scans every row, applying the filter during the scan (so k results come back whenever k rows pass),
 * and returns the top k rows by score, best first.
 */
export function scanTopK(table: ItemTable, u: Float32Array, k: number, filter: ScanFilter = {}): { row: number; score: number }[] {
  const heap = new TopK(k);
  const { excluded, allowed } = filter;
  for (let r = 0; r < table.rows; r++) {
    if (allowed && allowed[r] !== 1) continue;
    if (excluded && excluded.has(r)) continue;
    heap.push(r, scoreRow(table, r, u));
  }
  return heap.sorted();
}

/** Like scanTopK, with any per-row score (similarity, search); same filter and tie rules. */
export function scanTopKBy(rows: number, k: number, filter: ScanFilter, score: (row: number) => number): { row: number; score: number }[] {
  const heap = new TopK(k);
  const { excluded, allowed } = filter;
  for (let r = 0; r < rows; r++) {
    if (allowed && allowed[r] !== 1) continue;
    if (excluded && excluded.has(r)) continue;
    heap.push(r, score(r));
  }
  return heap.sorted();
}

const norms = new WeakMap<ItemTable, Float32Array>();

/** L2 norms of the dequantized rows, computed once per table. */
export function rowNorms(table: ItemTable): Float32Array {
  let out = norms.get(table);
  if (!out) {
    out = new Float32Array(table.rows);
    const { q, dim, scales } = table;
    for (let r = 0; r < table.rows; r++) {
      let s = 0;
      for (let d = 0; d < dim; d++) s += q[r * dim + d]! * q[r * dim + d]!;
      out[r] = Math.sqrt(s) * scales[r]!;
    }
    norms.set(table, out);
  }
  return out;
}
