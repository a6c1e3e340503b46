/**
 * The demo shop's view of the catalog: the active model's items (ids, titles, category paths,
 * prices, brands) ordered by popularity and grouped into departments. Pure.
 */
import type { Catalog } from '../core/catalog';
import { tokenize } from '../core/tokenizer';
import type { SlotItem } from '../html/render';

interface Index {
  /** Every row, most popular first. */
  byPopularity: number[];
  /** The category level that tells items apart (level 0 when it differs, 1 under a shared root). */
  level: number;
  /** Departments: the categories at `level`, biggest first. */
  departments: { name: string; rows: number[] }[];
}

const indexes = new WeakMap<Catalog, Index>();

function indexOf(catalog: Catalog): Index {
  let index = indexes.get(catalog);
  if (index) return index;
  const seen = new Set<number>();
  const byPopularity: number[] = [];
  for (const { row } of catalog.popular.popular) {
    if (row < catalog.rows && !seen.has(row)) (seen.add(row), byPopularity.push(row));
  }
  for (let r = 0; r < catalog.rows; r++) if (!seen.has(r)) byPopularity.push(r);

  let level = 0;
  const depth = Math.max(0, ...byPopularity.map((r) => catalog.categoriesOf(r).length));
  while (level < depth - 1 && new Set(byPopularity.map((r) => catalog.categoriesOf(r)[level])).size <= 1) level++;

  const groups = new Map<string, number[]>();
  for (const r of byPopularity) {
    const name = catalog.categoriesOf(r)[level];
    if (!name) continue;
    let rows = groups.get(name);
    if (!rows) groups.set(name, (rows = []));
    rows.push(r);
  }
  const departments = [...groups].map(([name, rows]) => ({ name, rows })).sort((a, b) => b.rows.length - a.rows.length);
  indexes.set(catalog, (index = { byPopularity, level, departments }));
  return index;
}

export function item(catalog: Catalog, row: number): SlotItem & { brand?: string } {
  const brand = catalog.brandOf(row);
  return { ...catalog.view(row), ...(brand ? { brand } : {}) };
}

/** Most popular first, optionally without some rows. */
export function popularRows(catalog: Catalog, n: number, exclude: readonly number[] = []): number[] {
  const skip = new Set(exclude);
  return indexOf(catalog)
    .byPopularity.filter((r) => !skip.has(r))
    .slice(0, n);
}

export function departments(catalog: Catalog): { name: string; rows: number[] }[] {
  return indexOf(catalog).departments;
}

/** The category at a path position that the shop navigates by (its departments' level). */
export function departmentLevel(catalog: Catalog): number {
  return indexOf(catalog).level;
}

/** Rows whose category path contains `name` at any level (case-insensitive, as API filters do), most popular first. */
export function rowsInCategory(catalog: Catalog, name: string): number[] {
  const wanted = name.toLowerCase();
  return indexOf(catalog).byPopularity.filter((r) => catalog.categoriesOf(r).some((c) => c.toLowerCase() === wanted));
}

/** The category path up to `name`, as the first item of that category has it. */
export function categoryPath(catalog: Catalog, name: string): string[] {
  const row = rowsInCategory(catalog, name)[0];
  if (row === undefined) return [];
  const path = catalog.categoriesOf(row);
  return path.slice(0, path.findIndex((c) => c.toLowerCase() === name.toLowerCase()) + 1);
}

/** Categories one level below `name`, with their item counts. */
export function subcategories(catalog: Catalog, name: string): { name: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const r of rowsInCategory(catalog, name)) {
    const path = catalog.categoriesOf(r);
    const child = path[path.findIndex((c) => c.toLowerCase() === name.toLowerCase()) + 1];
    if (child) counts.set(child, (counts.get(child) ?? 0) + 1);
  }
  return [...counts].map(([n, count]) => ({ name: n, count })).sort((a, b) => b.count - a.count);
}

/**
 * The shop's own keyword search (what the origin shows before the edge personalises it): items
 * whose title, categories or brand contain every query token, most popular first.
 */
export function keywordSearch(catalog: Catalog, query: string, n: number): number[] {
  const tokens = [...new Set(tokenize(query))];
  if (!tokens.length) return [];
  const out: number[] = [];
  for (const r of indexOf(catalog).byPopularity) {
    const v = catalog.view(r);
    const words = new Set(tokenize([v.title, ...(v.categories ?? []), catalog.brandOf(r)].join(' ')));
    if (tokens.every((t) => words.has(t))) out.push(r);
    if (out.length >= n) break;
  }
  return out;
}
