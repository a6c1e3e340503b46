/**
 * Item-to-item similarity and personalised search over the item table. Pure.
 */
import type { Catalog, ItemFilters } from './catalog';
import { dequantizeRow, rowNorms, scanTopKBy, scoreRow, type ItemTable } from './item-table';
import { round, scanFilter, type EncodeTextFn, type ScoredItem } from './recommend';
import { tokenize, type Vocab } from './tokenizer';

/** Items most similar to one item: cosine over item embeddings, the item itself excluded. */
export function similarItems(table: ItemTable, catalog: Catalog, row: number, k: number, filters?: ItemFilters): ScoredItem[] {
  const norm = rowNorms(table);
  const query = dequantizeRow(table, row);
  const qn = norm[row] || 1;
  const top = scanTopKBy(table.rows, k, scanFilter(catalog, filters, [row]), (r) => scoreRow(table, r, query) / ((norm[r] || 1) * qn));
  return top.map(({ row: r, score }) => ({ ...catalog.view(r), score: round(score) }));
}

/**
 * A light English singular for matching words, applied to the catalog's words and the query's alike:
 * "lipsticks" -> "lipstick", "brushes" -> "brush", "berries" -> "berry"; "glass", "gloss", "bonus"
 * and short words stay. Both sides go through it, so a rare wrong cut still matches its own kind.
 */
export function singular(token: string): string {
  if (token.length <= 3 || !/[a-z]s$/.test(token)) return token;
  if (/(ss|us|is)$/.test(token)) return token;
  if (token.endsWith('ies') && token.length > 4) return `${token.slice(0, -3)}y`;
  if (/(ches|shes|xes|zes|sses)$/.test(token)) return token.slice(0, -2);
  return token.slice(0, -1);
}

/** A word as matching reads it: accents folded ("lumière" = "lumiere"), then `singular`. */
export function matchWord(token: string): string {
  return singular(token.normalize('NFD').replace(/\p{M}+/gu, ''));
}

const lexicons = new WeakMap<Catalog, Map<string, number[]>>();

/** Matching word (`matchWord`) -> rows whose title, categories or brand contain it; built once per catalog. */
function lexicon(catalog: Catalog): Map<string, number[]> {
  let index = lexicons.get(catalog);
  if (!index) {
    index = new Map();
    for (let r = 0; r < catalog.rows; r++) {
      const v = catalog.view(r);
      const text = [v.title ?? '', ...(v.categories ?? []), catalog.brandOf(r) ?? ''].join(' ');
      for (const t of new Set(tokenize(text).map(matchWord))) {
        let rows = index.get(t);
        if (!rows) index.set(t, (rows = []));
        rows.push(r);
      }
    }
    lexicons.set(catalog, index);
  }
  return index;
}

/**
 * Items that match a query, with how well. A row's score is the IDF-weighted share of the query's
 * words found in its title, categories or brand (a word the catalog does not have weighs most, so
 * "zzqx lipstick" still finds lipsticks but ranks them as a partial match). An item matches when it
 * scores at least half the best item's: "moisturizer for dry skin" matches moisturizers and dry-skin
 * products, not everything "for" someone; a query none of whose words the catalog has matches nothing.
 */
function lexicalMatches(catalog: Catalog, query: string): Map<number, number> {
  const rows = lexicon(catalog);
  const words = [...new Set(tokenize(query).map(matchWord))];
  const weight = (t: string) => Math.log((catalog.rows + 1) / ((rows.get(t)?.length ?? 0) + 1)) + 1;
  const total = words.reduce((s, t) => s + weight(t), 0);
  const scores = new Map<number, number>();
  for (const t of words) {
    const w = weight(t) / total;
    for (const r of rows.get(t) ?? []) scores.set(r, (scores.get(r) ?? 0) + w);
  }
  let best = 0;
  for (const v of scores.values()) best = Math.max(best, v);
  for (const [r, v] of scores) if (v < best / 2) scores.delete(r);
  return scores;
}

const foldedVocabs = new WeakMap<Vocab, Map<string, string>>();

