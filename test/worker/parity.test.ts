/**
 * The join of the two halves: for the same artifact and history, the Worker (onnxruntime-web WASM
 * inside workerd) returns the same top 10 as the trainer's Python reference (onnxruntime native on the
 * same int8 files). test/fixtures/reference.json is written by `npm run build:default-model`, and
 * test/python/test_default_artifact.py checks it still matches models/default.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { call, fixtureJson, postJson, publishArtifact, resetModel, testEnv } from './helpers';
import { blobKey } from '../../src/model/store';

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

  /** Every reference case: the same top 10, in the same order, with the same scores. */
  async function expectReferenceAnswers() {
    for (const c of reference.cases) {
      const body: any = await (await call(postJson('/v1/recommend', { history: c.history, k: c.k }))).json();
      expect(body.fallback).toBeUndefined();
      expect(body.items.map((i: any) => i.itemId)).toEqual(c.items.map((i) => i.itemId));
      body.items.forEach((item: any, i: number) => expect(item.score).toBeCloseTo(c.items[i]!.score, 3));
    }
  }

  it('returns the same top 10, in the same order, with the same scores', expectReferenceAnswers);

  it('runs the user tower in the WASM kernel', async () => {
    const body: any = await (await call('/v1/model')).json();
    expect(body.runtime).toEqual({ userTower: 'wasm-kernel' });
  });

  /** Publishes the default artifact under a new version with its files changed, and checks the answers. */
  async function expectSameAnswers(version: string, files: Record<string, unknown>, runtime: string, after?: () => Promise<unknown>) {
    await publishArtifact('models/default', { overrides: { version, files } });
    await after?.();
    resetModel();
    const model: any = await (await call('/v1/model')).json();
    expect(model.version).toBe(version);
    expect(model.runtime).toEqual({ userTower: runtime });
    await expectReferenceAnswers();
  }

  it('an artifact without user_tower.bin runs the ONNX encoder in onnxruntime-web, with the same answers', async () => {
    const { userTower: _, ...files } = manifest.files;
    await expectSameAnswers(`${manifest.version}-onnx`, files, 'onnxruntime-web');
  });

  it('a tower file the kernel rejects falls back to onnxruntime-web, with the same answers', async () => {
    const junk = new TextEncoder().encode('not a tower, but the checksum is right');
    const digest = await crypto.subtle.digest('SHA-256', junk);
    const sha256 = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
    const files = { ...manifest.files, userTower: { path: 'user_tower.bin', sha256, bytes: junk.byteLength } };
    // The publish helper uploads the real file under that key; the junk replaces it before the load.
    await expectSameAnswers(`${manifest.version}-badtower`, files, 'onnxruntime-web', () => testEnv.EDGEREC_R2.put(blobKey(sha256), junk));
  });
});
