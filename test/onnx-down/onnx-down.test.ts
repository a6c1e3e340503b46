/// <reference types="@cloudflare/vitest-plugin/types" />
/**
 * The edgerec Worker in workerd with its ONNX runtime Worker down (test/onnx-down/vitest.config.ts):
 * it serves the trainer's artifacts (they carry kernel files) with both towers in the WASM kernels,
 * never calling ORT, and an artifact without kernel files degrades to the popularity fallback with
 * /health saying why, never to a 5xx.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { call, fixtureJson, postJson, publishArtifact, resetModel } from '../worker/helpers';

const MODEL = 'models/default';
let manifest: any;
let items: { ids: string[] };

beforeAll(async () => {
  manifest = await publishArtifact(MODEL);
  items = await fixtureJson(`${MODEL}/${manifest.files.items.path}`);
});

const json = async (req: Request | string) => {
  const res = await call(req);
  return { res, body: (await res.json()) as any };
};

describe('the ONNX runtime Worker down', () => {
  it('recommends and searches with both towers in the kernels', async () => {
    resetModel();
    const { res, body } = await json(
      postJson('/v1/recommend', {
        history: [
          { itemId: items.ids[0], event: 'view' },
          { itemId: items.ids[1], event: 'cart' },
        ],
        k: 5,
      }),
    );
    expect(res.status).toBe(200);
    expect(body.fallback).toBeUndefined();
    expect(body.model.version).toBe(manifest.version);
    expect(body.items).toHaveLength(5);
    const model = await json('/v1/model');
    expect(model.body.runtime.userTower).toBe('wasm-kernel');
    const search = await json(postJson('/v1/search', { query: 'serum', k: 3 }));
    expect(search.res.status).toBe(200);
    expect(search.body.items.length).toBeGreaterThan(0);
    expect((await json('/health')).body.status).toBe('ok');
  });

  it('an artifact without kernel files: popularity fallback, /health says why, the model serves again once its kernels are back', async () => {
    const { userTower: _u, textTower: _t, ...files } = manifest.files;
    await publishArtifact(MODEL, { overrides: { version: 'v-onnx-only', files } });
    resetModel();
    const { res, body } = await json(postJson('/v1/recommend', { history: [{ itemId: items.ids[0] }], k: 4 }));
    expect(res.status).toBe(200);
    expect(body.fallback).toBe('popular');
    expect(body.items).toHaveLength(4);
    const health = (await json('/health')).body;
    expect(health.status).toBe('degraded');
    expect(health.error).toMatchObject({ version: 'v-onnx-only' });
    expect(health.error.message).toMatch(/^the ONNX runtime Worker \(edgerec-onnx\) could not start user_encoder/);
    await publishArtifact(MODEL);
    resetModel();
    expect((await json(postJson('/v1/recommend', { history: [{ itemId: items.ids[0] }], k: 4 }))).body.fallback).toBeUndefined();
  });
});
