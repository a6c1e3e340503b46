import { popularAnswer, recommend, type RecommendRequest } from '../core/recommend';
import { ApiError } from '../http/errors';
import { routeGroup, waitUntilOf } from '../http/factory';
import { route } from '../http/openapi';
import { bodyErrorResponses, recommendRequestSchema, recommendResponseSchema } from '../http/schemas';
import { armFor } from '../model/lifecycle';
import { historyFor } from '../model/session-store';
import { getModelState } from '../model/store';

export const recommendRoutes = routeGroup();

route(
  recommendRoutes,
  {
    method: 'post',
    path: '/v1/recommend',
    summary: 'Recommendations for a user id, an inline history, or both',
    body: recommendRequestSchema,
    responses: { 200: { description: 'Ranked items', schema: recommendResponseSchema }, ...bodyErrorResponses },
  },
  async (c) => {
    const body = c.req.valid('json');
    const s = await getModelState(c.env, waitUntilOf(c));
    const req: RecommendRequest = {
      history: await historyFor(c.env, body.userId, body.history),
      k: body.k,
      filters: body.filters,
      excludeSeen: body.excludeSeen,
      diversity: body.diversity,
      explain: body.explain,
      nowSeconds: Math.floor(Date.now() / 1000),
    };
    const fallback = (catalog: NonNullable<typeof s.fallbackCatalog>['catalog'], version: string) => {
      const { items, ignored } = popularAnswer(catalog, req);
      c.header('x-model-version', version);
      return c.json({ model: { version }, items, ignored, fallback: 'popular' as const }, 200);
    };

    if (!s.model) {
      if (s.fallbackCatalog) return fallback(s.fallbackCatalog.catalog, s.fallbackCatalog.version);
      throw new ApiError(503, 'model_unavailable', 'No model is available and no fallback is possible.', s.error);
    }
    const arm = await armFor(c.env, s.model, body.userId);
    c.header('x-model-version', arm.model.version);
    if (arm.experiment) c.header('x-edgerec-variant', `${arm.experiment.id}:${arm.experiment.variant}`);
    try {
      const result = await recommend(arm.model, req);
      return c.json(
        {
          model: { version: arm.model.version },
          ...(arm.experiment ? { experiment: arm.experiment } : {}),
          items: result.items,
          ...(result.interests ? { profile: { interests: result.interests } } : {}),
          ignored: result.ignored,
        },
        200,
      );
    } catch (err) {
      console.error('edgerec: scoring failed, serving the popularity fallback', err);
      return fallback(arm.model.catalog, arm.model.version);
    }
  },
);
