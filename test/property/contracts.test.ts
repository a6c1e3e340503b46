/**
 * Property-based tests (fast-check) of the pure contracts: manifest parsing against random and
 * hostile input, the tokenizer shared with the trainer, A/B assignment and the quality gate.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assignVariant, bucket } from '../../src/core/ab';
import { qualityGate } from '../../src/core/gate';
import { parseManifest, popularFileSchema } from '../../src/core/manifest';
import { fnv1a32, tokenize, Vocab } from '../../src/core/tokenizer';

const RUNS = { numRuns: 200 };

const sha = fc.stringMatching(/^[0-9a-f]{64}$/);
const entry = (bytes: fc.Arbitrary<number>) => fc.record({ path: fc.string({ minLength: 1, maxLength: 20 }), sha256: sha, bytes });

/** Valid manifests of docs/ARTIFACTS.md: blob sizes consistent with items x dim. */
const manifestArb = fc.record({ items: fc.integer({ min: 1, max: 5000 }), dim: fc.integer({ min: 1, max: 256 }) }).chain(({ items, dim }) =>
  fc.record({
    format: fc.constant('edgerec-artifact/1'),
    version: fc.stringMatching(/^[A-Za-z0-9._-]{1,80}$/),
    createdAt: fc.constant('2026-11-29T00:00:00Z'),
    dim: fc.constant(dim),
    maxLen: fc.integer({ min: 1, max: 200 }),
    items: fc.constant(items),
    eventTypes: fc.constant(['pad', 'view', 'click', 'cart', 'purchase', 'search']),
    categories: fc.array(fc.string({ maxLength: 12 }), { maxLength: 6 }),
    files: fc.record({
      userEncoder: entry(fc.nat()),
      itemEmbeddings: entry(fc.constant(items * dim)),
      itemScales: entry(fc.constant(items * 4)),
      items: entry(fc.nat()),
      popular: entry(fc.nat()),
    }),
    metrics: fc.record({ int8: fc.dictionary(fc.string({ maxLength: 8 }), fc.double({ noNaN: true, noDefaultInfinity: true })) }),
  }),
);

/** parseManifest either returns a manifest or throws its own readable Error; nothing else escapes. */
function parsesOrRefuses(input: unknown): void {
  let manifest: ReturnType<typeof parseManifest> | undefined;
  try {
    manifest = parseManifest(input);
  } catch (err) {
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^invalid manifest: /);
    return;
  }
  // Anything accepted is safe to use as an R2 key and consistent in its sizes.
  expect(manifest.version).toMatch(/^[A-Za-z0-9._-]{1,80}$/);
  expect(manifest.files.itemEmbeddings.bytes).toBe(manifest.items * manifest.dim);
  expect(manifest.files.itemScales.bytes).toBe(manifest.items * 4);
}

