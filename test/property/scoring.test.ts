/**
 * Property-based tests (fast-check) of the pure scoring core: the int8 table and its top-k scan,
 * catalog filters, the popularity answer, MMR diversity and the encoder inputs. Each property is
 * checked against a plain reference (sort, filter) on random tables and requests, ties included.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Catalog, type ItemFilters } from '../../src/core/catalog';
import { buildEncoderBatch, EVENT_NAMES, resolveHistory } from '../../src/core/history';
import { dequantizeRow, itemTableFromBytes, scanTopK, scanTopKBy, scoreRow, type ItemTable } from '../../src/core/item-table';
import type { ItemsFile, PopularFile } from '../../src/core/manifest';
import { mmr, popularItems } from '../../src/core/recommend';
import { TopK } from '../../src/core/topk';

const RUNS = { numRuns: 200 };

/** A random int8 table; small values so that equal scores (ties) are common. */
const tableArb = fc
  .record({ rows: fc.integer({ min: 0, max: 60 }), dim: fc.integer({ min: 1, max: 8 }), wide: fc.boolean() })
  .chain(({ rows, dim, wide }) =>
    fc.record({
      rows: fc.constant(rows),
      dim: fc.constant(dim),
      q: fc.array(fc.integer({ min: wide ? -127 : -2, max: wide ? 127 : 2 }), { minLength: rows * dim, maxLength: rows * dim }),
      scales: fc.array(fc.oneof(fc.constant(0), fc.constant(1), fc.float({ min: 0, max: 2, noNaN: true })), {
        minLength: rows,
        maxLength: rows,
      }),
      u: fc.array(fc.oneof(fc.integer({ min: -3, max: 3 }), fc.float({ min: -10, max: 10, noNaN: true })), {
        minLength: dim,
        maxLength: dim,
      }),
    }),
  )
  .map(({ rows, dim, q, scales, u }) => ({
    table: { q: Int8Array.from(q), scales: Float32Array.from(scales), rows, dim } as ItemTable,
    u: Float32Array.from(u),
  }));

/** A scan filter over `rows` rows: an optional allow-mask and an optional excluded set. */
const filterArb = (rows: number) =>
  fc.record({
    allowed: fc.option(
      fc.array(fc.integer({ min: 0, max: 1 }), { minLength: rows, maxLength: rows }).map((a) => Uint8Array.from(a)),
      { nil: undefined },
    ),
    excluded: fc.option(
      fc.uniqueArray(fc.integer({ min: 0, max: Math.max(0, rows + 2) })).map((a) => new Set(a)),
      { nil: undefined },
    ),
  });

/** The reference: score every passing row, sort by score descending then row ascending, take k. */
function reference(rows: number, k: number, filter: { allowed?: Uint8Array; excluded?: Set<number> }, score: (r: number) => number) {
  const passing = [];
  for (let r = 0; r < rows; r++) {
    if (filter.allowed && filter.allowed[r] !== 1) continue;
    if (filter.excluded?.has(r)) continue;
    passing.push({ row: r, score: score(r) });
  }
  passing.sort((a, b) => b.score - a.score || a.row - b.row);
  return { top: passing.slice(0, Math.max(0, k)), passing: passing.length };
}

describe('int8 retrieval scan', () => {
  it('scanTopK equals a sort-based reference, filters always hold, and k results come back whenever k rows pass', () => {
    fc.assert(
      fc.property(
        tableArb.chain(({ table, u }) =>
          fc.record({ table: fc.constant(table), u: fc.constant(u), k: fc.integer({ min: 0, max: 70 }), filter: filterArb(table.rows) }),
        ),
        ({ table, u, k, filter }) => {
          const got = scanTopK(table, u, k, filter);
          const want = reference(table.rows, k, filter, (r) => scoreRow(table, r, u));
          expect(got).toEqual(want.top);
          expect(got).toHaveLength(Math.min(k, want.passing));
          for (const { row } of got) {
            expect(filter.excluded?.has(row) ?? false).toBe(false);
            if (filter.allowed) expect(filter.allowed[row]).toBe(1);
          }
        },
      ),
      RUNS,
    );
  });

  it('scanTopKBy with any score function agrees with the same reference', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 50 }).chain((rows) =>
          fc.record({
            rows: fc.constant(rows),
            k: fc.integer({ min: 1, max: 60 }),
            scores: fc.array(fc.oneof(fc.integer({ min: -2, max: 2 }), fc.double({ noNaN: true, noDefaultInfinity: true })), {
              minLength: rows,
              maxLength: rows,
            }),
            filter: filterArb(rows),
          }),
        ),
        ({ rows, k, scores, filter }) => {
          expect(scanTopKBy(rows, k, filter, (r) => scores[r]!)).toEqual(reference(rows, k, filter, (r) => scores[r]!).top);
        },
      ),
      RUNS,
    );
  });

  it('TopK keeps the k best of any stream, best first, lower rows winning ties', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.tuple(fc.nat(1000), fc.integer({ min: -3, max: 3 })), { maxLength: 80 }),
        (k, pushes) => {
          const heap = new TopK(k);
          const seen = new Map<number, number>();
          for (const [row, score] of pushes) if (!seen.has(row)) (seen.set(row, score), heap.push(row, score));
          const want = [...seen]
            .map(([row, score]) => ({ row, score }))
            .sort((a, b) => b.score - a.score || a.row - b.row)
            .slice(0, k);
          expect(heap.sorted()).toEqual(want);
          expect(heap.threshold).toBe(seen.size < k ? -Infinity : want.at(-1)!.score);
        },
      ),
      RUNS,
    );
  });
});

