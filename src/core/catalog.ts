/**
 * The item catalog: ids, metadata and filter indexes, row-aligned with the item table. Pure.
 *
 * Columnar, so a million items fit next to the item table in a 128 MB isolate: ids and titles are
 * packed UTF-8 with offsets (no string object per item), ids are found through an open-addressing
 * hash index over those bytes; category paths, brands and prices are 16-bit codes into their
 * distinct values (32-bit past 65,535 of them). Strings are decoded only for the items a response returns. (As JavaScript objects
 * the same catalog took 63 MiB for 1M ids and 206 MiB with categories and prices.)
 */
import { expectTensor, readKernelFile, tensorView, type TensorSpec } from './binary-file';
import type { ItemsFile, PopularFile } from './manifest';
import { RecentMap } from './recent-map';

export interface ItemView {
  itemId: string;
  title?: string;
  categories?: string[];
  price?: number;
}

/** Request-side business rules that retrieval applies while it scans. */
export interface ItemFilters {
  categories?: string[];
  excludeItemIds?: string[];
  priceMin?: number;
  priceMax?: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Strings in one UTF-8 buffer; `missing` marks null entries (when there are any). */
export class PackedStrings {
  constructor(
    readonly bytes: Uint8Array,
    readonly offsets: Uint32Array,
    private readonly missing: Uint8Array | undefined,
  ) {}

  static from(values: readonly unknown[], rows: number, field: string): PackedStrings {
    let bytes = new Uint8Array(Math.max(64, rows * 12));
    const offsets = new Uint32Array(rows + 1);
    let missing: Uint8Array | undefined;
    let at = 0;
    for (let r = 0; r < rows; r++) {
      const v = values[r];
      if (typeof v !== 'string') {
        if (v != null) throw new Error(`items.json: ${field}[${r}] is not a string`);
        (missing ??= new Uint8Array(rows))[r] = 1;
      } else {
        // encodeInto writes at most 3 bytes per UTF-16 unit.
        if (at + v.length * 3 > bytes.length) {
          const grown = new Uint8Array(Math.max(bytes.length * 2, at + v.length * 3));
          grown.set(bytes.subarray(0, at));
          bytes = grown;
        }
        at += encoder.encodeInto(v, bytes.subarray(at)).written;
      }
      offsets[r + 1] = at;
    }
    return new PackedStrings(bytes.slice(0, at), offsets, missing);
  }

  /** Strings decoded lately: answers name the same popular items over and over. */
  private readonly recent = new RecentMap<number, string>(RECENT_STRINGS);

