import { createRoute, z } from '@hono/zod-openapi';
import { routeGroup } from '../http/factory';
import { errorResponses, eventSchema, idSchema } from '../http/schemas';
import { userSession, type StoredEvent } from '../model/session-store';

export const eventRoutes = routeGroup();

/** Printable ASCII, no spaces: it travels in a header too. */
const idempotencyKeySchema = z.string().min(1).max(128).regex(/^[\x21-\x7e]+$/, 'must be 1-128 printable ASCII characters without spaces');

const eventsRequestSchema = z
  .object({
    userId: idSchema,
    events: z.array(eventSchema).min(1).max(100),
    idempotencyKey: idempotencyKeySchema.optional().openapi({ description: 'A retried batch with the same key is stored once (the `Idempotency-Key` header works too).' }),
  })
  .openapi('EventsRequest');

eventRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/v1/events',
    summary: "Stores a user's events; the very next recommendation reflects them",
    request: {
      body: { required: true, content: { 'application/json': { schema: eventsRequestSchema } } },
      headers: z.object({ 'idempotency-key': idempotencyKeySchema.optional() }),
    },
    responses: {
      202: {
        description: 'Stored',
        content: { 'application/json': { schema: z.object({ accepted: z.number().int(), duplicate: z.boolean().optional() }) } },
      },
      ...errorResponses,
    },
  }),
  async (c) => {
    const body = c.req.valid('json');
    const now = Math.floor(Date.now() / 1000);
    // Timestamps from clients are trusted up to the present; missing ones are "now".
    const events: StoredEvent[] = body.events.map((e) => ({ ...e, ts: Math.min(e.ts ?? now, now) }));
    const key = body.idempotencyKey ?? c.req.valid('header')['idempotency-key'];
    const result = await (await userSession(c.env, body.userId)).append(events, key);
    return c.json(result.duplicate ? { accepted: 0, duplicate: true } : { accepted: result.accepted }, 202);
  },
);
