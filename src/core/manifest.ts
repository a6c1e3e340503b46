/**
 * The artifact manifest (docs/ARTIFACTS.md): the one contract between the trainer and the Worker.
 * Pure: no Workers, Hono or ORT imports, so Node tests and benchmarks use it unchanged.
 */
import * as z from './zod';

const count = z.int().check(z.gte(0));
const positive = (max?: number) => (max === undefined ? z.int().check(z.gt(0)) : z.int().check(z.gt(0), z.lte(max)));

const fileEntry = z.object({
  path: z.string().check(z.minLength(1)),
  sha256: z.string().check(z.regex(/^[0-9a-f]{64}$/)),
  bytes: count,
  dtype: z.optional(z.string()),
  shape: z.optional(z.array(count)),
});
export type FileEntry = z.infer<typeof fileEntry>;

/** A version name: also a path segment of its manifest's key. */
const versionName = z.string().check(z.regex(/^[A-Za-z0-9._-]{1,80}$/));

const metricSet = z.record(z.string(), z.number());

export const manifestSchema = z
  .looseObject({
    format: z.literal('edgerec-artifact/1'),
    version: versionName,
    createdAt: z.string(),
    dim: positive(4096),
    maxLen: positive(4096),
    items: positive(),
    eventTypes: z.array(z.string()).check(z.minLength(2)),
    categories: z.array(z.string()),
    quantization: z._default(z.record(z.string(), z.string()), {}),
    files: z.catchall(
      z.object({
        userEncoder: fileEntry,
        itemEmbeddings: fileEntry,
        itemScales: fileEntry,
        items: fileEntry,
        popular: fileEntry,
        textEncoder: z.optional(fileEntry),
        vocab: z.optional(fileEntry),
        ranker: z.optional(fileEntry),
      }),
      fileEntry,
    ),
    metrics: z._default(
      z.catchall(z.object({ fp32: z.optional(metricSet), int8: z.optional(metricSet), valid: z.optional(metricSet) }), z.unknown()),
      {},
    ),
  })
  .check(
    z.superRefine((m, ctx) => {
      const emb = m.files.itemEmbeddings;
      if (emb.bytes !== m.items * m.dim) {
        ctx.addIssue({
          code: 'custom',
          path: ['files', 'itemEmbeddings', 'bytes'],
          message: `expected ${m.items * m.dim} bytes (items x dim)`,
        });
      }
      if (m.files.itemScales.bytes !== m.items * 4) {
        ctx.addIssue({ code: 'custom', path: ['files', 'itemScales', 'bytes'], message: `expected ${m.items * 4} bytes (items x 4)` });
      }
    }),
  );

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
 * The part of a manifest the popularity fallback needs (the catalog and its popular lists), read from
 * a manifest that `parseManifest` refuses for any other reason (a tensor file of the wrong size, a
 * missing tower): such a version cannot score, but its catalog can still serve `"fallback": "popular"`.
 */
const catalogManifestSchema = z.looseObject({
  version: versionName,
  items: positive(),
  files: z.looseObject({ items: fileEntry, popular: fileEntry, itemsColumnar: z.optional(fileEntry) }),
});
export type CatalogManifest = z.infer<typeof catalogManifestSchema>;

/** The catalog part of a manifest, or undefined when even that is unusable. */
export function parseCatalogManifest(json: unknown): CatalogManifest | undefined {
  const result = catalogManifestSchema.safeParse(json);
  return result.success ? result.data : undefined;
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
  titles: z.optional(z.array(z.nullable(z.string()))),
  categories: z.optional(z.array(z.array(z.string()))),
  brands: z.optional(z.array(z.nullable(z.string()))),
  prices: z.optional(z.array(z.nullable(z.number()))),
});
export type ItemsFile = z.infer<typeof itemsFileSchema>;

/** One entry of popular.json's lists: a catalog row and how often it was bought or seen. */
interface RankedRow {
  row: number;
  count: number;
}
const isRankedRow = (e: unknown): boolean => {
  const r = e as RankedRow | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    Number.isSafeInteger(r.row) &&
    r.row >= 0 &&
    typeof r.count === 'number' &&
    Number.isFinite(r.count)
  );
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
  if (at >= 0)
    ctx.issues.push({
      code: 'custom',
      path: [at],
      message: 'expected { row: non-negative integer, count: finite number }',
      input: list[at],
    });
}) as unknown as z.ZodMiniType<RankedRow[]>;
export const popularFileSchema = z.object({ popular: ranked, trending: z._default(ranked, []) });
export type PopularFile = z.infer<typeof popularFileSchema>;