describe('int8 quantization', () => {
  /** The trainer's quantizer (docs/ARTIFACTS.md): symmetric per row, scale = max|e| / 127. */
  function quantize(rows: number[][]): { emb: ArrayBuffer; scales: ArrayBuffer; scale: Float32Array } {
    const dim = rows[0]?.length ?? 0;
    const q = new Int8Array(rows.length * dim);
    const scale = new Float32Array(rows.length);
    rows.forEach((row, r) => {
      const s = Math.fround(Math.max(0, ...row.map(Math.abs)) / 127);
      scale[r] = s;
      row.forEach((x, d) => (q[r * dim + d] = s === 0 ? 0 : Math.max(-127, Math.min(127, Math.round(x / s)))));
    });
    return { emb: q.buffer, scales: scale.buffer, scale };
  }

  it('dequantized rows are within scale/2 of the float embeddings', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 16 }).chain((dim) =>
          fc.array(fc.array(fc.float({ min: -50, max: 50, noNaN: true }), { minLength: dim, maxLength: dim }), {
            minLength: 1,
            maxLength: 20,
          }),
        ),
        (rows) => {
          const dim = rows[0]!.length;
          const { emb, scales, scale } = quantize(rows);
          const table = itemTableFromBytes(emb, scales, rows.length, dim);
          rows.forEach((row, r) => {
            const out = dequantizeRow(table, r);
            row.forEach((x, d) => {
              // scale/2 from rounding, plus float32 rounding of the scale and of the output.
              expect(Math.abs(out[d]! - x)).toBeLessThanOrEqual(scale[r]! / 2 + 1e-5 * Math.max(1, Math.abs(x)));
            });
          });
        },
      ),
      RUNS,
    );
  });

  it('blobs whose sizes disagree with the manifest are refused with an Error', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 16 }),
        fc.integer({ min: -3, max: 3 }),
        fc.integer({ min: -3, max: 3 }),
        (rows, dim, de, ds) => {
          fc.pre(de !== 0 || ds !== 0);
          const emb = new ArrayBuffer(Math.max(0, rows * dim + de));
          const scales = new ArrayBuffer(Math.max(0, rows * 4 + ds * 4));
          expect(() => itemTableFromBytes(emb, scales, rows, dim)).toThrow(Error);
        },
      ),
      RUNS,
    );
  });
});

const POOL = ['Makeup', 'makeup', 'Skin Care', 'LIPSTICK', 'Lipstick', 'Hair', 'Nails'];

/** A random catalog: category paths in mixed case, prices with gaps, a popular list with stray rows. */
const catalogArb = fc.integer({ min: 1, max: 40 }).chain((rows) =>
  fc.record({
    rows: fc.constant(rows),
    categories: fc.option(fc.array(fc.array(fc.constantFrom(...POOL), { maxLength: 3 }), { minLength: rows, maxLength: rows }), {
      nil: undefined,
    }),
    prices: fc.option(
      fc.array(fc.option(fc.double({ min: 0, max: 100, noNaN: true }), { nil: null }), { minLength: rows, maxLength: rows }),
      { nil: undefined },
    ),
    popular: fc.array(fc.record({ row: fc.nat(rows + 3), count: fc.nat(1000) }), { maxLength: rows + 5 }),
  }),
);