  get(row: number): string | undefined {
    if (this.missing?.[row]) return undefined;
    let s = this.recent.get(row);
    if (s === undefined) {
      const start = this.offsets[row]!;
      const end = this.offsets[row + 1]!;
      s = asciiOrUndefined(this.bytes, start, end) ?? decoder.decode(this.bytes.subarray(start, end));
      this.recent.set(row, s);
    }
    return s;
  }
}

/** How many decoded strings a PackedStrings keeps (each a few dozen bytes). */
const RECENT_STRINGS = 4096;

/**
 * Short ASCII strings built in JavaScript: in workerd each `TextDecoder.decode` (and the subarray it
 * needs) crosses into the runtime, which costs more than the string. Undefined when not ASCII.
 */
function asciiOrUndefined(bytes: Uint8Array, start: number, end: number): string | undefined {
  if (end - start > 128) return undefined;
  let s = '';
  for (let i = start; i < end; i++) {
    const b = bytes[i]!;
    if (b >= 0x80) return undefined;
    s += String.fromCharCode(b);
  }
  return s;
}

/** FNV-1a over bytes. */
function hashBytes(bytes: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

/** Bytewise comparison of bytes[a, a + n) with key[s, s + m): negative, 0 or positive. */
function compareBytes(bytes: Uint8Array, a: number, n: number, key: Uint8Array, s: number, m: number): number {
  const len = Math.min(n, m);
  for (let i = 0; i < len; i++) {
    const d = bytes[a + i]! - key[s + i]!;
    if (d !== 0) return d;
  }
  return n - m;
}

let keyScratch = new Uint8Array(256);

/** Ids whose rows a catalog remembers (Catalog.rowOf). */
const RECENT_ROWS = 4096;

/** An id's UTF-8 bytes, in a buffer reused by every lookup: valid until the next call. */
function keyBytes(id: string): { key: Uint8Array; n: number } {
  if (id.length * 3 > keyScratch.length) keyScratch = new Uint8Array(id.length * 3);
  return { key: keyScratch, n: encoder.encodeInto(id, keyScratch).written };
}

/** Row lookup by id: open addressing (linear probing) over the packed id bytes, load <= 0.5. */
class IdIndex {
  private readonly slots: Int32Array;
  private readonly mask: number;

  constructor(
    private readonly ids: PackedStrings,
    rows: number,
  ) {
    let cap = 16;
    while (cap < rows * 2) cap *= 2;
    const slots = (this.slots = new Int32Array(cap).fill(-1));
    const mask = (this.mask = cap - 1);
    const { bytes, offsets } = ids;
    for (let r = 0; r < rows; r++) {
      const s = offsets[r]!;
      const n = offsets[r + 1]! - s;
      let i = hashBytes(bytes, s, s + n) & mask;
      for (;;) {
        const other = slots[i]!;
        if (other < 0) break;
        const a = offsets[other]!;
        if (compareBytes(bytes, a, offsets[other + 1]! - a, bytes, s, n) === 0) break; // a repeated id: the last row wins
        i = (i + 1) & mask;
      }
      slots[i] = r;
    }
  }

  get(id: string): number | undefined {
    const { key, n } = keyBytes(id);
    const { bytes, offsets } = this.ids;
    let i = hashBytes(key, 0, n) & this.mask;
    for (;;) {
      const row = this.slots[i]!;
      if (row < 0) return undefined;
      if (compareBytes(bytes, offsets[row]!, offsets[row + 1]! - offsets[row]!, key, 0, n) === 0) return row;
      i = (i + 1) & this.mask;
    }
  }
}

/**
 * Row lookup by id through the rows in id byte order (`ids.order` of items.bin, written by the
 * trainer): a binary search, so nothing is built at load. A repeated id resolves to its last row.
 */
class SortedIdIndex {
  constructor(
    private readonly ids: PackedStrings,
    private readonly order: Uint32Array,
  ) {}

  get(id: string): number | undefined {
    const { key, n } = keyBytes(id);
    const { bytes, offsets } = this.ids;
    const cmp = (row: number) => compareBytes(bytes, offsets[row]!, offsets[row + 1]! - offsets[row]!, key, 0, n);
    // The first position whose id is greater than `id`; the one before it holds the last equal row.
    let lo = 0;
    let hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cmp(this.order[mid]!) <= 0) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0) return undefined;
    const row = this.order[lo - 1]!;
    return cmp(row) === 0 ? row : undefined;
  }
}

/**
 * Per-row values drawn from a (usually) small set: codes into a list of distinct values, 0 = none.
 * Codes are 16-bit while there are fewer than 65,536 distinct values, 32-bit beyond; undefined when
 * the column is absent.
 */
function dictionary<K, T>(
  values: readonly unknown[] | undefined,
  rows: number,
  key: (v: unknown, r: number) => K | undefined,
  value: (v: unknown) => T,
) {
  const distinct: T[] = [];
  if (!values) return { codes: undefined, distinct };
  let codes: Uint16Array | Uint32Array = new Uint16Array(rows);
  const seen = new Map<K, number>();
  for (let r = 0; r < rows; r++) {
    const k = key(values[r], r);
    if (k === undefined) continue;
    let c = seen.get(k);
    if (c === undefined) {
      distinct.push(value(values[r]));
      c = distinct.length;
      seen.set(k, c);
      if (c === 0x10000) codes = Uint32Array.from(codes);
    }
    codes[r] = c;
  }
  return { codes, distinct };
}

/** The catalog's columns (what `items.bin` holds, and what items.json is packed into). */
export interface CatalogColumns {
  rows: number;
  ids: PackedStrings;
  /** Rows in id byte order: lookups by binary search (else a hash index is built). */
  idOrder?: Uint32Array;
  titles?: PackedStrings;
  pathCodes?: Uint16Array | Uint32Array;
  paths: string[][];
  brandCodes?: Uint16Array | Uint32Array;
  brands: string[];
  priceCodes?: Uint16Array | Uint32Array;
  prices: number[];
}

