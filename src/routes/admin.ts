import * as z from '../core/zod';
import { ApiError } from '../http/errors';
import { routeGroup } from '../http/factory';
import { named, route } from '../http/openapi';
import { errorDoc, errorResponses } from '../http/schemas';
import { CANDIDATE_KEY, DECISIONS_KEY, EXPERIMENT_KEY } from '../model/lifecycle';
import { ACTIVE_KEY, getModelState, manifestKey, readManifest, VERSIONS_KEY } from '../model/store';

export const adminRoutes = routeGroup();

const unauthorized = errorDoc('Missing or bad admin token');

const versionsSchema = named(
  'ModelVersions',
  z.object({
    active: z.nullable(z.string()),
    serving: z.nullable(z.string()),
    candidate: z.nullable(z.string()),
    experiment: z.nullable(z.unknown()),
    decisions: z.array(z.unknown()),
    versions: z.array(
      z.looseObject({
        version: z.string(),
        createdAt: z.optional(z.string()),
        publishedAt: z.optional(z.string()),
        active: z.boolean(),
        metrics: z.optional(z.unknown()),
      }),
    ),
  }),
);

route(
  adminRoutes,
  {
    method: 'get',
    path: '/admin/models',
    summary: 'Published versions, the active one marked',
    security: 'bearer',
    responses: { 200: { description: 'Versions', schema: versionsSchema }, 401: unauthorized, 429: errorResponses[429] },
  },
  async (c) => {
    const versions = ((await c.env.EDGEREC_KV.get<{ version: string }[]>(VERSIONS_KEY, 'json')) ?? []) as { version: string }[];
    const active = (await c.env.EDGEREC_KV.get<{ version?: string }>(ACTIVE_KEY, 'json'))?.version ?? null;
    const s = await getModelState(c.env);
    const [candidate, experiment, decisions] = await Promise.all([
      c.env.EDGEREC_KV.get<{ version?: string }>(CANDIDATE_KEY, 'json'),
      c.env.EDGEREC_KV.get(EXPERIMENT_KEY, 'json'),
      c.env.EDGEREC_KV.get<unknown[]>(DECISIONS_KEY, 'json'),
    ]);
    return c.json(
      {
        active,
        serving: s.model?.version ?? null,
        candidate: candidate?.version ?? null,
        experiment: experiment ?? null,
        decisions: decisions ?? [],
        versions: versions.map((v) => ({ ...v, active: v.version === active })),
      },
      200,
    );
  },
);

route(
  adminRoutes,
  {
    method: 'post',
    path: '/admin/models/:version/activate',
    summary: 'Makes a published version active (rollback = activate an older one)',
    security: 'bearer',
    params: z.object({ version: z.string().check(z.regex(/^[A-Za-z0-9._-]{1,80}$/)) }),
    responses: {
      200: { description: 'Activated', schema: z.object({ active: z.string(), previous: z.nullable(z.string()) }) },
      400: errorResponses[400],
      401: unauthorized,
      404: errorDoc('Unknown version'),
      409: errorDoc('The version is published but broken'),
      429: errorResponses[429],
    },
  },
  async (c) => {
    const { version } = c.req.valid('param');
    if (!(await c.env.EDGEREC_R2.head(manifestKey(version))))
      throw new ApiError(404, 'version_not_found', `Version ${version} is not published.`, { field: 'version' });
    try {
      await readManifest(c.env, version);
    } catch (err) {
      throw new ApiError(409, 'version_invalid', `Version ${version} cannot be activated: ${(err as Error).message}`);
    }
    const previous = (await c.env.EDGEREC_KV.get<{ version?: string }>(ACTIVE_KEY, 'json'))?.version ?? null;
    await c.env.EDGEREC_KV.put(ACTIVE_KEY, JSON.stringify({ version, activatedAt: new Date().toISOString(), previous }));
    return c.json({ active: version, previous }, 200);
  },
);
