/**
 * Recommendation generation over an encoded user: retrieval with business rules inside the scan,
 * diversity, explanations. Pure: the user encoder is passed in, so this runs in workerd (ORT WASM)
 * and in Node (onnxruntime-node) unchanged.
 */
import type { Catalog, ItemFilters, ItemView } from './catalog';
import { buildEncoderBatch, historyVariants, resolveHistory, type EncoderBatch, type HistoryEvent, type ResolvedHistory } from './history';
import { dequantizeRow, scanTopK, scoreRow, type ItemTable, type ScanFilter } from './item-table';

export interface EncoderOutput {
  /** (B, D) user vectors. */
  userEmb: Float32Array;
  /** (B, C) interest distributions. */
  interests: Float32Array;
  /** (B, L) attention of the final position over history slots. */
  attention: Float32Array;
}

export type EncodeFn = (batch: EncoderBatch) => Promise<EncoderOutput>;

/** The text tower: token ids (one padded row) -> a vector in the item embedding space. */
export type EncodeTextFn = (tokens: BigInt64Array) => Promise<Float32Array>;

export interface ScoringModel {
  catalog: Catalog;
  table: ItemTable;
  maxLen: number;
  /** The user encoder takes any history length up to maxLen (manifest tensors: "L"), not exactly maxLen. */
  dynamicLength?: boolean;
  eventTypes: readonly string[];
  categories: readonly string[];
  encode: EncodeFn;
  /** Retrieval over the table (the WASM kernel in the Worker); scanTopK when absent. Same results. */
  scan?: (u: Float32Array, k: number, filter: ScanFilter) => { row: number; score: number }[];
}

export interface Reason {
  type: 'history' | 'interest' | 'popular' | 'trending';
  itemId?: string;
  event?: string;
  category?: string;
  weight: number;
}

export interface ScoredItem extends ItemView {
  score: number;
  reasons?: Reason[];
}

export interface RecommendRequest {
  history: HistoryEvent[];
  k: number;
  filters?: ItemFilters;
  excludeSeen: boolean;
  diversity: number;
  explain: boolean;
  nowSeconds: number;
}

export interface RecommendResult {
  items: ScoredItem[];
  ignored: number;
  interests?: { category: string; weight: number }[];
  coldStart: boolean;
}

/** Top interests of one encoder row, heaviest first. */
export function topInterests(categories: readonly string[], interests: Float32Array, offset: number, n = 5) {
  return categories
    .map((category, i) => ({ category, weight: interests[offset + i]! }))
    .sort((a, b) => b.weight - a.weight)
    .slice(0, n)
    .map((x) => ({ category: x.category, weight: round(x.weight) }));
}

/** A request's business rules as a scan filter: `seen` and the excluded ids left out, the rest masked. */
export function scanFilter(catalog: Catalog, filters: ItemFilters | undefined, seen: readonly number[]) {
  const excluded = new Set<number>(seen);
  for (const r of catalog.rowsOf(filters?.excludeItemIds)) excluded.add(r);
  return { excluded, allowed: catalog.allowMask(filters) };
}

/** Popularity answer for users without known events (and the fallback when no model can run). */
export function popularItems(
  catalog: Catalog,
  req: Pick<RecommendRequest, 'k' | 'filters' | 'explain'> & { seen?: number[] },
  list: 'popular' | 'trending' = 'popular',
): ScoredItem[] {
  const { excluded, allowed } = scanFilter(catalog, req.filters, req.seen ?? []);
  const ranked = catalog.popular[list].length ? catalog.popular[list] : catalog.popular.popular;
  const top = ranked[0]?.count || 1;
  const out: ScoredItem[] = [];
  const taken = new Set<number>();
  const take = (row: number, score: number) => {
    if (out.length >= req.k || taken.has(row) || excluded.has(row) || (allowed && allowed[row] !== 1)) return;
    taken.add(row);
    const item: ScoredItem = { ...catalog.view(row), score: round(score) };
    if (req.explain) item.reasons = [{ type: list, weight: round(score) }];
    out.push(item);
  };
  for (const { row, count } of ranked) if (row < catalog.rows) take(row, count / top);
  // Filters can be stricter than the popular list is long: fill from the rest of the catalog.
  for (let r = 0; r < catalog.rows && out.length < req.k; r++) take(r, 0);
  return out;
}

/**
 * Items like one item without a model: the popular items of its most specific category, then the
 * popular items of any (the similar-items fallback of the API and of the pages' slots).
 */
export function popularSimilar(catalog: Catalog, row: number, k: number, filters?: ItemFilters): ScoredItem[] {
  // A category the caller asked for wins over the item's own.
  const leaf = filters?.categories?.length ? undefined : (catalog.view(row).categories ?? []).at(-1);
  const same = leaf ? popularItems(catalog, { k, filters: { ...filters, categories: [leaf] }, explain: false, seen: [row] }) : [];
  const rest = popularItems(catalog, { k, filters, explain: false, seen: [row, ...catalog.rowsOf(same.map((i) => i.itemId))] });
  return [...same, ...rest].slice(0, k);
}

/**
 * The popularity answer to a recommend request (no model, or scoring failed): the history's items
 * excluded when `excludeSeen`, unknown history ids counted, as a model answer would.
 */