export const ITEMS_FORMAT = 'edgerec-items/1';

interface ColumnarHeader {
  format: string;
  rows: number;
  paths?: string[][];
  brands?: string[];
  prices?: number[];
  tensors: Record<string, TensorSpec>;
  dataBytes: number;
}

function isColumns(x: ItemsFile | CatalogColumns): x is CatalogColumns {
  return x instanceof Object && (x as CatalogColumns).ids instanceof PackedStrings;
}

/** Packs and validates a parsed items.json. */
function columnsOf(file: ItemsFile): CatalogColumns {
  if (!file || !Array.isArray(file.ids)) throw new Error('items.json: ids must be an array of strings');
  const rows = file.ids.length;
  for (const [name, v] of Object.entries(file)) {
    if (v !== undefined && v !== null && !Array.isArray(v)) throw new Error(`items.json: ${name} must be an array`);
  }
  for (let r = 0; r < rows; r++) if (typeof file.ids[r] !== 'string') throw new Error(`items.json: ids[${r}] is not a string`);
  const paths = dictionary(
    file.categories,
    rows,
    (v, r): string | undefined => {
      if (v == null) return undefined;
      if (!Array.isArray(v) || v.some((c) => typeof c !== 'string'))
        throw new Error(`items.json: categories[${r}] is not an array of strings`);
      return v.length ? JSON.stringify(v) : undefined;
    },
    (v) => [...(v as string[])],
  );
  const brands = dictionary(
    file.brands,
    rows,
    (v, r): string | undefined => {
      if (v == null) return undefined;
      if (typeof v !== 'string') throw new Error(`items.json: brands[${r}] is not a string`);
      return v;
    },
    (v) => v as string,
  );
  const prices = dictionary(
    file.prices,
    rows,
    (v, r): number | undefined => {
      if (v == null) return undefined;
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`items.json: prices[${r}] is not a number`);
      return v;
    },
    (v) => v as number,
  );
  return {
    rows,
    ids: PackedStrings.from(file.ids, rows, 'ids'),
    titles: file.titles ? PackedStrings.from(file.titles, rows, 'titles') : undefined,
    pathCodes: paths.codes,
    paths: paths.distinct,
    brandCodes: brands.codes,
    brands: brands.distinct,
    priceCodes: prices.codes,
    prices: prices.distinct,
  };
}

export class Catalog {
  readonly rows: number;
  private readonly ids: PackedStrings;
  private readonly index: IdIndex | SortedIdIndex;
  /** Rows of recently looked-up ids (-1: not in the catalog), emptied when full. */
  private readonly recentRows = new RecentMap<string, number>(RECENT_ROWS);
  private readonly titles?: PackedStrings;
  private readonly pathCodes?: Uint16Array | Uint32Array;
  private readonly paths: string[][];
  /** Per distinct path, its lower-cased levels (for case-insensitive filters). */
  private readonly pathLevels: Set<string>[];
  private readonly brandCodes?: Uint16Array | Uint32Array;
  private readonly brands: string[];
  private readonly priceCodes?: Uint16Array | Uint32Array;
  private readonly prices: number[];
  private byPath?: { starts: Uint32Array; rows: Uint32Array };

  /**
   * From the parsed items.json (docs/ARTIFACTS.md), validated while it is packed: the JSON objects
   * can be collected as soon as this returns. Or from columns already in this layout (`items.bin`,
   * `Catalog.fromColumnar`).
   */
  constructor(
    source: ItemsFile | CatalogColumns,
    readonly popular: PopularFile,
  ) {
    const c = isColumns(source) ? source : columnsOf(source);
    this.rows = c.rows;
    this.ids = c.ids;
    this.index = c.idOrder ? new SortedIdIndex(this.ids, c.idOrder) : new IdIndex(this.ids, this.rows);
    this.titles = c.titles;
    this.pathCodes = c.pathCodes;
    this.paths = c.paths;
    this.pathLevels = this.paths.map((p) => new Set(p.map((x) => x.toLowerCase())));
    this.brandCodes = c.brandCodes;
    this.brands = c.brands;
    this.priceCodes = c.priceCodes;
    this.prices = c.prices;
  }

