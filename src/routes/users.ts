import { resolveHistory } from '../core/history';
import { encodeUser, topInterests } from '../core/recommend';
import { routeGroup, waitUntilOf } from '../http/factory';
import { named, route } from '../http/openapi';
import { errorResponses, idSchema, interestSchema, storedEventSchema } from '../http/schemas';
import * as z from '../core/zod';
import { withSession } from '../model/session-store';
import { getModelState } from '../model/store';

export const userRoutes = routeGroup();

const profileSchema = named('Profile', z.object({ interests: z.array(interestSchema), recent: z.array(storedEventSchema) }));

route(
  userRoutes,
  {
    method: 'get',
    path: '/v1/users/:userId/profile',
    summary: "A user's interest distribution (from the user tower) and recent events",
    params: z.object({ userId: idSchema }),
    responses: { 200: { description: 'Profile', schema: profileSchema }, ...errorResponses },
  },
  async (c) => {
    const { userId } = c.req.valid('param');
    const recent = await withSession(c.env, userId, (session) => session.recent());
    const { model } = await getModelState(c.env, waitUntilOf(c));
    let interests: { category: string; weight: number }[] = [];
    if (model && recent.length) {
      const history = resolveHistory(model.catalog, recent);
      if (history.rows.length) {
        try {
          const out = await encodeUser(model, history, Math.floor(Date.now() / 1000));
          interests = topInterests(model.categories, out.interests, 0, 10);
        } catch (err) {
          console.error('edgerec: user tower failed; profile without interests', err);
        }
      }
    }
    return c.json({ interests, recent: recent.slice().reverse() }, 200);
  },
);
