/**
 * The artifact manifest (docs/ARTIFACTS.md): the one contract between the trainer and the Worker.
 * Pure: no Workers, Hono or ORT imports, so Node tests and benchmarks use it unchanged.
 */
import { z } from 'zod';

const fileEntry = z.object({
  path: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().nonnegative(),
  dtype: z.string().optional(),
  shape: z.array(z.number().int().nonnegative()).optional(),
});
export type FileEntry = z.infer<typeof fileEntry>;

const metricSet = z.record(z.string(), z.number());

export const manifestSchema = z
  .object({
    format: z.literal('edgerec-artifact/1'),
    version: z.string().regex(/^[A-Za-z0-9._-]{1,80}$/),
    createdAt: z.string(),
    dim: z.number().int().positive().max(4096),
    maxLen: z.number().int().positive().max(4096),
    items: z.number().int().positive(),
    eventTypes: z.array(z.string()).min(2),
    categories: z.array(z.string()),
    quantization: z.record(z.string(), z.string()).default({}),
    files: z
      .object({
        userEncoder: fileEntry,
        itemEmbeddings: fileEntry,
        itemScales: fileEntry,
        items: fileEntry,
        popular: fileEntry,
        textEncoder: fileEntry.optional(),
        vocab: fileEntry.optional(),
        ranker: fileEntry.optional(),
      })
      .catchall(fileEntry),
    metrics: z
      .object({ fp32: metricSet.optional(), int8: metricSet.optional(), valid: metricSet.optional() })
      .catchall(z.unknown())
      .default({}),
  })
  .passthrough()
  .superRefine((m, ctx) => {
    const emb = m.files.itemEmbeddings;
    if (emb.bytes !== m.items * m.dim) {
      ctx.addIssue({ code: 'custom', path: ['files', 'itemEmbeddings', 'bytes'], message: `expected ${m.items * m.dim} bytes (items x dim)` });
    }
    if (m.files.itemScales.bytes !== m.items * 4) {
      ctx.addIssue({ code: 'custom', path: ['files', 'itemScales', 'bytes'], message: `expected ${m.items * 4} bytes (items x 4)` });
    }
  });

export type Manifest = z.infer<typeof manifestSchema>;

/** Parses and checks a manifest; throws with a readable message when it is not one. */
export function parseManifest(json: unknown): Manifest {
  const result = manifestSchema.safeParse(json);
  if (!result.success) {
    const first = result.error.issues[0];
    throw new Error(`invalid manifest: ${first?.path.join('.') || '(root)'}: ${first?.message}`);
  }
  return result.data;
}

/**
 * Whether the user encoder takes any history length up to `maxLen`: its inputs' history axis is the
 * symbol "L" in `tensors` (encoders exported before that have the number `maxLen` there).
 */
export function userEncoderDynamicLength(m: Manifest): boolean {
  const tensors = (m as { tensors?: { userEncoder?: { inputs?: Record<string, { shape?: unknown[] }> } } }).tensors;
  const inputs = tensors?.userEncoder?.inputs;
  if (!inputs?.hist_emb) return false;
  return Object.values(inputs).every((t) => typeof t.shape?.[1] === 'string');
}

/** Item metadata, columnar and row-aligned with the embedding table. */
export const itemsFileSchema = z.object({
  ids: z.array(z.string()),
  titles: z.array(z.string().nullable()).optional(),
  categories: z.array(z.array(z.string())).optional(),
  brands: z.array(z.string().nullable()).optional(),
  prices: z.array(z.number().nullable()).optional(),
});
export type ItemsFile = z.infer<typeof itemsFileSchema>;

/** One entry of popular.json's lists: a catalog row and how often it was bought or seen. */
interface RankedRow {
  row: number;
  count: number;
}
const isRankedRow = (e: unknown): boolean => {
  const r = e as RankedRow | null;
  return typeof r === 'object' && r !== null && Number.isSafeInteger(r.row) && r.row >= 0 && typeof r.count === 'number' && Number.isFinite(r.count);
};
/**
 * A ranked list, checked in one pass over plain objects: a zod object per entry cost 5 ms warm and
 * ~13 ms on a cold isolate for the trainer's 1,000-entry lists, on every cold start at every size.
 * An error names the first bad entry, as zod's path did.
 */
const ranked = z.unknown().check((ctx) => {
  const list = ctx.value;
  if (!Array.isArray(list)) return void ctx.issues.push({ code: 'custom', message: 'expected a list of { row, count }', input: list });
  const at = list.findIndex((e) => !isRankedRow(e));
  if (at >= 0) ctx.issues.push({ code: 'custom', path: [at], message: 'expected { row: non-negative integer, count: finite number }', input: list[at] });
}) as unknown as z.ZodType<RankedRow[]>;
export const popularFileSchema = z.object({ popular: ranked, trending: ranked.default([]) });
export type PopularFile = z.infer<typeof popularFileSchema>;
