/**
 * Request and response schemas of API.md. The same zod schemas validate requests and generate
 * /openapi.json, so the document cannot drift from what the Worker accepts.
 */
import { z } from '@hono/zod-openapi';
import { EVENT_NAMES } from '../core/history';
import { fastRecommendRequest, withFastPath } from './fast-parse';

/**
 * Opaque ids (API.md): any string of 1-512 characters, spaces and all, since catalogs use whatever
 * ids their shop has. Unknown ids are not an error where API.md says so (history: ignored and
 * counted; similar: 404).
 */
export const idSchema = z.string().min(1).max(512);

export const eventSchema = z
  .object({
    itemId: idSchema.openapi({ example: 'sku-00042' }),
    event: z.enum(EVENT_NAMES).default('view'),
    ts: z.number().int().min(0).max(1e11).optional().openapi({ description: 'Epoch seconds.' }),
    query: z.string().max(256).optional().openapi({ description: 'The search text of a `search` event.' }),
  })
  .openapi('Event');

export const filtersSchema = z
  .object({
    categories: z.array(z.string().min(1).max(128)).max(50).optional(),
    excludeItemIds: z.array(idSchema).max(500).optional(),
    priceMin: z.number().min(0).optional(),
    priceMax: z.number().min(0).optional(),
  })
  .refine((f) => f.priceMin === undefined || f.priceMax === undefined || f.priceMin <= f.priceMax, {
    message: 'priceMin must not exceed priceMax',
    path: ['priceMin'],
  })
  .openapi('Filters');

export const kSchema = z.number().int().min(1).max(100).default(10);

export const recommendRequestSchema = withFastPath(
  z.object({
    userId: idSchema.optional(),
    history: z.array(eventSchema).max(200).default([]),
    k: kSchema,
    filters: filtersSchema.optional(),
    excludeSeen: z.boolean().default(true),
    diversity: z.number().min(0).max(1).default(0),
    explain: z.boolean().default(false),
  }).openapi('RecommendRequest'),
  fastRecommendRequest,
);

export const reasonSchema = z
  .object({
    type: z.enum(['history', 'interest', 'popular', 'trending']),
    itemId: z.string().optional(),
    event: z.string().optional(),
    category: z.string().optional(),
    weight: z.number(),
  })
  .openapi('Reason');

export const itemSchema = z
  .object({
    itemId: z.string(),
    score: z.number(),
    title: z.string().optional(),
    categories: z.array(z.string()).optional(),
    price: z.number().optional(),
    reasons: z.array(reasonSchema).optional(),
  })
  .openapi('Item');

export const interestSchema = z.object({ category: z.string(), weight: z.number() }).openapi('Interest');

export const recommendResponseSchema = z
  .object({
    model: z.object({ version: z.string().nullable() }),
    items: z.array(itemSchema),
    profile: z.object({ interests: z.array(interestSchema) }).optional(),
    ignored: z.number().int().optional(),
    fallback: z.enum(['popular']).optional(),
    experiment: z.object({ id: z.string(), variant: z.enum(['control', 'treatment']) }).optional(),
  })
  .openapi('RecommendResponse');

export const errorSchema = z
  .object({
    error: z.object({ code: z.string(), message: z.string(), details: z.unknown().nullable() }),
  })
  .openapi('Error');

export const healthSchema = z
  .object({
    status: z.enum(['ok', 'degraded']),
    model: z.object({ version: z.string().nullable(), loaded: z.boolean(), activeVersion: z.string().nullable().optional() }),
    error: z.object({ version: z.string().optional(), message: z.string(), at: z.string() }).optional(),
  })
  .openapi('Health');

export const modelSummarySchema = z
  .object({
    version: z.string(),
    createdAt: z.string(),
    items: z.number().int(),
    dim: z.number().int(),
    maxLen: z.number().int(),
    metrics: z.record(z.string(), z.unknown()),
    quantization: z.record(z.string(), z.string()),
    categories: z.number().int(),
    runtime: z
      .object({ userTower: z.enum(['wasm-kernel', 'onnxruntime-web']).openapi({ description: 'What runs the user tower in this isolate' }) })
      .optional(),
  })
  .openapi('ModelSummary');

/** Responses every JSON endpoint can give, for the OpenAPI document. */
export const errorResponses = {
  400: { description: 'Invalid input; `details` names the field.', content: { 'application/json': { schema: errorSchema } } },
  413: { description: 'Body too large.', content: { 'application/json': { schema: errorSchema } } },
  415: { description: 'Body is not JSON.', content: { 'application/json': { schema: errorSchema } } },
  429: { description: 'Rate limited.', content: { 'application/json': { schema: errorSchema } } },
  503: { description: 'No model available and no fallback possible.', content: { 'application/json': { schema: errorSchema } } },
} as const;