  /**
   * From `items.bin`, the trainer's copy of items.json in this layout: no JSON parse, no object per
   * item (a 1M-item items.json parsed into objects takes ~280 MiB before it is packed). Checked: the
   * format, every tensor's bounds, the offsets, and every code against its dictionary.
   */
  static fromColumnar(bytes: Uint8Array, popular: PopularFile): Catalog {
    const { header: h, data, fail } = readKernelFile<ColumnarHeader>(bytes, 'items.bin', ITEMS_FORMAT);
    const rows = h.rows;
    if (!Number.isInteger(rows) || rows < 0) fail('bad rows');
    const t = (name: string) => h.tensors[name];
    const u8 = (name: string) => tensorView<'uint8'>(h, data, name);
    const strings = (name: string, optional: boolean): PackedStrings | undefined => {
      if (!t(`${name}.bytes`)) return optional ? undefined : fail(`${name} are missing`);
      expectTensor(h, `${name}.bytes`, 'uint8', [-1], fail);
      expectTensor(h, `${name}.offsets`, 'uint32', [rows + 1], fail);
      const bytesOf = u8(`${name}.bytes`);
      const offsets = tensorView<'uint32'>(h, data, `${name}.offsets`);
      if (offsets[0] !== 0 || offsets[rows] !== bytesOf.length) fail(`${name}.offsets do not span ${name}.bytes`);
      for (let r = 0; r < rows; r++) if (offsets[r + 1]! < offsets[r]!) fail(`${name}.offsets decrease at row ${r}`);
      let missing: Uint8Array | undefined;
      if (t(`${name}.missing`)) {
        expectTensor(h, `${name}.missing`, 'uint8', [rows], fail);
        missing = u8(`${name}.missing`);
      }
      return new PackedStrings(bytesOf, offsets, missing);
    };
    if (t('ids.missing')) fail('every item needs an id (ids.missing is not allowed)');
    let idOrder: Uint32Array | undefined;
    if (t('ids.order')) {
      expectTensor(h, 'ids.order', 'uint32', [rows], fail);
      idOrder = tensorView<'uint32'>(h, data, 'ids.order');
      for (let i = 0; i < rows; i++) if (idOrder[i]! >= rows) fail(`ids.order[${i}] is not a row`);
    }
    const codes = (name: string, distinct: unknown[] | undefined): Uint16Array | Uint32Array | undefined => {
      const spec = t(`${name}.codes`);
      if (!spec) return undefined;
      if (!Array.isArray(distinct)) fail(`${name}: codes without a dictionary`);
      if (spec.dtype !== 'uint16' && spec.dtype !== 'uint32') fail(`${name}.codes is ${spec.dtype}, expected uint16 or uint32`);
      expectTensor(h, `${name}.codes`, spec.dtype, [rows], fail);
      const out = tensorView<'uint16' | 'uint32'>(h, data, `${name}.codes`);
      for (let r = 0; r < rows; r++) if (out[r]! > distinct!.length) fail(`${name}.codes[${r}] is past its dictionary`);
      return out;
    };
    const paths = h.paths ?? [];
    if (paths.some((p) => !Array.isArray(p) || p.some((x) => typeof x !== 'string'))) fail('paths must be arrays of strings');
    if ((h.brands ?? []).some((b) => typeof b !== 'string')) fail('brands must be strings');
    if ((h.prices ?? []).some((p) => typeof p !== 'number' || !Number.isFinite(p))) fail('prices must be finite numbers');
    return new Catalog(
      {
        rows,
        ids: strings('ids', false)!,
        idOrder,
        titles: strings('titles', true),
        pathCodes: codes('paths', h.paths),
        paths,
        brandCodes: codes('brands', h.brands),
        brands: h.brands ?? [],
        priceCodes: codes('prices', h.prices),
        prices: h.prices ?? [],
      },
      popular,
    );
  }

