import { routeGroup, waitUntilOf } from '../http/factory';
import { ApiError } from '../http/errors';
import { route } from '../http/openapi';
import { errorResponses, healthSchema, modelSummarySchema } from '../http/schemas';
import { getModelState } from '../model/store';

export const health = routeGroup();

route(
  health,
  {
    method: 'get',
    path: '/health',
    summary: 'Liveness and the model being served',
    responses: { 200: { description: 'Status', schema: healthSchema } },
  },
  async (c) => {
    const s = await getModelState(c.env, waitUntilOf(c));
    const loaded = Boolean(s.model);
    // A newly activated version loading in the background while the previous one serves is a normal
    // switch (`switching`), not a fault: only a version that failed (s.error) or no model degrades.
    const degraded = !loaded || Boolean(s.error);
    const switching = !degraded && s.activeVersion !== undefined && s.activeVersion !== s.model?.version;
    return c.json(
      {
        status: degraded ? ('degraded' as const) : ('ok' as const),
        model: { version: s.model?.version ?? null, loaded, activeVersion: s.activeVersion ?? null, ...(switching ? { switching } : {}) },
        ...(s.error ? { error: s.error } : {}),
      },
      200,
    );
  },
);

route(
  health,
  {
    method: 'get',
    path: '/v1/model',
    summary: "The active model's summary",
    responses: { 200: { description: 'Model summary', schema: modelSummarySchema }, 503: errorResponses[503] },
  },
  async (c) => {
    const s = await getModelState(c.env, waitUntilOf(c));
    if (!s.model) throw new ApiError(503, 'model_unavailable', 'No model is loaded.', s.error);
    const m = s.model.manifest;
    return c.json(
      {
        version: m.version,
        createdAt: m.createdAt,
        items: m.items,
        dim: m.dim,
        maxLen: m.maxLen,
        metrics: m.metrics,
        quantization: m.quantization,
        categories: m.categories.length,
        runtime: { userTower: s.model.userTower },
      },
      200,
    );
  },
);
