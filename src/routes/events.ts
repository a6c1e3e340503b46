import { hex } from '../core/hex';
import * as z from '../core/zod';
import { ApiError } from '../http/errors';
import { validationError } from '../http/validation';
import { routeGroup } from '../http/factory';
import { documented, named, route } from '../http/openapi';
import { bodyErrorResponses, errorDoc, eventSchema, idSchema } from '../http/schemas';
import { withSession, type StoredEvent } from '../model/session-store';

export const eventRoutes = routeGroup();

/** SHA-256 of a batch's JSON, hex (its first 128 bits): what an idempotency key is remembered with. */
async function fingerprint(events: unknown): Promise<string> {
  return hex(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(JSON.stringify(events)))).slice(0, 32);
}

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
      ...bodyErrorResponses,
      422: errorDoc('The idempotency key was used before for a different batch.'),
    },
  },
  async (c) => {
    const body = c.req.valid('json');
    const now = Math.floor(Date.now() / 1000);
    // Timestamps from clients are trusted up to the present; missing ones are "now".
    const events: StoredEvent[] = body.events.map((e) => ({ ...e, ts: Math.min(e.ts ?? now, now) }));
    const headerKey = c.req.valid('header')['idempotency-key'];
    if (body.idempotencyKey && headerKey && body.idempotencyKey !== headerKey) {
      throw validationError(
        { issues: [{ path: ['idempotencyKey'], message: 'differs from the Idempotency-Key header; send one key, or the same in both' }] },
        'json',
      );
    }
    const key = body.idempotencyKey ?? headerKey;
    // The batch as the client sent it (before "now" fills missing times), so a retry matches it.
    const idempotency = key ? { key, fingerprint: await fingerprint(body.events) } : undefined;
    const result = await withSession(c.env, body.userId, (session) => session.append(events, idempotency));
    if (result.keyReused) {
      throw new ApiError(
        422,
        'idempotency_key_reused',
        'This idempotency key was already used for a different batch of events; send a new batch with a new key.',
        { field: 'idempotencyKey' },
      );
    }
    if (result.duplicate) return c.json({ accepted: 0, duplicate: true }, 202);
    return c.json(result.dropped ? { accepted: result.accepted, dropped: result.dropped } : { accepted: result.accepted }, 202);
  },
);
