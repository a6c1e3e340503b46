/**
 * Item-to-item similarity and personalised search over the item table. Pure.
 */
import type { Catalog, ItemFilters } from './catalog';
import { dequantizeRow, rowNorms, scanTopKBy, scoreRow, type ItemTable } from './item-table';
import { round, scanFilter, type ScoredItem } from './recommend';
import { tokenize } from './tokenizer';

/** Items most similar to one item: cosine over item embeddings, the item itself excluded. */
export function similarItems(table: ItemTable, catalog: Catalog, row: number, k: number, filters?: ItemFilters): ScoredItem[] {
  const norm = rowNorms(table);
  const query = dequantizeRow(table, row);
  const qn = norm[row] || 1;
  const top = scanTopKBy(table.rows, k, scanFilter(catalog, filters, [row]), (r) => scoreRow(table, r, query) / ((norm[r] || 1) * qn));
  return top.map(({ row: r, score }) => ({ ...catalog.view(r), score: round(score) }));
}

const lexicons = new WeakMap<Catalog, Map<string, number[]>>();

/** token -> rows whose title, categories or brand contain it; built once per catalog. */
function lexicon(catalog: Catalog): Map<string, number[]> {
  let index = lexicons.get(catalog);
  if (!index) {
    index = new Map();
    for (let r = 0; r < catalog.rows; r++) {
      const v = catalog.view(r);
      const text = [v.title ?? '', ...(v.categories ?? []), catalog.brandOf(r) ?? ''].join(' ');
      for (const t of new Set(tokenize(text))) {
        let rows = index.get(t);
        if (!rows) index.set(t, (rows = []));
        rows.push(r);
      }
    }
    lexicons.set(catalog, index);
  }
  return index;
}

/** Per row, the share of the query's distinct tokens found in its title, categories or brand. */
function lexicalScores(catalog: Catalog, query: string): Float32Array {
  const tokens = [...new Set(tokenize(query))];
  const lexical = new Float32Array(catalog.rows);
  const index = lexicon(catalog);
  for (const t of tokens) for (const r of index.get(t) ?? []) lexical[r]! += 1 / tokens.length;
  return lexical;
}

export interface SearchInput {
  query: string;
  k: number;
  filters?: ItemFilters;
  /** The query encoded by the text tower, when the model has one. */
  queryVec?: Float32Array;
  /** The user's vector, when there is a history: it re-orders the matching items. */
  userVec?: Float32Array;
  /** Rows to leave out (e.g. excluded ids). */
  exclude?: number[];
}

/**
 * Personalised search. Relevance = lexical match (share of query tokens found in the item's title,
 * categories or brand) + cosine between the text-tower query vector and the item. The top candidates
 * by relevance are then re-ordered with the user's affinity (z-scored within the candidates, squashed to +-0.2), so the
 * user changes the order of matching items, not what matches.
 */
export function searchItems(table: ItemTable, catalog: Catalog, input: SearchInput): ScoredItem[] {
  const lexical = lexicalScores(catalog, input.query);
  const norm = rowNorms(table);
  const qv = input.queryVec;
  const qn = qv ? Math.sqrt(qv.reduce((s, x) => s + x * x, 0)) || 1 : 1;
  const relevance = (r: number) => lexical[r]! + (qv ? scoreRow(table, r, qv) / ((norm[r] || 1) * qn) : 0);
  const pool = Math.max(input.k * 5, 100);
  const candidates = scanTopKBy(table.rows, pool, scanFilter(catalog, input.filters, input.exclude ?? []), relevance);
  let ranked = candidates;
  if (input.userVec && candidates.length > 1) {
    const affinity = candidates.map((c) => scoreRow(table, c.row, input.userVec!));
    const mean = affinity.reduce((s, x) => s + x, 0) / affinity.length;
    const sd = Math.sqrt(affinity.reduce((s, x) => s + (x - mean) ** 2, 0) / affinity.length) || 1;
    ranked = candidates
      .map((c, i) => ({ row: c.row, score: c.score + 0.2 * Math.tanh((affinity[i]! - mean) / sd) }))
      .sort((a, b) => b.score - a.score || a.row - b.row);
  }
  return ranked.slice(0, input.k).map(({ row, score }) => ({ ...catalog.view(row), score: round(score) }));
}

/**
 * Search with the catalog alone, for when no model is loaded: items matching the most query tokens
 * (title, categories, brand), the more popular first among equals. Items that match nothing are not
 * returned.
 */
export function lexicalSearch(catalog: Catalog, input: Pick<SearchInput, 'query' | 'k' | 'filters'>): ScoredItem[] {
  const lexical = lexicalScores(catalog, input.query);
  const rank = new Map(catalog.popular.popular.map(({ row }, i) => [row, i]));
  const { excluded, allowed } = scanFilter(catalog, input.filters, []);
  const rows: number[] = [];
  for (let r = 0; r < catalog.rows; r++) if (lexical[r]! > 0 && !excluded.has(r) && (!allowed || allowed[r] === 1)) rows.push(r);
  rows.sort((a, b) => lexical[b]! - lexical[a]! || (rank.get(a) ?? Infinity) - (rank.get(b) ?? Infinity) || a - b);
  return rows.slice(0, input.k).map((r) => ({ ...catalog.view(r), score: round(lexical[r]!) }));
}