/** The tower's words by how matching reads them (`matchWord`): "solene" finds "solène", "lipsticks" "lipstick". */
function foldedVocab(vocab: Vocab): Map<string, string> {
  let map = foldedVocabs.get(vocab);
  if (!map) {
    map = new Map();
    for (const t of vocab.file.tokens) {
      const word = matchWord(t);
      if (!map.has(word)) map.set(word, t);
    }
    foldedVocabs.set(vocab, map);
  }
  return map;
}

/**
 * The query as the text tower should read it: each word it does not know replaced by the word it
 * knows that matching reads alike (`matchWord`: "lipsticks" -> "lipstick", "solene" -> "solène");
 * undefined when it knows none of the words, whose hashed buckets would only place the query at random.
 */
function towerQuery(vocab: Vocab, query: string): string | undefined {
  const words = tokenize(query).map((t) => (vocab.has(t) ? t : (foldedVocab(vocab).get(matchWord(t)) ?? t)));
  return words.some((t) => vocab.has(t)) ? words.join(' ') : undefined;
}

/**
 * The text tower's vector of a query (the words it knows, `towerQuery`): undefined without a tower or
 * when it knows none of the words. For /v1/search and the pages' search slots alike.
 */
export function queryVector(text: { vocab: Vocab; encode: EncodeTextFn } | undefined, query: string): Promise<Float32Array> | undefined {
  const words = text && towerQuery(text.vocab, query);
  return text && words ? text.encode(text.vocab.encode(words)) : undefined;
}

export interface SearchInput {
  query: string;
  k: number;
  filters?: ItemFilters;
  /** The query encoded by the text tower (`towerQuery`), when the model has one that knows its words. */
  queryVec?: Float32Array;
  /** The user's vector, when there is a history: it re-orders the matching items. */
  userVec?: Float32Array;
  /** Rows to leave out (e.g. excluded ids). */
  exclude?: number[];
}

/**
 * Personalised search over the items that match the query (`lexicalMatches`). Relevance = the match
 * score + cosine between the text-tower query vector and the item, so the tower orders the matches
 * (a close "Eau de Parfum" before a partial one) but never brings in an item that does not match.
 * The top candidates by relevance are then re-ordered with the user's affinity (z-scored within the
 * candidates, squashed to +-0.2), so the user changes the order of matching items, not what matches.
 * No item matches: an empty list.
 */
export function searchItems(table: ItemTable, catalog: Catalog, input: SearchInput): ScoredItem[] {
  const matches = lexicalMatches(catalog, input.query);
  if (!matches.size) return [];
  const norm = rowNorms(table);
  const qv = input.queryVec;
  const qn = qv ? Math.sqrt(qv.reduce((s, x) => s + x * x, 0)) || 1 : 1;
  const relevance = (r: number) => matches.get(r)! + (qv ? scoreRow(table, r, qv) / ((norm[r] || 1) * qn) : 0);
  const pool = Math.max(input.k * 5, 100);
  const { excluded, allowed } = scanFilter(catalog, input.filters, input.exclude ?? []);
  const candidates = scanTopKBy(table.rows, pool, { excluded, allowed: matchMask(catalog.rows, matches, allowed) }, relevance);
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

/** 1 for the rows that match and pass the filters' mask (if any), 0 elsewhere. */
function matchMask(rows: number, matches: Map<number, number>, allowed: Uint8Array | undefined): Uint8Array {
  const mask = new Uint8Array(rows);
  for (const r of matches.keys()) if (!allowed || allowed[r] === 1) mask[r] = 1;
  return mask;
}

/**
 * Search with the catalog alone, for when no model is loaded: the items that match the query
 * (`lexicalMatches`), the better match first, then the more popular among equals.
 */
export function lexicalSearch(catalog: Catalog, input: Pick<SearchInput, 'query' | 'k' | 'filters'>): ScoredItem[] {
  const matches = lexicalMatches(catalog, input.query);
  const rank = new Map(catalog.popular.popular.map(({ row }, i) => [row, i]));
  const { excluded, allowed } = scanFilter(catalog, input.filters, []);
  const rows = [...matches.keys()].filter((r) => !excluded.has(r) && (!allowed || allowed[r] === 1));
  rows.sort((a, b) => matches.get(b)! - matches.get(a)! || (rank.get(a) ?? Infinity) - (rank.get(b) ?? Infinity) || a - b);
  return rows.slice(0, input.k).map((r) => ({ ...catalog.view(r), score: round(matches.get(r)!) }));
}
