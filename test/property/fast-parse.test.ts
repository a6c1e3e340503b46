/**
 * The hand-written request parsers (src/http/fast-parse.ts) against the zod schemas they stand in
 * front of, on random and hostile input, in workerd (where zod runs without eval, as deployed):
 * - whatever a fast parser accepts, zod accepts too, with the same output;
 * - whatever zod accepts from a JSON body, the fast parser accepts (so the fast path is taken);
 * - the schemas as the routes use them answer exactly as zod does, errors included.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as z from '../../src/core/zod';
import { EVENT_NAMES } from '../../src/core/history';
import { fastRecommendRequest, fastSearchRequest } from '../../src/http/fast-parse';
import { recommendRequestSchema } from '../../src/http/schemas';
import { searchRequestSchema } from '../../src/routes/items';

const RUNS = { numRuns: 2000 };

const lengths = (n: number[]) => fc.constantFrom(...n.map((k) => 'x'.repeat(k)));
const strings = fc.oneof(
  fc.string({ maxLength: 12 }),
  lengths([0, 1, 127, 128, 129, 255, 256, 257, 511, 512, 513]),
  fc.constantFrom(' ', '  shoes  ', '\t', 'sku-1'),
);
const numbers = fc.oneof(
  fc.integer({ min: -3, max: 130 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -0, 0.5, 1, 1.5, 100, 101, 1e11, 1e11 + 1, 2 ** 53, Number.MAX_SAFE_INTEGER, -1, 1e308),
);
const junk = fc.oneof(fc.constant(null), fc.boolean(), numbers, strings, fc.constant([]), fc.constant({}));
/** Mostly well-typed values, sometimes anything else. */
const mostly = <T>(good: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: good }, { weight: 1, arbitrary: junk });
/** An object of `fields`, each key present or not, sometimes with keys the schema does not know. */
const objectOf = (fields: Record<string, fc.Arbitrary<unknown>>) =>
  fc
    .tuple(
      fc.record(fields, { requiredKeys: [] }),
      fc.dictionary(fc.constantFrom('extra', 'Event', 'itemid', '__proto__', 'constructor'), junk, { maxKeys: 2 }),
      fc.boolean(),
    )
    .map(([known, extra, withExtra]) => (withExtra ? { ...extra, ...known } : known));

const event = objectOf({
  itemId: mostly(strings),
  event: mostly(fc.constantFrom(...EVENT_NAMES, 'VIEW', 'buy', '')),
  ts: mostly(fc.oneof(fc.integer({ min: -5, max: 2_000_000_000 }), numbers)),
  query: mostly(strings),
});
const many = (n: number) => fc.constant(Array.from({ length: n }, (_, i) => ({ itemId: `sku-${i}` })));
const history = mostly(
  fc.oneof({ weight: 6, arbitrary: fc.array(event, { maxLength: 6 }) }, { weight: 1, arbitrary: fc.oneof(many(200), many(201)) }),
);
const filters = mostly(
  objectOf({
    categories: mostly(fc.oneof(fc.array(strings, { maxLength: 4 }), fc.constant(Array(51).fill('a')), fc.constant(Array(50).fill('a')))),
    excludeItemIds: mostly(
      fc.oneof(fc.array(strings, { maxLength: 4 }), fc.constant(Array(500).fill('a')), fc.constant(Array(501).fill('a'))),
    ),
    priceMin: mostly(numbers),
    priceMax: mostly(numbers),
  }),
);
const common = { userId: mostly(strings), history, k: mostly(numbers), filters };