interface CatalogCase {
  rows: number;
  categories?: string[][];
  prices?: (number | null)[];
  popular: { row: number; count: number }[];
}

function buildCatalog(c: CatalogCase): Catalog {
  const file: ItemsFile = { ids: Array.from({ length: c.rows }, (_, r) => `item-${r}`) };
  if (c.categories) file.categories = c.categories;
  if (c.prices) file.prices = c.prices;
  const ranked = [...c.popular].sort((a, b) => b.count - a.count);
  return new Catalog(file, { popular: ranked, trending: [] } as PopularFile);
}

const filtersArb = fc.record(
  {
    categories: fc.array(fc.oneof(fc.constantFrom(...POOL.map((p) => p.toUpperCase()), ...POOL), fc.constant('')), { maxLength: 3 }),
    priceMin: fc.double({ min: 0, max: 100, noNaN: true }),
    priceMax: fc.double({ min: 0, max: 100, noNaN: true }),
    excludeItemIds: fc.array(
      fc.oneof(
        fc.nat(45).map((r) => `item-${r}`),
        fc.constant('unknown'),
      ),
      { maxLength: 10 },
    ),
  },
  { requiredKeys: [] },
);

/** Whether a row passes the category and price filters (the reference for allowMask). */
function passes(c: CatalogCase, r: number, f: ItemFilters): boolean {
  const cats = (f.categories ?? []).filter((x) => x.length > 0).map((x) => x.toLowerCase());
  if (cats.length && !(c.categories?.[r] ?? []).some((x) => cats.includes(x.toLowerCase()))) return false;
  if (f.priceMin === undefined && f.priceMax === undefined) return true;
  const p = c.prices?.[r];
  if (p === undefined || p === null) return false;
  return (f.priceMin === undefined || p >= f.priceMin) && (f.priceMax === undefined || p <= f.priceMax);
}

describe('catalog filters', () => {
  it('allowMask marks exactly the rows that pass, case-insensitively on any category level; no filter = no mask', () => {
    fc.assert(
      fc.property(catalogArb, filtersArb, (c, f) => {
        const catalog = buildCatalog(c);
        const mask = catalog.allowMask(f);
        const active = (f.categories ?? []).some((x) => x.length > 0) || f.priceMin !== undefined || f.priceMax !== undefined;
        if (!active) expect(mask).toBeUndefined();
        else for (let r = 0; r < c.rows; r++) expect(mask![r] === 1).toBe(passes(c, r, f));
      }),
      RUNS,
    );
  });

  it('rowsOf returns the rows of known ids only', () => {
    fc.assert(
      fc.property(
        catalogArb,
        fc.array(
          fc.oneof(
            fc.nat(60).map((r) => `item-${r}`),
            fc.string(),
          ),
          { maxLength: 20 },
        ),
        (c, wanted) => {
          const catalog = buildCatalog(c);
          const rows = catalog.rowsOf(wanted);
          expect(rows).toEqual(
            wanted.filter((id) => /^item-\d+$/.test(id) && Number(id.slice(5)) < c.rows).map((id) => Number(id.slice(5))),
          );
        },
      ),
      RUNS,
    );
  });

  it('the popularity answer obeys every filter, never repeats an item, and has k items whenever k pass', () => {
    fc.assert(
      fc.property(catalogArb, filtersArb, fc.integer({ min: 1, max: 50 }), fc.uniqueArray(fc.nat(45)), (c, f, k, seen) => {
        const catalog = buildCatalog(c);
        const items = popularItems(catalog, { k, filters: f, explain: false, seen });
        const excluded = new Set([...(f.excludeItemIds ?? []), ...seen.map((r) => `item-${r}`)]);
        const eligible = Array.from({ length: c.rows }, (_, r) => r).filter((r) => passes(c, r, f) && !excluded.has(`item-${r}`));
        expect(items).toHaveLength(Math.min(k, eligible.length));
        expect(new Set(items.map((i) => i.itemId)).size).toBe(items.length);
        for (const item of items) {
          const r = Number(item.itemId.slice(5));
          expect(excluded.has(item.itemId)).toBe(false);
          expect(passes(c, r, f)).toBe(true);
          expect(Number.isFinite(item.score)).toBe(true);
        }
      }),
      RUNS,
    );
  });
});

