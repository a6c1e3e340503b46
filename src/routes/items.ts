import * as z from '../core/zod';
import { lexicalSearch, queryVector, searchItems, similarItems } from '../core/search';
import { ApiError } from '../http/errors';
import { routeGroup, waitUntilOf } from '../http/factory';
import { documented, named, route } from '../http/openapi';
import {
  bodyErrorResponses,
  errorDoc,
  errorResponses,
  filtersSchema,
  historySchema,
  idSchema,
  integer,
  itemSchema,
  kSchema,
} from '../http/schemas';
import { fastSearchRequest, withFastPath } from '../http/fast-parse';
import { historyFor } from '../model/session-store';
import { getModelState } from '../model/store';
import { resolveHistory } from '../core/history';
import { encodeUser, popularSimilar } from '../core/recommend';

export const itemRoutes = routeGroup();

const itemsResponse = named(
  'ItemsResponse',
  z.object({
    model: z.optional(z.object({ version: z.string() })),
    items: z.array(itemSchema),
    fallback: z.optional(z.enum(['popular', 'lexical'])),
  }),
);

/** `k` in a query string: decimal digits only (no "0x10", "1e1" or " 5"); an empty `k=` means the default. */
const kQuerySchema = documented(
  z.pipe(
    z.pipe(
      z.optional(z.string().check(z.regex(/^\d{0,3}$/, 'must be an integer from 1 to 100'))),
      z.transform((v) => (v ? Number(v) : 10)),
    ),
    integer(1, 100),
  ),
  // The document shows what a client sends: an integer (the pattern above is how it is read).
  { type: 'integer', minimum: 1, maximum: 100, default: 10, pattern: undefined },
);

route(
  itemRoutes,
  {
    method: 'get',
    path: '/v1/items/:itemId/similar',
    summary: 'Items similar to one item (cosine over item embeddings)',
    params: z.object({ itemId: idSchema }),
    query: z.object({ k: kQuerySchema }),
    responses: { 200: { description: 'Similar items', schema: itemsResponse }, 404: errorDoc('Unknown item'), ...errorResponses },
  },
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
      c.header('x-model-version', version);
      return c.json({ model: { version }, items: popularSimilar(catalog, row, k), fallback: 'popular' as const }, 200);
    }
    return c.json({ model: { version: s.model.version }, items: similarItems(s.model.table, catalog, row, k) }, 200);
  },
);

export const searchRequestSchema = named(
  'SearchRequest',
  withFastPath(
    z.object({
      query: z.string().check(z.trim(), z.minLength(1), z.maxLength(256)),
      userId: z.optional(idSchema),
      history: historySchema(200),
      k: kSchema,
      filters: z.optional(filtersSchema),
    }),
    fastSearchRequest,
  ),
);

route(
  itemRoutes,
  {
    method: 'post',
    path: '/v1/search',
    summary: 'Items matching a query, ordered for this user',
    body: searchRequestSchema,
    responses: { 200: { description: 'Matching items', schema: itemsResponse }, ...bodyErrorResponses },
  },
  async (c) => {
    const body = c.req.valid('json');
    const s = await getModelState(c.env, waitUntilOf(c));
    if (!s.model) {
      // No model: the catalog the popularity fallback serves can still be searched by words.
      if (!s.fallbackCatalog) throw new ApiError(503, 'model_unavailable', 'No model is loaded.', s.error);
      const items = lexicalSearch(s.fallbackCatalog.catalog, body);
      c.header('x-model-version', s.fallbackCatalog.version);
      return c.json({ model: { version: s.fallbackCatalog.version }, items, fallback: 'lexical' as const }, 200);
    }
    const model = s.model;
    // The text tower orders the matches, when it knows a word of the query.
    const queryVec = await queryVector(model.text, body.query)?.catch(
      (err: unknown) => (console.error('edgerec: text tower failed; lexical search only', err), undefined),
    );
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