/** Well-formed bodies, boundaries included (so the accepting side is exercised as much as the refusing one). */
const id = fc.oneof(fc.string({ minLength: 1, maxLength: 12 }), lengths([1, 512]));
const validEvent = fc.record(
  {
    itemId: id,
    event: fc.constantFrom(...EVENT_NAMES),
    ts: fc.oneof(fc.integer({ min: 0, max: 2_000_000_000 }), fc.constantFrom(0, 1e11)),
    query: fc.oneof(fc.string({ maxLength: 12 }), lengths([0, 256])),
  },
  { requiredKeys: ['itemId'] },
);
const validCommon = {
  userId: id,
  history: fc.oneof({ weight: 8, arbitrary: fc.array(validEvent, { maxLength: 8 }) }, { weight: 1, arbitrary: many(200) }),
  k: fc.integer({ min: 1, max: 100 }),
  filters: fc
    .record(
      {
        categories: fc.array(fc.oneof(fc.string({ minLength: 1, maxLength: 8 }), lengths([1, 128])), { maxLength: 50 }),
        excludeItemIds: fc.array(id, { maxLength: 5 }),
        priceMin: fc.double({ min: 0, max: 500, noNaN: true }),
        priceMax: fc.double({ min: 0, max: 1000, noNaN: true }),
      },
      { requiredKeys: [] },
    )
    .filter((f) => f.priceMin === undefined || f.priceMax === undefined || f.priceMin <= f.priceMax),
};
const recommendBody = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record(
      {
        ...validCommon,
        excludeSeen: fc.boolean(),
        diversity: fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(0, 1)),
        explain: fc.boolean(),
      },
      { requiredKeys: [] },
    ),
  },
  {
    weight: 6,
    arbitrary: objectOf({
      ...common,
      excludeSeen: mostly(fc.boolean()),
      diversity: mostly(fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), numbers)),
      explain: mostly(fc.boolean()),
    }),
  },
  { weight: 1, arbitrary: junk },
);
const searchBody = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record(
      {
        ...validCommon,
        query: fc.oneof(
          fc.string({ minLength: 1, maxLength: 12 }),
          lengths([1, 256, 257]),
          fc.constantFrom('  shoes ', ' '.repeat(3) + 'x'.repeat(256) + ' '),
        ),
      },
      { requiredKeys: ['query'] },
    ),
  },
  { weight: 6, arbitrary: objectOf({ ...common, query: mostly(strings) }) },
  { weight: 1, arbitrary: junk },
);

/** A value as it arrives: through JSON (which also drops undefined). */
const viaJson = (v: unknown) => JSON.parse(JSON.stringify(v) ?? 'null');

const cases = [
  { name: 'recommend', schema: recommendRequestSchema, fast: fastRecommendRequest, body: recommendBody },
  { name: 'search', schema: searchRequestSchema, fast: fastSearchRequest, body: searchBody },
] as const;

describe.each(cases)('$name request: the fast parser against zod', ({ schema, fast, body }) => {
  it('accepts only what zod accepts, with zod’s output; and accepts everything zod accepts from JSON', () => {
    let accepted = 0;
    fc.assert(
      fc.property(body, (raw) => {
        const input = viaJson(raw);
        const ours = fast(input);
        const theirs = z.safeParse(schema, input);
        if (ours !== undefined) {
          accepted++;
          expect(theirs.success).toBe(true);
          expect(ours).toStrictEqual(theirs.data);
        } else {
          expect(theirs.success, `zod accepted what the fast parser refused: ${JSON.stringify(input).slice(0, 300)}`).toBe(false);
        }
      }),
      RUNS,
    );
    // The generators must reach the accepting side often, or the first half proves little.
    expect(accepted).toBeGreaterThan(RUNS.numRuns / 4);
  });

  it('a key present but undefined is left to zod', () => {
    expect(fast({ history: [], k: undefined })).toBeUndefined();
    expect(fast({ history: [{ itemId: 'a', ts: undefined }] })).toBeUndefined();
  });

  it('the schema the route validates with answers as zod does, errors and all', async () => {
    await fc.assert(
      fc.asyncProperty(body, async (raw) => {
        const input = viaJson(raw);
        const expected = z.safeParse(schema, input);
        const viaSchema = await schema.safeParseAsync(input);
        expect(viaSchema.success).toBe(expected.success);
        if (expected.success) expect(viaSchema.data).toStrictEqual(expected.data);
        else expect(viaSchema.error?.issues).toStrictEqual(expected.error.issues);
        expect(schema.safeParse(input).success).toBe(expected.success);
      }),
      { numRuns: 300 },
    );
  });
});