describe('diversity and encoder inputs', () => {
  it('mmr picks min(k, n) distinct candidates; diversity 0 keeps the relevance order', () => {
    fc.assert(
      fc.property(
        tableArb
          .filter(({ table }) => table.rows > 0)
          .chain(({ table, u }) =>
            fc.record({
              table: fc.constant(table),
              u: fc.constant(u),
              k: fc.integer({ min: 1, max: 30 }),
              pool: fc.integer({ min: 1, max: 60 }),
              diversity: fc.double({ min: 0, max: 1, noNaN: true }),
            }),
          ),
        ({ table, u, k, pool, diversity }) => {
          const candidates = scanTopK(table, u, pool);
          const picked = mmr(table, candidates, k, diversity);
          expect(picked).toHaveLength(Math.min(k, candidates.length));
          expect(new Set(picked.map((p) => p.row)).size).toBe(picked.length);
          for (const p of picked) expect(candidates).toContainEqual(p);
          expect(mmr(table, candidates, k, 0)).toEqual(candidates.slice(0, k));
        },
      ),
      RUNS,
    );
  });

  it('resolveHistory keeps known items oldest first (by ts when every event has one, else as given) and counts the rest; the encoder batch is left-padded', () => {
    fc.assert(
      fc.property(
        tableArb.filter(({ table }) => table.rows > 0),
        fc.array(
          fc.record({
            row: fc.integer({ min: -1, max: 70 }),
            event: fc.constantFrom(...EVENT_NAMES),
            ts: fc.option(fc.integer({ min: 0, max: 2e9 }), { nil: undefined }),
          }),
          { maxLength: 30 },
        ),
        fc.integer({ min: 1, max: 12 }),
        ({ table }, events, maxLen) => {
          const catalog = new Catalog({ ids: Array.from({ length: table.rows }, (_, r) => `item-${r}`) }, { popular: [], trending: [] });
          const history = resolveHistory(
            catalog,
            events.map((e) => ({ itemId: `item-${e.row}`, event: e.event, ts: e.ts })),
          );
          const allTimed = events.length > 1 && events.every((e) => e.ts !== undefined);
          // Array.prototype.sort is stable: equal times keep their order.
          const ordered = allTimed ? [...events].sort((a, b) => a.ts! - b.ts!) : events;
          const known = ordered.filter((e) => e.row >= 0 && e.row < table.rows);
          expect(history.rows).toEqual(known.map((e) => e.row));
          expect(history.ts).toEqual(known.map((e) => e.ts));
          expect(history.ignored).toBe(events.length - known.length);
          const positions = history.rows.map((_, i) => i);
          const eventTypes = ['pad', ...EVENT_NAMES];
          const batch = buildEncoderBatch(table, history, [positions], { maxLen, eventTypes, nowSeconds: 2e9 });
          expect(batch.histEmb).toHaveLength(maxLen * table.dim);
          const used = Math.min(maxLen, positions.length);
          for (let slot = 0; slot < maxLen; slot++) {
            const padding = slot < maxLen - used;
            expect(batch.histEvent[slot] === 0n).toBe(padding);
            if (padding) expect(batch.histAge[slot]).toBe(0);
            else expect(batch.histAge[slot]).toBeGreaterThanOrEqual(0);
          }
          // A free history axis: the same slots without the left padding (at least one slot).
          const variants = [positions, positions.slice(1)];
          const fixed = buildEncoderBatch(table, history, variants, { maxLen, eventTypes, nowSeconds: 2e9 });
          const free = buildEncoderBatch(table, history, variants, { maxLen, dynamicLength: true, eventTypes, nowSeconds: 2e9 });
          const L = Math.max(1, Math.min(maxLen, positions.length));
          expect([free.batch, free.maxLen, free.histEvent.length, free.histEmb.length]).toEqual([2, L, 2 * L, 2 * L * table.dim]);
          for (let b = 0; b < 2; b++) {
            expect(free.histEvent.subarray(b * L, (b + 1) * L)).toEqual(fixed.histEvent.subarray((b + 1) * maxLen - L, (b + 1) * maxLen));
            expect(free.histAge.subarray(b * L, (b + 1) * L)).toEqual(fixed.histAge.subarray((b + 1) * maxLen - L, (b + 1) * maxLen));
            const D = table.dim;
            expect(free.histEmb.subarray(b * L * D, (b + 1) * L * D)).toEqual(
              fixed.histEmb.subarray(((b + 1) * maxLen - L) * D, (b + 1) * maxLen * D),
            );
          }
        },
      ),
      RUNS,
    );
  });
});
