/** The columnar catalog: the same answers as the items.json it was built from. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Catalog, PackedStrings } from '../../src/core/catalog';
import type { ItemsFile } from '../../src/core/manifest';

const popular = { popular: [], trending: [] };

describe('Catalog', () => {
  const file: ItemsFile = {
    ids: ['a-1', 'ünï-çødé', '日本語', '', 'x'.repeat(300), 'b-2'],
    titles: ['Red lipstick', null, 'Tea', '', 'Long', 'Blue'],
    categories: [['Beauty', 'Makeup', 'Lips'], [], ['Food', 'Tea'], ['Beauty', 'Skin'], ['Beauty', 'Makeup', 'Lips'], ['Food']],
    brands: ['Acme', null, 'Leaf', 'Acme', null, 'Leaf'],
    prices: [9.99, null, 3, 0, 1e6, 19.5],
  };
  const catalog = new Catalog(file, popular);

  it('finds every id and gives it back, whatever its characters or length', () => {
    expect(catalog.rows).toBe(6);
    file.ids.forEach((id, row) => {
      expect(catalog.rowOf(id)).toBe(row);
      expect(catalog.idOf(row)).toBe(id);
    });
    expect(catalog.rowOf('a-2')).toBeUndefined();
    expect(catalog.rowOf('A-1')).toBeUndefined();
    expect(catalog.rowsOf(['b-2', 'nope', 'a-1'])).toEqual([5, 0]);
  });

  it('views carry what items.json says, and nothing it does not', () => {
    expect(catalog.view(0)).toEqual({ itemId: 'a-1', title: 'Red lipstick', categories: ['Beauty', 'Makeup', 'Lips'], price: 9.99 });
    expect(catalog.view(1)).toEqual({ itemId: 'ünï-çødé' });
    expect(catalog.view(3)).toEqual({ itemId: '', title: '', categories: ['Beauty', 'Skin'], price: 0 });
    expect(catalog.brandOf(0)).toBe('Acme');
    expect(catalog.brandOf(1)).toBeUndefined();
    expect(catalog.priceOf(1)).toBeUndefined();
    expect(catalog.categoriesOf(1)).toEqual([]);
  });

  it('filters by any category level, case-insensitively, and by price', () => {
    const rows = (m: Uint8Array | undefined) => [...(m ?? [])].flatMap((v, r) => (v ? [r] : []));
    expect(rows(catalog.allowMask({ categories: ['makeup'] }))).toEqual([0, 4]);
    expect(rows(catalog.allowMask({ categories: ['BEAUTY'] }))).toEqual([0, 3, 4]);
    expect(rows(catalog.allowMask({ categories: ['tea', 'lips'] }))).toEqual([0, 2, 4]);
    expect(rows(catalog.allowMask({ priceMin: 1, priceMax: 20 }))).toEqual([0, 2, 5]);
    expect(rows(catalog.allowMask({ categories: ['food'], priceMax: 5 }))).toEqual([2]);
    expect(catalog.allowMask({})).toBeUndefined();
  });

  it('a repeated id resolves to its last row', () => {
    expect(new Catalog({ ids: ['a', 'b', 'a'] }, popular).rowOf('a')).toBe(2);
  });

  it('holds 100k ids (and more distinct prices than 16-bit codes hold) and finds each', () => {
    const ids = Array.from({ length: 100_000 }, (_, i) => `sku-${(i * 7919) % 1_000_003}`);
    const prices = ids.map((_, i) => (i % 3 === 0 ? null : i / 100));
    const big = new Catalog({ ids, prices }, popular);
    for (let i = 0; i < ids.length; i += 997) {
      expect(big.rowOf(ids[i]!)).toBe(i);
      expect(big.priceOf(i)).toBe(prices[i] ?? undefined);
    }
    expect(big.priceOf(99_998)).toBe(999.98);
    expect(big.rowOf('sku-missing')).toBeUndefined();
  });

  it('answers a lookup the same the second time, past its cache of recent ids (found and missing alike)', () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => `sku-${i}`);
    const catalog = new Catalog({ ids }, popular);
    // 3 passes over 6,000 ids, half of them missing: the cache of 4,096 fills and empties on the way.
    for (let pass = 0; pass < 3; pass++) {
      for (let i = 0; i < 6000; i++) {
        const id = i % 2 ? `sku-${i}` : `missing-${i}`;
        expect(catalog.rowOf(id)).toBe(i % 2 ? i : undefined);
      }
    }
  });

  it('gives back every packed string as TextDecoder reads its bytes, twice (then from its cache), ASCII or not', () => {
    const decoder = new TextDecoder();
    const encoder = new TextEncoder();
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.string({ maxLength: 40 }),
            fc.string({ unit: 'grapheme', maxLength: 20 }),
            fc.string({ unit: 'binary', maxLength: 20 }),
            fc.string({ minLength: 120, maxLength: 140 }),
          ),
          { maxLength: 30 },
        ),
        (values) => {
          const packed = PackedStrings.from(values, values.length, 'ids');
          for (let pass = 0; pass < 2; pass++) {
            values.forEach((v, r) => expect(packed.get(r)).toBe(decoder.decode(encoder.encode(v))));
          }
        },
      ),
      { seed: 42, numRuns: 300 },
    );
  });

  it.each([
    [{ ids: 'a' }, /ids must be an array/],
    [{ ids: ['a', 3] }, /ids\[1\] is not a string/],
    [{ ids: ['a'], titles: [4] }, /titles\[0\] is not a string/],
    [{ ids: ['a'], categories: ['x'] }, /categories\[0\] is not an array of strings/],
    [{ ids: ['a'], prices: ['1'] }, /prices\[0\] is not a number/],
    [{ ids: ['a'], brands: {} }, /brands must be an array/],
  ])('rejects a malformed items.json with a clear error (%#)', (bad, message) => {
    expect(() => new Catalog(bad as unknown as ItemsFile, popular)).toThrow(message);
  });
});
