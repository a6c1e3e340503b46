import { createRoute, z } from '@hono/zod-openapi';
import { ApiError } from '../http/errors';
import { routeGroup } from '../http/factory';
import { errorResponses, errorSchema } from '../http/schemas';
import { CANDIDATE_KEY, DECISIONS_KEY, EXPERIMENT_KEY } from '../model/lifecycle';
import { ACTIVE_KEY, getModelState, manifestKey, readManifest, VERSIONS_KEY } from '../model/store';

export const adminRoutes = routeGroup();

const unauthorized = { description: 'Missing or bad admin token', content: { 'application/json': { schema: errorSchema } } };

const versionsSchema = z
  .object({
    active: z.string().nullable(),
    serving: z.string().nullable(),
    candidate: z.string().nullable(),
    experiment: z.unknown().nullable(),
    decisions: z.array(z.unknown()),
    versions: z.array(z.object({ version: z.string(), createdAt: z.string().optional(), publishedAt: z.string().optional(), active: z.boolean(), metrics: z.unknown().optional() }).passthrough()),
  })
  .openapi('ModelVersions');

adminRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/admin/models',
    summary: 'Published versions, the active one marked',
    security: [{ bearer: [] }],
    responses: { 200: { description: 'Versions', content: { 'application/json': { schema: versionsSchema } } }, 401: unauthorized },
  }),
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

adminRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/admin/models/{version}/activate',
    summary: 'Makes a published version active (rollback = activate an older one)',
    security: [{ bearer: [] }],
    request: { params: z.object({ version: z.string().regex(/^[A-Za-z0-9._-]{1,80}$/) }) },
    responses: {
      200: { description: 'Activated', content: { 'application/json': { schema: z.object({ active: z.string(), previous: z.string().nullable() }) } } },
      400: errorResponses[400],
      401: unauthorized,
      404: { description: 'Unknown version', content: { 'application/json': { schema: errorSchema } } },
      409: { description: 'The version is published but broken', content: { 'application/json': { schema: errorSchema } } },
    },
  }),
  async (c) => {
    const { version } = c.req.valid('param');
    if (!(await c.env.EDGEREC_R2.head(manifestKey(version)))) throw new ApiError(404, 'version_not_found', `Version ${version} is not published.`, { field: 'version' });
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
