import * as z from '../core/zod';
import { routeGroup } from '../http/factory';
import { documented, named, route } from '../http/openapi';
import { errorResponses, eventSchema, idSchema } from '../http/schemas';
import { withSession, type StoredEvent } from '../model/session-store';

export const eventRoutes = routeGroup();

/** Printable ASCII, no spaces: it travels in a header too. */
const idempotencyKeySchema = z
  .string()
  .check(z.minLength(1), z.maxLength(128), z.regex(/^[\x21-\x7e]+$/, 'must be 1-128 printable ASCII characters without spaces'));

/** 1-100 events: a batch of /v1/events, or of the pages' beacon. */
export const eventBatchSchema = z.array(eventSchema).check(z.minLength(1), z.maxLength(100));

const eventsRequestSchema = named(
  'EventsRequest',
  z.object({
    userId: idSchema,
    events: eventBatchSchema,
    idempotencyKey: documented(z.optional(idempotencyKeySchema), {
      description: 'A retried batch with the same key is stored once (the `Idempotency-Key` header works too).',
    }),
  }),
);

route(
  eventRoutes,
  {
    method: 'post',
    path: '/v1/events',
    summary: "Stores a user's events; the very next recommendation reflects them",
    body: eventsRequestSchema,
    headers: z.object({ 'idempotency-key': z.optional(idempotencyKeySchema) }),
    responses: {
      202: {
        description: 'Stored',
        schema: z.object({
          accepted: documented(z.int(), { description: 'Events of the batch stored (0 for a duplicate batch).' }),
          dropped: documented(z.optional(z.int()), {
            description:
              "Events of the batch not stored, when there are any: older than the store's retention time (SESSION_RETENTION_DAYS, default 30 days) or than the user's newest SESSION_MAX_EVENTS (default 200) events.",
          }),
          duplicate: z.optional(z.boolean()),
        }),
      },
      ...errorResponses,
    },
  },
  async (c) => {
    const body = c.req.valid('json');
    const now = Math.floor(Date.now() / 1000);
    // Timestamps from clients are trusted up to the present; missing ones are "now".
    const events: StoredEvent[] = body.events.map((e) => ({ ...e, ts: Math.min(e.ts ?? now, now) }));
    const key = body.idempotencyKey ?? c.req.valid('header')['idempotency-key'];
    const result = await withSession(c.env, body.userId, (session) => session.append(events, key));
    if (result.duplicate) return c.json({ accepted: 0, duplicate: true }, 202);
    return c.json(result.dropped ? { accepted: result.accepted, dropped: result.dropped } : { accepted: result.accepted }, 202);
  },
);
