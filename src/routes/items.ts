import { createRoute, z } from '@hono/zod-openapi';
import { lexicalSearch, searchItems, similarItems } from '../core/search';
import { ApiError } from '../http/errors';
import { routeGroup, waitUntilOf } from '../http/factory';
import { errorResponses, eventSchema, filtersSchema, idSchema, itemSchema, kSchema } from '../http/schemas';
import { fastSearchRequest, withFastPath } from '../http/fast-parse';
import { historyFor } from '../model/session-store';
import { getModelState } from '../model/store';
import { resolveHistory } from '../core/history';
import { encodeUser, popularItems } from '../core/recommend';

export const itemRoutes = routeGroup();

const itemsResponse = z
  .object({ model: z.object({ version: z.string() }).optional(), items: z.array(itemSchema), fallback: z.enum(['popular', 'lexical']).optional() })
  .openapi('ItemsResponse');
const notFound = { description: 'Unknown item', content: { 'application/json': { schema: errorResponses[400].content['application/json'].schema } } };

itemRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/v1/items/{itemId}/similar',
    summary: 'Items similar to one item (cosine over item embeddings)',
    request: {
      params: z.object({ itemId: idSchema }),
      query: z.object({
        // Decimal digits only (no "0x10", "1e1" or " 5"); an empty `k=` means the default.
        k: z
          .string()
          .regex(/^\d{0,3}$/, 'must be an integer from 1 to 100')
          .optional()
          .transform((v) => (v ? Number(v) : 10))
          .pipe(z.number().int().min(1).max(100))
          .openapi({ type: 'integer', minimum: 1, maximum: 100, default: 10 }),
      }),
    },
    responses: {
      200: { description: 'Similar items', content: { 'application/json': { schema: itemsResponse } } },
      404: notFound,
      ...errorResponses,
    },
  }),
  async (c) => {
    const { itemId } = c.req.valid('param');
    const { k } = c.req.valid('query');
    const s = await getModelState(c.env, waitUntilOf(c));
    // Without a model, the catalog the fallback serves still tells a known item from an unknown one.
    const catalog = s.model?.catalog ?? s.fallbackCatalog?.catalog;
    if (!catalog) throw new ApiError(503, 'model_unavailable', 'No model is loaded.', s.error);
    const row = catalog.rowOf(itemId);
    if (row === undefined) throw new ApiError(404, 'item_not_found', `Unknown item ${itemId}.`, { field: 'itemId', itemId });
    if (!s.model) {
      // The popularity fallback: popular items sharing the item's most specific category, then any.
      const version = s.fallbackCatalog!.version;
      const path = catalog.view(row).categories ?? [];
      const leaf = path.at(-1);
      const same = leaf ? popularItems(catalog, { k, filters: { categories: [leaf] }, explain: false, seen: [row] }) : [];
      const rest = popularItems(catalog, { k, explain: false, seen: [row, ...catalog.rowsOf(same.map((i) => i.itemId))] });
      return c.json({ model: { version }, items: [...same, ...rest].slice(0, k), fallback: 'popular' as const }, 200);
    }
    return c.json({ model: { version: s.model.version }, items: similarItems(s.model.table, catalog, row, k) }, 200);
  },
);

export const searchRequestSchema = withFastPath(
  z.object({
    query: z.string().trim().min(1).max(256),
    userId: idSchema.optional(),
    history: z.array(eventSchema).max(200).default([]),
    k: kSchema,
    filters: filtersSchema.optional(),
  }).openapi('SearchRequest'),
  fastSearchRequest,
);

itemRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/v1/search',
    summary: 'Items matching a query, ordered for this user',
    request: { body: { required: true, content: { 'application/json': { schema: searchRequestSchema } } } },
    responses: { 200: { description: 'Matching items', content: { 'application/json': { schema: itemsResponse } } }, ...errorResponses },
  }),
  async (c) => {
    const body = c.req.valid('json');
    const s = await getModelState(c.env, waitUntilOf(c));
    if (!s.model) {
      // No model: the catalog the popularity fallback serves can still be searched by words.
      if (!s.fallbackCatalog) throw new ApiError(503, 'model_unavailable', 'No model is loaded.', s.error);
      const items = lexicalSearch(s.fallbackCatalog.catalog, body);
      return c.json({ model: { version: s.fallbackCatalog.version }, items, fallback: 'lexical' as const }, 200);
    }
    const model = s.model;
    const queryVec = model.text
      ? await model.text.encode(model.text.vocab.encode(body.query)).catch((err: unknown) => (console.error('edgerec: text tower failed; lexical search only', err), undefined))
      : undefined;
    const history = resolveHistory(model.catalog, await historyFor(c.env, body.userId, body.history));
    // Personalisation only re-orders matches: if the user tower fails, search answers unpersonalised.
    const userVec = history.rows.length
      ? await encodeUser(model, history, Math.floor(Date.now() / 1000)).then(
          (u) => u.userEmb,
          (err: unknown) => (console.error('edgerec: user tower failed in search', err), undefined),
        )
      : undefined;
    const items = searchItems(model.table, model.catalog, { query: body.query, k: body.k, filters: body.filters, queryVec, userVec });
    return c.json({ model: { version: model.version }, items }, 200);
  },
);
