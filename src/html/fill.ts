/**
 * Items for a page's slots from the serving model and the shopper's session: the same code paths as
 * the JSON API (`recommend`, `similarItems`, `searchItems`), started once per page and shared by its slots.
 */
import type { Catalog, ItemFilters } from '../core/catalog';
import { resolveHistory, type HistoryEvent } from '../core/history';
import { encodeUser, popularItems, popularSimilar, recommend } from '../core/recommend';
import { lexicalSearch, queryVector, searchItems, similarItems } from '../core/search';
import type { Env } from '../env';
import { historyFor } from '../model/session-store';
import { getModelState, type LoadedModel } from '../model/store';
import type { SlotFiller, SlotOutcome, SlotRequest } from './slots';

function filtersOf(slot: SlotRequest): ItemFilters {
  return { excludeItemIds: slot.excludeItemIds, ...(slot.category ? { categories: [slot.category] } : {}) };
}

/**
 * A slot filler for one page view of one user. The model state and the user's stored events are
 * fetched once, as soon as the page starts, not once per slot.
 */
export function recommenderFiller(env: Env, userId: string, waitUntil?: (p: Promise<unknown>) => void): SlotFiller {
  const state = getModelState(env, waitUntil);
  const history: Promise<HistoryEvent[]> = historyFor(env, userId, []).catch((err: unknown) => {
    // Without the session the page is still worth serving: slots answer as for a new visitor.
    console.error('edgerec: session read failed, serving slots without history', err);
    return [];
  });
  // Both are awaited by the slots; a page without slots must not leave an unhandled rejection behind.
  state.catch(() => undefined);
  const nowSeconds = Math.floor(Date.now() / 1000);

  async function forRecommend(slot: SlotRequest): Promise<SlotOutcome> {
    const s = await state;
    const req = { k: slot.k, filters: filtersOf(slot), explain: false };
    if (!s.model) {
      // The catalog alone still gives the non-personalised answer, as /v1/recommend does.
      if (s.fallbackCatalog) return { items: popularItems(s.fallbackCatalog.catalog, req), personalised: false };
      return { keep: 'no-model' };
    }
    try {
      const result = await recommend(s.model, { ...req, history: await history, excludeSeen: true, diversity: 0, nowSeconds });
      return { items: result.items, personalised: !result.coldStart };
    } catch (err) {
      console.error('edgerec: scoring failed, filling the slot with popular items', err);
      return { items: popularItems(s.model.catalog, req), personalised: false };
    }
  }

  /** `run` with the serving model; without one, `fallback` on the catalog the popularity fallback serves. */
  async function withModel(
    run: (model: LoadedModel) => Promise<SlotOutcome>,
    fallback: (catalog: Catalog) => SlotOutcome,
  ): Promise<SlotOutcome> {
    const { model, fallbackCatalog } = await state;
    if (model) return run(model);
    return fallbackCatalog ? fallback(fallbackCatalog.catalog) : { keep: 'no-model' };
  }

  const fill = (slot: SlotRequest): Promise<SlotOutcome> => {
    switch (slot.kind) {
      case 'recommend':
        return forRecommend(slot);
      case 'similar':
        return withModel(
          async (model) => {
            const row = model.catalog.rowOf(slot.itemId!);
            if (row === undefined) return { keep: 'unknown-item' };
            return { items: similarItems(model.table, model.catalog, row, slot.k, filtersOf(slot)), personalised: false };
          },
          // Without a model, as /v1/items/{id}/similar: popular items of the item's category.
          (catalog) => {
            const row = catalog.rowOf(slot.itemId!);
            if (row === undefined) return { keep: 'unknown-item' };
            return { items: popularSimilar(catalog, row, slot.k, filtersOf(slot)), personalised: false };
          },
        );
      case 'search':
        return withModel(
          async (model) => {
            const query = slot.query!;
            const queryVec = await queryVector(model.text, query);
            const resolved = resolveHistory(model.catalog, await history);
            const userVec = resolved.rows.length ? (await encodeUser(model, resolved, nowSeconds)).userEmb : undefined;
            const items = searchItems(model.table, model.catalog, { query, k: slot.k, filters: filtersOf(slot), queryVec, userVec });
            return { items, personalised: Boolean(userVec) };
          },
          // Without a model, as /v1/search: the catalog's words.
          (catalog) => ({
            items: lexicalSearch(catalog, { query: slot.query!, k: slot.k, filters: filtersOf(slot) }),
            personalised: false,
          }),
        );
    }
  };

  // Two slots asking the same thing (e.g. two "for you" rails) are computed once.
  const memo = new Map<string, Promise<SlotOutcome>>();
  return (slot) => {
    const key = JSON.stringify(slot);
    let outcome = memo.get(key);
    if (!outcome) memo.set(key, (outcome = fill(slot)));
    return outcome;
  };
}
