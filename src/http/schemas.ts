/**
 * Request and response schemas of API.md. The same zod schemas validate requests and generate
 * /openapi.json (src/http/openapi.ts), so the document cannot drift from what the Worker accepts.
 */
import { EVENT_NAMES } from '../core/history';
import * as z from '../core/zod';
import { fastRecommendRequest, withFastPath } from './fast-parse';
import { documented, named } from './openapi';

/** `min`..`max` characters. */
export const text = (min: number, max: number) => z.string().check(z.minLength(min), z.maxLength(max));
/** An integer from `min` to `max` (a safe integer, as zod's `int`). */
export const integer = (min: number, max: number) => z.int().check(z.gte(min), z.lte(max));

/**
 * Opaque ids (API.md): any string of 1-512 characters, spaces and all, since catalogs use whatever
 * ids their shop has. Unknown ids are not an error where API.md says so (history: ignored and
 * counted; similar: 404).
 */
export const idSchema = text(1, 512);

const eventFields = {
  itemId: documented(idSchema, { example: 'sku-00042' }),
  event: z._default(z.enum(EVENT_NAMES), 'view'),
  ts: documented(z.optional(integer(0, 1e11)), { description: 'Epoch seconds.' }),
  query: documented(z.optional(z.string().check(z.maxLength(256))), {
    description: 'The search text of a `search` event.',
  }),
};

/**
 * A `search` event's query is optional: a client (and the trainer's own parity fixture) may report
 * the item a search led to without the words, and refusing such an event would lose the event.
 */
export const eventSchema = named('Event', z.object(eventFields));

/** An event as the session store answers it (the profile's `recent`): its time always set. */
export const storedEventSchema = named('StoredEvent', z.object({ ...eventFields, ts: z.int() }));

const priceSchema = z.number().check(z.gte(0));

/**
 * Strict: a filter the API does not have ("category", "price_max") is a 400 naming it, never silently
 * dropped, since a dropped filter returns items the caller's business rule excludes.
 */
export const filtersSchema = named(
  'Filters',
  z
    .strictObject({
      categories: z.optional(z.array(text(1, 128)).check(z.maxLength(50))),
      excludeItemIds: z.optional(z.array(idSchema).check(z.maxLength(500))),
      priceMin: z.optional(priceSchema),
      priceMax: z.optional(priceSchema),
    })
    .check(
      z.refine((f) => f.priceMin === undefined || f.priceMax === undefined || f.priceMin <= f.priceMax, {
        message: 'priceMin must not exceed priceMax',
        path: ['priceMin'],
      }),
    ),
);

export const kSchema = z._default(integer(1, 100), 10);

/** At most `max` events, none by default. */
export const historySchema = (max: number) => z._default(z.array(eventSchema).check(z.maxLength(max)), []);

export const recommendRequestSchema = named(
  'RecommendRequest',
  withFastPath(
    z.object({
      userId: z.optional(idSchema),
      history: historySchema(200),
      k: kSchema,
      filters: z.optional(filtersSchema),
      excludeSeen: z._default(z.boolean(), true),
      diversity: z._default(z.number().check(z.gte(0), z.lte(1)), 0),
      explain: z._default(z.boolean(), false),
    }),
    fastRecommendRequest,
  ),
);

export const reasonSchema = named(
  'Reason',
  z.object({
    type: z.enum(['history', 'interest', 'popular', 'trending']),
    itemId: z.optional(z.string()),
    event: z.optional(z.string()),
    category: z.optional(z.string()),
    weight: z.number(),
  }),
);

export const itemSchema = named(
  'Item',
  z.object({
    itemId: z.string(),
    score: z.number(),
    title: z.optional(z.string()),
    categories: z.optional(z.array(z.string())),
    price: z.optional(z.number()),
    reasons: z.optional(z.array(reasonSchema)),
  }),
);

export const interestSchema = named('Interest', z.object({ category: z.string(), weight: z.number() }));

export const recommendResponseSchema = named(
  'RecommendResponse',
  z.object({
    model: z.object({ version: z.nullable(z.string()) }),
    items: z.array(itemSchema),
    profile: z.optional(z.object({ interests: z.array(interestSchema) })),
    ignored: documented(z.int(), { description: 'History events whose item id the catalog does not have (ignored, not an error).' }),
    fallback: z.optional(z.enum(['popular'])),
    experiment: z.optional(z.object({ id: z.string(), variant: z.enum(['control', 'treatment']) })),
  }),
);

export const errorSchema = named(
  'Error',
  z.object({
    error: z.object({ code: z.string(), message: z.string(), details: z.nullable(z.unknown()) }),
  }),
);

export const healthSchema = named(
  'Health',
  z.object({
    status: z.enum(['ok', 'degraded']),
    model: z.object({
      version: z.nullable(z.string()),
      loaded: z.boolean(),
      activeVersion: z.optional(z.nullable(z.string())),
      switching: documented(z.optional(z.boolean()), {
        description: 'The active version is loading in the background while `version` keeps serving (status stays ok).',
      }),
    }),
    error: z.optional(z.object({ version: z.optional(z.string()), message: z.string(), at: z.string() })),
  }),
);

export const modelSummarySchema = named(
  'ModelSummary',
  z.object({
    version: z.string(),
    createdAt: z.string(),
    items: z.int(),
    dim: z.int(),
    maxLen: z.int(),
    metrics: z.record(z.string(), z.unknown()),
    quantization: z.record(z.string(), z.string()),
    categories: z.int(),
    runtime: z.optional(
      z.object({
        userTower: documented(z.enum(['wasm-kernel', 'onnxruntime-web']), { description: 'What runs the user tower in this isolate' }),
      }),
    ),
  }),
);

/** A response documented as the API's error shape. */
export const errorDoc = (description: string) => ({ description, schema: errorSchema });

/** Responses every JSON endpoint can give, for the OpenAPI document. */
/** Errors every API operation may answer. */
export const errorResponses = {
  400: errorDoc('Invalid input; `details` names the field.'),
  429: errorDoc('Rate limited.'),
  503: errorDoc('No model available and no fallback possible, or the session store is unavailable (retry).'),
} as const;

/** Those, and the errors of an operation that reads a JSON body. */
export const bodyErrorResponses = {
  ...errorResponses,
  413: errorDoc('Body too large.'),
  415: errorDoc('Body is not JSON (or is content-encoded).'),
} as const;