  rowOf(itemId: string): number | undefined {
    let row = this.recentRows.get(itemId);
    if (row !== undefined) return row < 0 ? undefined : row;
    row = this.index.get(itemId);
    // Histories keep naming the same (popular) items: a lookup of a 1M-item catalog is ~17 byte
    // comparisons at random places of a 20 MB id column, a Map hit a fraction of that.
    this.recentRows.set(itemId, row ?? -1);
    return row;
  }

  idOf(row: number): string {
    return this.ids.get(row)!;
  }

  categoriesOf(row: number): string[] {
    const c = this.pathCodes?.[row] ?? 0;
    return c > 0 ? this.paths[c - 1]! : [];
  }

  brandOf(row: number): string | undefined {
    const c = this.brandCodes?.[row] ?? 0;
    return c > 0 ? this.brands[c - 1] : undefined;
  }

  priceOf(row: number): number | undefined {
    const c = this.priceCodes?.[row] ?? 0;
    return c > 0 ? this.prices[c - 1] : undefined;
  }

  view(row: number): ItemView {
    const out: ItemView = { itemId: this.idOf(row) };
    const title = this.titles?.get(row);
    if (title !== undefined) out.title = title;
    const cats = this.categoriesOf(row);
    if (cats.length) out.categories = [...cats];
    const price = this.priceOf(row);
    if (price !== undefined) out.price = price;
    return out;
  }

  /**
   * An allow-mask (1 = may be returned) for category and price filters, or undefined when neither is
   * set. Category matching is case-insensitive on any level of the item's category path.
   */
  allowMask(filters: ItemFilters | undefined): Uint8Array | undefined {
    const cats = filters?.categories?.filter((c) => c.length > 0);
    const { priceMin, priceMax } = filters ?? {};
    if (!cats?.length && priceMin === undefined && priceMax === undefined) return undefined;
    const mask = new Uint8Array(this.rows);
    if (cats?.length) {
      const wanted = cats.map((c) => c.toLowerCase());
      const { starts, rows } = this.rowsByPath();
      for (let i = 0; i < this.pathLevels.length; i++) {
        const levels = this.pathLevels[i]!;
        if (!wanted.some((c) => levels.has(c))) continue;
        for (let j = starts[i + 1]!, end = starts[i + 2]!; j < end; j++) mask[rows[j]!] = 1;
      }
    } else {
      mask.fill(1);
    }
    if (priceMin !== undefined || priceMax !== undefined) {
      // Per price code (0 = no price): inside the range? Then one pass over the rows still allowed.
      const ok = Uint8Array.from([
        0,
        ...this.prices.map((p) => ((priceMin === undefined || p >= priceMin) && (priceMax === undefined || p <= priceMax) ? 1 : 0)),
      ]);
      const codes = this.priceCodes;
      if (!codes) mask.fill(0);
      else for (let r = 0; r < this.rows; r++) if (mask[r] === 1) mask[r] = ok[codes[r]!]!;
    }
    return mask;
  }

  /**
   * Rows grouped by category path code (a counting sort, built on the first category filter): the
   * rows of code c are rows[starts[c]..starts[c + 1]), code 0 being "no categories". 4 bytes a row.
   */
  private rowsByPath(): { starts: Uint32Array; rows: Uint32Array } {
    if (this.byPath) return this.byPath;
    const starts = new Uint32Array(this.paths.length + 2);
    const rows = new Uint32Array(this.pathCodes ? this.rows : 0);
    const codes = this.pathCodes;
    if (codes) {
      for (let r = 0; r < this.rows; r++) starts[codes[r]! + 1]!++;
      for (let c = 1; c < starts.length; c++) starts[c]! += starts[c - 1]!;
      const next = starts.slice(0, -1);
      for (let r = 0; r < this.rows; r++) rows[next[codes[r]!]!++] = r;
    }
    this.byPath = { starts, rows };
    return this.byPath;
  }

  /** Rows of the given item ids that exist in the catalog. */
  rowsOf(itemIds: readonly string[] | undefined): number[] {
    const out: number[] = [];
    for (const id of itemIds ?? []) {
      const r = this.rowOf(id);
      if (r !== undefined) out.push(r);
    }
    return out;
  }
}
