/** The item catalog: ids, metadata and filter indexes, row-aligned with the item table. Pure. */
import type { ItemsFile, PopularFile } from './manifest';

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

export class Catalog {
  readonly rows: number;
  private readonly rowById = new Map<string, number>();
  private readonly rowsByCategory = new Map<string, number[]>();

  constructor(
    private readonly file: ItemsFile,
    readonly popular: PopularFile,
  ) {
    this.rows = file.ids.length;
    file.ids.forEach((id, row) => this.rowById.set(id, row));
    file.categories?.forEach((cats, row) => {
      for (const c of new Set(cats.map((x) => x.toLowerCase()))) {
        let list = this.rowsByCategory.get(c);
        if (!list) this.rowsByCategory.set(c, (list = []));
        list.push(row);
      }
    });
  }

  rowOf(itemId: string): number | undefined {
    return this.rowById.get(itemId);
  }

  idOf(row: number): string {
    return this.file.ids[row]!;
  }

  categoriesOf(row: number): string[] {
    return this.file.categories?.[row] ?? [];
  }

  brandOf(row: number): string | undefined {
    return this.file.brands?.[row] ?? undefined;
  }

  priceOf(row: number): number | undefined {
    return this.file.prices?.[row] ?? undefined;
  }

  view(row: number): ItemView {
    const out: ItemView = { itemId: this.file.ids[row]! };
    const title = this.file.titles?.[row];
    if (title != null) out.title = title;
    const cats = this.file.categories?.[row];
    if (cats && cats.length) out.categories = cats;
    const price = this.file.prices?.[row];
    if (price != null) out.price = price;
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
      for (const c of cats) for (const r of this.rowsByCategory.get(c.toLowerCase()) ?? []) mask[r] = 1;
    } else {
      mask.fill(1);
    }
    if (priceMin !== undefined || priceMax !== undefined) {
      for (let r = 0; r < this.rows; r++) {
        if (mask[r] !== 1) continue;
        const p = this.priceOf(r);
        if (p === undefined || (priceMin !== undefined && p < priceMin) || (priceMax !== undefined && p > priceMax)) mask[r] = 0;
      }
    }
    return mask;
  }

  /** Rows of the given item ids that exist in the catalog. */
  rowsOf(itemIds: readonly string[] | undefined): number[] {
    const out: number[] = [];
    for (const id of itemIds ?? []) {
      const r = this.rowById.get(id);
      if (r !== undefined) out.push(r);
    }
    return out;
  }
}
