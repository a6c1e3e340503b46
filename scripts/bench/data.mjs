/**
 * Synthetic, deterministic retrieval data shaped like the artifact (docs/ARTIFACTS.md): clustered
 * float embeddings (items and users share 64 topics), quantized per row to int8 + float32 scale.
 * Smaller sizes are prefixes of the largest, so one table serves every N.
 */

/** mulberry32: small, fast, good enough for benchmark data. */
export function rng(seed) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  let spare;
  const gauss = () => {
    if (spare !== undefined) {
      const v = spare;
      spare = undefined;
      return v;
    }
    const u = next() || 1e-12;
    const r = Math.sqrt(-2 * Math.log(u));
    const a = 2 * Math.PI * next();
    spare = r * Math.sin(a);
    return r * Math.cos(a);
  };
  return { next, gauss };
}

const TOPICS = 64;

/** `rows x dim` int8 table with per-row scales: e = 0.6 * topic + 0.8 * noise, q = round(e / s). */
export function makeTable(rows, dim, seed = 1) {
  const g = rng(seed);
  const centers = Float32Array.from({ length: TOPICS * dim }, () => g.gauss() / Math.sqrt(dim));
  const q = new Int8Array(rows * dim);
  const scales = new Float32Array(rows);
  const e = new Float32Array(dim);
  for (let r = 0; r < rows; r++) {
    const c = Math.floor(g.next() * TOPICS) * dim;
    let m = 0;
    for (let d = 0; d < dim; d++) {
      e[d] = 0.6 * centers[c + d] + (0.8 * g.gauss()) / Math.sqrt(dim);
      m = Math.max(m, Math.abs(e[d]));
    }
    const s = Math.fround(m / 127);
    scales[r] = s;
    for (let d = 0; d < dim; d++) q[r * dim + d] = s > 0 ? Math.max(-127, Math.min(127, Math.round(e[d] / s))) : 0;
  }
  return { table: { q, scales, rows, dim }, centers };
}

/** `count` user vectors near random topics (float32, like the user tower's output). */
export function makeQueries(centers, dim, count, seed = 2) {
  const g = rng(seed);
  return Array.from({ length: count }, () => {
    const c = Math.floor(g.next() * TOPICS) * dim;
    return Float32Array.from({ length: dim }, (_, d) => 3 * (centers[c + d] + (0.5 * g.gauss()) / Math.sqrt(dim)));
  });
}

/** The allowed mask (a `fraction` of rows, 1 = allowed) shared by every query at one N. */
export function makeAllowed(rows, fraction, seed = 3) {
  const g = rng(seed);
  return Uint8Array.from({ length: rows }, () => (g.next() < fraction ? 1 : 0));
}

/**
 * An "exclude seen" set per query: half from the query's own best allowed rows (so excluding them
 * changes the answer), half random allowed rows.
 */
export function makeExcluded(bestAllowedRows, allowed, size, seed) {
  const g = rng(seed);
  const out = new Set(bestAllowedRows.slice(0, Math.floor(size / 2)));
  while (out.size < size) {
    const r = Math.floor(g.next() * allowed.length);
    if (allowed[r] === 1) out.add(r);
  }
  return out;
}