export function popularAnswer(
  catalog: Catalog,
  req: Pick<RecommendRequest, 'k' | 'filters' | 'explain' | 'history' | 'excludeSeen'>,
): { items: ScoredItem[]; ignored: number } {
  const history = resolveHistory(catalog, req.history);
  return { items: popularItems(catalog, { ...req, seen: req.excludeSeen ? history.rows : [] }), ignored: history.ignored };
}

/** Maximal marginal relevance over item embeddings: lambda = diversity in [0, 1]. */
export function mmr(table: ItemTable, candidates: { row: number; score: number }[], k: number, diversity: number) {
  if (diversity <= 0 || candidates.length <= 1) return candidates.slice(0, k);
  const vecs = candidates.map((c) => normalize(dequantizeRow(table, c.row)));
  const max = Math.max(...candidates.map((c) => c.score));
  const min = Math.min(...candidates.map((c) => c.score));
  const rel = candidates.map((c) => (max > min ? (c.score - min) / (max - min) : 1));
  const chosen: number[] = [];
  const maxSim = new Float64Array(candidates.length).fill(-1);
  const used = new Uint8Array(candidates.length);
  while (chosen.length < Math.min(k, candidates.length)) {
    let best = -1;
    let bestValue = -Infinity;
    for (let i = 0; i < candidates.length; i++) {
      if (used[i]) continue;
      const value = (1 - diversity) * rel[i]! - diversity * (chosen.length ? maxSim[i]! : 0);
      if (value > bestValue) ((bestValue = value), (best = i));
    }
    used[best] = 1;
    chosen.push(best);
    for (let i = 0; i < candidates.length; i++) {
      if (!used[i]) maxSim[i] = Math.max(maxSim[i]!, dot(vecs[i]!, vecs[best]!));
    }
  }
  return chosen.map((i) => candidates[i]!);
}

/** Runs the user tower on a resolved history: (D) user vector and (C) interests. */
export async function encodeUser(model: ScoringModel, history: ResolvedHistory, nowSeconds: number) {
  const batch = buildEncoderBatch(model.table, history, historyVariants(history.rows.length, model.maxLen, false), {
    ...model,
    nowSeconds,
  });
  const out = await model.encode(batch);
  return { userEmb: out.userEmb.slice(0, model.table.dim), interests: out.interests.slice(0, model.categories.length) };
}

/** Recommends for a history: encode, retrieve with rules in the scan, diversify, explain. */
export async function recommend(model: ScoringModel, req: RecommendRequest): Promise<RecommendResult> {
  const { catalog, table } = model;
  const history = resolveHistory(catalog, req.history);
  if (history.rows.length === 0) {
    return { items: popularItems(catalog, req), ignored: history.ignored, coldStart: true };
  }
  const variants = historyVariants(history.rows.length, model.maxLen, req.explain);
  const batch = buildEncoderBatch(table, history, variants, { ...model, nowSeconds: req.nowSeconds });
  const out = await model.encode(batch);
  const D = table.dim;
  const user = out.userEmb.subarray(0, D);

  const filter = scanFilter(catalog, req.filters, req.excludeSeen ? history.rows : []);
  const pool = req.diversity > 0 ? Math.min(Math.max(req.k * 4, 50), 400) : req.k;
  const retrieved = model.scan ? model.scan(user, pool, filter) : scanTopK(table, user, pool, filter);
  const picked = mmr(table, retrieved, req.k, req.diversity);

  const C = model.categories.length;
  const interests = C ? topInterests(model.categories, out.interests, 0) : undefined;
  const items: ScoredItem[] = picked.map(({ row, score }) => {
    const item: ScoredItem = { ...catalog.view(row), score: round(score) };
    if (req.explain) item.reasons = explainItem(model, history, variants, out, row, score, interests);
    return item;
  });
  return { items, ignored: history.ignored, interests, coldStart: false };
}

/**
 * Leave-one-out attribution: how much the item's score drops when one history event is removed
 * (variant b+1 drops the b-th of the most recent maxLen events), plus the best-matching interest.
 */
function explainItem(
  model: ScoringModel,
  history: ResolvedHistory,
  variants: number[][],
  out: EncoderOutput,
  row: number,
  score: number,
  interests: { category: string; weight: number }[] | undefined,
): Reason[] {
  const { table, catalog } = model;
  const D = table.dim;
  const drops: { pos: number; drop: number }[] = [];
  const recent = variants[0]!.slice(-model.maxLen);
  recent.forEach((pos, i) => {
    const without = scoreRow(table, row, out.userEmb.subarray((i + 1) * D, (i + 2) * D));
    drops.push({ pos, drop: score - without });
  });
  const positive = drops.filter((d) => d.drop > 0).sort((a, b) => b.drop - a.drop);
  const total = positive.reduce((s, d) => s + d.drop, 0) || 1;
  const reasons: Reason[] = positive.slice(0, 3).map((d) => ({
    type: 'history',
    itemId: catalog.idOf(history.rows[d.pos]!),
    event: history.events[d.pos],
    weight: round(d.drop / total),
  }));
  const itemCats = new Set(catalog.categoriesOf(row).map((c) => c.toLowerCase()));
  const match = interests?.find((i) => itemCats.has(i.category.toLowerCase()));
  if (match) reasons.push({ type: 'interest', category: match.category, weight: match.weight });
  return reasons;
}

function normalize(v: Float32Array): Float32Array {
  const n = Math.sqrt(dot(v, v)) || 1;
  for (let i = 0; i < v.length; i++) v[i] = v[i]! / n;
  return v;
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** Scores are rounded for the wire; ranking is done on full precision. */
export function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
