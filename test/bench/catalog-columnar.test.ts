/**
 * `items.bin`, the catalog's columnar file: the trainer's (Python) and the benchmarks' (JavaScript)
 * writers, read by `Catalog.fromColumnar`, give exactly the catalog that items.json gives.
 */
import { resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Catalog } from '../../src/core/catalog';
import type { ItemsFile } from '../../src/core/manifest';
// @ts-expect-error: a plain .mjs script without types
import { columnarItems } from '../../scripts/bench/artifact.mjs';

const root = `${resolve(import.meta.dirname, '../..')}/`;

/** A valid items.bin whose ids.order names a row that does not exist. */
function orderPastRows(): Uint8Array {
  const bytes = new Uint8Array(columnarItems({ ids: ['a', 'b'] }));
  const len = new DataView(bytes.buffer).getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + len)));
  const start = (8 + len + 15) & ~15;
  new DataView(bytes.buffer).setUint32(start + header.tensors['ids.order'].offset, 7, true);
  return bytes;
}
const popular = { popular: [], trending: [] };

function expectSameCatalog(a: Catalog, b: Catalog, file: ItemsFile) {
  expect(b.rows).toBe(a.rows);
  for (let r = 0; r < a.rows; r++) {
    expect(b.view(r)).toEqual(a.view(r));
    expect(b.brandOf(r)).toBe(a.brandOf(r));
    expect(b.rowOf(file.ids[r]!)).toBe(r);
  }
  const categories = new Set((file.categories ?? []).flat());
  for (const c of [...categories].slice(0, 30))
    expect(b.allowMask({ categories: [c.toUpperCase()] })).toEqual(a.allowMask({ categories: [c] }));
  expect(b.allowMask({ priceMin: 10, priceMax: 30 })).toEqual(a.allowMask({ priceMin: 10, priceMax: 30 }));
  expect(b.rowOf('no-such-item')).toBeUndefined();
}

describe('items.bin', () => {
  it("the trainer's items.bin of the default model is its items.json", () => {
    const manifest = JSON.parse(readFileSync(`${root}models/default/manifest.json`, 'utf8'));
    expect(manifest.files.itemsColumnar.path).toBe('items.bin');
    const file = JSON.parse(readFileSync(`${root}models/default/items.json`, 'utf8')) as ItemsFile;
    const bin = Catalog.fromColumnar(new Uint8Array(readFileSync(`${root}models/default/items.bin`)), popular);
    expectSameCatalog(new Catalog(file, popular), bin, file);
  });

  it("the benchmarks' writer gives the same catalog, unicode ids and missing values included", () => {
    const file: ItemsFile = {
      ids: ['a', 'ünï', '日本', '', 'z'.repeat(200)],
      categories: [['Beauty', 'Lips'], [], ['Food'], ['Beauty', 'Lips'], ['Home']],
      prices: [1.5, null, 20, 20, 29.99],
    };
    const bin = Catalog.fromColumnar(new Uint8Array(columnarItems(file)), popular);
    expectSameCatalog(new Catalog(file, popular), bin, file);
  });

  it('finds ids by binary search over ids.order; a repeated id resolves to its last row, as with items.json', () => {
    const file: ItemsFile = { ids: ['b', 'a', 'c', 'a', 'ab', ''] };
    const bin = Catalog.fromColumnar(new Uint8Array(columnarItems(file)), popular);
    expect(['b', 'a', 'c', 'ab', ''].map((id) => bin.rowOf(id))).toEqual([0, 3, 2, 4, 5]);
    expect(['a', 'b', 'c', 'ab', ''].map((id) => bin.rowOf(id))).toEqual(
      ['a', 'b', 'c', 'ab', ''].map((id) => new Catalog(file, popular).rowOf(id)),
    );
    for (const missing of ['aa', 'bb', 'd', ' ', 'A']) expect(bin.rowOf(missing)).toBeUndefined();
  });

  it('reads the file in place when its data section is aligned in the buffer, and from a copy when not', () => {
    const file: ItemsFile = { ids: ['x1', 'x2', 'x3'], categories: [['A'], ['B'], ['A']], prices: [1, 2, 3] };
    const bytes = new Uint8Array(columnarItems(file));
    const want = new Catalog(file, popular);
    for (const at of [0, 16, 3, 5]) {
      const host = new Uint8Array(bytes.length + 32);
      host.set(bytes, at);
      expectSameCatalog(want, Catalog.fromColumnar(host.subarray(at, at + bytes.length), popular), file);
    }
  });

  const good = new Uint8Array(columnarItems({ ids: ['a', 'b'], prices: [1, 2] }));
  /** `good` with its JSON header changed (and the data section moved to the header's new end). */
  const edit = (mutate: (header: any) => void) => {
    const len = new DataView(good.buffer).getUint32(4, true);
    const header = JSON.parse(new TextDecoder().decode(good.subarray(8, 8 + len)));
    mutate(header);
    const text = new TextEncoder().encode(JSON.stringify(header));
    const data = good.subarray((8 + len + 15) & ~15);
    const start = (8 + text.length + 15) & ~15;
    const out = new Uint8Array(start + data.length);
    out.set(good.subarray(0, 4));
    new DataView(out.buffer).setUint32(4, text.length, true);
    out.set(text, 8);
    out.set(data, start);
    return out;
  };
  it.each([
    ['a dictionary shorter than its codes', edit((h) => (h.prices = [1])), /prices\.codes\[1\] is past its dictionary/],
    ['another format', edit((h) => (h.format = 'edgerec-items/0')), /format edgerec-items\/0/],
    ['truncated', good.slice(0, good.length - 4), /bytes, the header says/],
    ['an id order past the rows', orderPastRows(), /ids\.order\[\d\] is not a row/],
    ['items without ids', edit((h) => (h.tensors['ids.missing'] = h.tensors['ids.order'])), /every item needs an id/],
  ])('rejects %s with a clear error', (_name, bytes, message) => {
    expect(() => Catalog.fromColumnar(bytes as Uint8Array, popular)).toThrow(message);
  });
});
