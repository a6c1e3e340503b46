/**
 * The join of the two halves: for the same artifact and history, the Worker (onnxruntime-web WASM
 * inside workerd) returns the same top 10 as the trainer's Python reference (onnxruntime native on the
 * same int8 files). test/fixtures/reference.json is written by `npm run build:default-model`, and
 * test/python/test_default_artifact.py checks it still matches models/default.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { call, fixtureJson, postJson, publishArtifact, resetModel } from './helpers';

interface Reference {
  version: string;
  cases: { history: { itemId: string; event: string }[]; k: number; items: { itemId: string; score: number }[] }[];
}

let reference: Reference;
let manifest: any;

beforeAll(async () => {
  manifest = await publishArtifact('models/default');
  reference = await fixtureJson('test/fixtures/reference.json');
  resetModel();
});

describe('Worker vs Python reference on the default artifact', () => {
  it('the reference was computed for this artifact', () => {
    expect(reference.version).toBe(manifest.version);
    expect(reference.cases.length).toBeGreaterThanOrEqual(3);
  });

  it('returns the same top 10, in the same order, with the same scores', async () => {
    for (const c of reference.cases) {
      const body: any = await (await call(postJson('/v1/recommend', { history: c.history, k: c.k }))).json();
      expect(body.fallback).toBeUndefined();
      expect(body.items.map((i: any) => i.itemId)).toEqual(c.items.map((i) => i.itemId));
      body.items.forEach((item: any, i: number) => expect(item.score).toBeCloseTo(c.items[i]!.score, 3));
    }
  });
});