/** A JSON path into a value, for mutating valid manifests. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== 'object') return [prefix];
  const keys = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
  return [prefix, ...keys.flatMap((k) => paths((value as any)[k], [...prefix, k]))];
}

function mutate(value: any, path: (string | number)[], replacement: unknown, remove: boolean): any {
  if (path.length === 0) return replacement;
  const copy = structuredClone(value);
  let node = copy;
  for (const k of path.slice(0, -1)) node = node[k];
  const last = path.at(-1)!;
  if (remove) delete node[last];
  else node[last] = replacement;
  return copy;
}

describe('parseManifest', () => {
  it('accepts every valid manifest', () => {
    fc.assert(
      fc.property(manifestArb, (m) => {
        const parsed = parseManifest(m);
        expect(parsed).toMatchObject({ version: m.version, items: m.items, dim: m.dim });
      }),
      RUNS,
    );
  });

  it('never throws anything but its own Error on random input', () => {
    fc.assert(
      fc.property(
        fc.anything({
          maxDepth: 4,
          withNullPrototype: true,
          withBigInt: true,
          withDate: true,
          withMap: true,
          withTypedArray: true,
          withSparseArray: true,
        }),
        parsesOrRefuses,
      ),
      { numRuns: 500 },
    );
  });

  it('never throws anything but its own Error on a valid manifest with one field removed or replaced', () => {
    fc.assert(
      fc.property(
        manifestArb.chain((m) =>
          fc.record({
            m: fc.constant(m),
            path: fc.constantFrom(...paths(m)),
            replacement: fc.anything({ maxDepth: 2 }),
            remove: fc.boolean(),
          }),
        ),
        ({ m, path, replacement, remove }) => parsesOrRefuses(mutate(m, path, replacement, remove)),
      ),
      { numRuns: 500 },
    );
  });

  it('hostile JSON (prototype keys, huge numbers, deep nesting) is refused or parsed without polluting prototypes', () => {
    const hostile = [
      '{"__proto__": {"polluted": true}, "format": "edgerec-artifact/1"}',
      '{"constructor": {"prototype": {"polluted": true}}}',
      '{"format": "edgerec-artifact/1", "version": "../../etc/passwd"}',
      '{"format": "edgerec-artifact/1", "items": 1e308, "dim": 1e308}',
      '['.repeat(2000) + ']'.repeat(2000),
      '{"a":'.repeat(500) + '1' + '}'.repeat(500),
    ];
    for (const text of hostile) parsesOrRefuses(JSON.parse(text));
    fc.assert(
      fc.property(manifestArb, fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString'), fc.jsonValue(), (m, key, value) => {
        const text = `{${JSON.stringify(key)}: ${JSON.stringify(value)},${JSON.stringify(m).slice(1)}`;
        parsesOrRefuses(JSON.parse(text));
      }),
      RUNS,
    );
    expect(({} as any).polluted).toBeUndefined();
  });
});

describe('popular.json', () => {
  const entry = fc.record({ row: fc.nat(), count: fc.double({ noNaN: true, noDefaultInfinity: true }) });

  it('accepts every list of { row: non-negative integer, count: finite number }, trending defaulting to []', () => {
    fc.assert(
      fc.property(fc.array(entry), fc.option(fc.array(entry), { nil: undefined }), (popular, trending) => {
        expect(popularFileSchema.parse({ popular, trending })).toEqual({ popular, trending: trending ?? [] });
      }),
    );
  });

  it.each<[unknown, string]>([
    [{ row: -1, count: 1 }, 'a negative row'],
    [{ row: 1.5, count: 1 }, 'a fractional row'],
    [{ row: 1, count: Infinity }, 'an infinite count'],
    [{ row: 1, count: '2' }, 'a count that is a string'],
    [{ row: 1 }, 'no count'],
    [null, 'null'],
  ])('refuses %j (%s) and names the entry', (bad) => {
    const popular = [{ row: 0, count: 3 }, { row: 1, count: 2 }, bad];
    const result = popularFileSchema.safeParse({ popular });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path).toEqual(['popular', 2]);
    expect(popularFileSchema.safeParse({ popular: [{ row: 0, count: 1 }], trending: [bad] }).error!.issues[0]!.path).toEqual([
      'trending',
      0,
    ]);
  });

  it('refuses a file without a popular list, or with one that is not a list', () => {
    for (const file of [{}, { popular: 'no' }, { popular: { row: 1, count: 1 } }, null])
      expect(popularFileSchema.safeParse(file).success).toBe(false);
  });
});

describe('tokenizer (shared with the trainer)', () => {
  it('tokens are non-empty lower-case runs of letters and digits', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 60 }),
          fc.string({ unit: 'grapheme', maxLength: 30 }),
          fc.string({ unit: 'binary', maxLength: 30 }),
        ),
        (text) => {
          for (const t of tokenize(text)) {
            expect(t).toMatch(/^[\p{L}\p{N}]+$/u);
            expect(t).toBe(t.toLowerCase());
          }
          expect(tokenize(text.toLowerCase())).toEqual(tokenize(text));
        },
      ),
      RUNS,
    );
  });

  it('FNV-1a is 32-bit and matches the reference vectors', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (t) => {
        const h = fnv1a32(t);
        expect(Number.isInteger(h) && h >= 0 && h < 2 ** 32).toBe(true);
        expect(fnv1a32(t)).toBe(h);
      }),
      RUNS,
    );
  });

  it('Vocab.encode gives maxTokens ids: vocabulary ids from 1, unknown tokens hashed into the buckets, zero padding', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.stringMatching(/^[a-z0-9]{1,6}$/), { maxLength: 30 }),
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 16 }),
        fc.array(fc.oneof(fc.stringMatching(/^[a-z0-9]{1,6}$/), fc.constantFrom('Lipstick', 'MATTE', 'é', '!!')), { maxLength: 20 }),
        (tokens, buckets, maxTokens, words) => {
          const vocab = new Vocab({ tokens, buckets, maxTokens });
          const text = words.join(' ');
          const ids = vocab.encode(text);
          expect(ids).toHaveLength(maxTokens);
          const expected = tokenize(text).slice(0, maxTokens);
          expected.forEach((t, i) => {
            const id = Number(ids[i]);
            const known = tokens.indexOf(t);
            if (known >= 0) expect(id).toBe(known + 1);
            else expect(id).toBe(tokens.length + 1 + (fnv1a32(t) % buckets));
          });
          for (let i = expected.length; i < maxTokens; i++) expect(ids[i]).toBe(0n);
        },
      ),
      RUNS,
    );
  });
});

describe('A/B assignment', () => {
  it('buckets are in [0, 1) and stable; ratio 0 is all control, 1 all treatment, and raising the ratio only moves users into treatment', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 20 }),
        fc.string({ maxLength: 40 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (id, userId, r1, r2) => {
          const b = bucket(id, userId);
          expect(b >= 0 && b < 1).toBe(true);
          expect(bucket(id, userId)).toBe(b);
          expect(assignVariant({ id, treatment: 'v2', ratio: 0 }, userId)).toBe('control');
          expect(assignVariant({ id, treatment: 'v2', ratio: 1 }, userId)).toBe('treatment');
          const [lo, hi] = r1 <= r2 ? [r1, r2] : [r2, r1];
          if (assignVariant({ id, treatment: 'v2', ratio: lo }, userId) === 'treatment')
            expect(assignVariant({ id, treatment: 'v2', ratio: hi }, userId)).toBe('treatment');
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('quality gate', () => {
  const metric = 'ndcg@10';
  const finite = fc.double({ min: 0, max: 1, noNaN: true });

  it('promotes exactly when the candidate is at most `margin` worse than the active model', () => {
    fc.assert(
      fc.property(finite, finite, fc.double({ min: 0, max: 0.5, noNaN: true }), (c, a, margin) => {
        const d = qualityGate({ int8: { [metric]: c } }, { int8: { [metric]: a } }, { metric, margin });
        expect(d.promote).toBe(c >= a * (1 - margin));
        expect(d.reason).toContain(metric);
      }),
      RUNS,
    );
  });

  it('never throws on garbage metrics; without a candidate metric it never promotes, without an active one it does', () => {
    fc.assert(
      fc.property(fc.anything({ maxDepth: 3 }), fc.anything({ maxDepth: 3 }), (candidate, active) => {
        const d = qualityGate(candidate as never, active as never, { metric, margin: 0.02 });
        expect(typeof d.promote).toBe('boolean');
        expect(typeof d.reason).toBe('string');
        const c = (candidate as any)?.int8?.[metric];
        if (typeof c !== 'number' || !Number.isFinite(c)) expect(d.promote).toBe(false);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(finite, (c) => {
        expect(qualityGate({ int8: { [metric]: c } }, undefined).promote).toBe(true);
      }),
      RUNS,
    );
  });
});
