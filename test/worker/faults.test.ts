/// <reference types="@cloudflare/vitest-plugin/types" />
/**
 * Fault injection inside workerd: broken blobs, a dangling KV pointer, throwing KV/R2 bindings, a
 * failing ONNX session and a failing Durable Object. For each: what /v1/recommend answers, what
 * /health says, and that the service heals by itself once the fault is fixed.
 *
 * Requests go through the Worker's own fetch with an env whose bindings can be switched to throw, and
 * MODEL_RETRY_SECONDS=0 so a failed version is retried on the next request instead of after 15 s.
 */
import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import worker from '../../src/index';
import { ensureLoaded, blobKey, manifestKey } from '../../src/model/store';
import { userSession } from '../../src/model/session-store';
import { fixtureBytes, fixtureJson, postJson, publishArtifact, resetModel, sha256Hex, testEnv } from './helpers';

const MODEL = 'models/default';
let base: any;
let ids: string[];

/** Switches that make a binding throw on every call while set. */
const broken = { kv: false, r2: false };

function throwing<T extends object>(binding: T, name: string, isBroken: () => boolean): T {
  return new Proxy(binding, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (isBroken()) return Promise.reject(new Error(`${name} is unavailable (injected fault)`));
        return value.apply(target, args);
      };
    },
  });
}

const faultEnv = {
  ...(env as object),
  MODEL_RETRY_SECONDS: '0',
  EDGEREC_KV: throwing(testEnv.EDGEREC_KV, 'KV', () => broken.kv),
  EDGEREC_R2: throwing(testEnv.EDGEREC_R2, 'R2', () => broken.r2),
} as any;

async function send(request: Request | string): Promise<{ res: Response; body: any }> {
  const req = typeof request === 'string' ? new Request(`http://edgerec.test${request}`) : request;
  const ctx = createExecutionContext();
  const res = await worker.fetch(req as Request<unknown, IncomingRequestCfProperties>, faultEnv, ctx);
  const body = res.headers.get('content-type')?.includes('json') ? await res.json() : await res.text();
  await waitOnExecutionContext(ctx);
  return { res, body };
}

const recommend = (body: unknown = { history: [{ itemId: ids[0], event: 'view' }], k: 5 }) => send(postJson('/v1/recommend', body));
const health = async () => (await send('/health')).body;

function expectErrorShape(body: any, code?: string) {
  expect(body).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
  if (code) expect(body.error.code).toBe(code);
}

/** Serving normally: model answers (no fallback) and /health is ok. */
async function expectHealthy(version = base.version) {
  const { res, body } = await recommend();
  expect(res.status).toBe(200);
  expect(body.fallback).toBeUndefined();
  expect(body.model.version).toBe(version);
  expect(await health()).toMatchObject({ status: 'ok', model: { version, loaded: true } });
}

beforeAll(async () => {
  base = await fixtureJson(`${MODEL}/manifest.json`);
  ids = (await fixtureJson(`${MODEL}/items.json`)).ids;
});

beforeEach(async () => {
  broken.kv = false;
  broken.r2 = false;
  resetModel();
  await publishArtifact(MODEL);
});

describe('a missing or corrupt blob', () => {
  it('a missing encoder blob: popularity fallback, /health names the blob, heals when the blob is back', async () => {
    const key = blobKey(base.files.userEncoder.sha256);
    await testEnv.EDGEREC_R2.delete(key);
    const { res, body } = await recommend();
    expect(res.status).toBe(200);
    expect(body.fallback).toBe('popular');
    expect(body.items).toHaveLength(5);
    const h = await health();
    expect(h.status).toBe('degraded');
    expect(h.error.message).toMatch(/missing from R2/);
    // The fallback answers like a model would: seen items excluded, unknown ids counted.
    const popularBody = (await recommend({ k: 5 })).body;
    const popular = popularBody.items.map((i: any) => i.itemId);
    const { body: seenBody } = await recommend({ history: [{ itemId: popular[0] }, { itemId: 'no-such-item' }], k: 5 });
    expect(seenBody).toMatchObject({ fallback: 'popular', ignored: 1 });
    expect(seenBody.items.map((i: any) => i.itemId)).not.toContain(popular[0]);
    expect(seenBody.items).toHaveLength(5);
    const { body: kept } = await recommend({ history: [{ itemId: popular[0] }], k: 5, excludeSeen: false });
    expect(kept.items.map((i: any) => i.itemId)).toContain(popular[0]);
    // Similar items: the catalog still tells known from unknown; known ones get popular items.
    const { res: similar, body: similarBody } = await send(`/v1/items/${encodeURIComponent(popular[0])}/similar?k=4`);
    expect(similar.status).toBe(200);
    expect(similarBody.fallback).toBe('popular');
    expect(similar.headers.get('x-model-version')).toBe(similarBody.model.version); // the catalog's version
    expect(similarBody.items).toHaveLength(4);
    expect(similarBody.items.map((i: any) => i.itemId)).not.toContain(popular[0]);
    expect((await send('/v1/items/no-such-item/similar')).res.status).toBe(404);
    // Search by words over the catalog: only items that match, the fallback named.
    const word = (popularBody.items[0].title as string)
      .split(/\s+/)
      .find((w: string) => w.length > 3)!
      .toLowerCase();
    const { res: searched, body: searchBody } = await send(postJson('/v1/search', { query: word, k: 5 }));
    expect(searched.status).toBe(200);
    expect(searchBody.fallback).toBe('lexical');
    expect(searched.headers.get('x-model-version')).toBe(searchBody.model.version);
    expect(searchBody.items.length).toBeGreaterThan(0);
    for (const item of searchBody.items)
      expect(`${item.title} ${(item.categories ?? []).join(' ')}`.toLowerCase()).toContain(word.replace(/[^\p{L}\p{N}]/gu, ''));
    expect((await send(postJson('/v1/search', { query: 'zzqqxxjj', k: 5 }))).body.items).toEqual([]);
    await testEnv.EDGEREC_R2.put(key, await fixtureBytes(`${MODEL}/${base.files.userEncoder.path}`));
    await expectHealthy();
  });

  it('a manifest refused for its tensors (a half-size item table, its hash updated): the popularity fallback from its catalog', async () => {
    const good = new Uint8Array(await fixtureBytes(`${MODEL}/${base.files.itemEmbeddings.path}`));
    const half = good.subarray(0, good.length / 2);
    const sha = await sha256Hex(half);
    const itemEmbeddings = { ...base.files.itemEmbeddings, sha256: sha, bytes: half.byteLength };
    await publishArtifact(MODEL, { overrides: { version: 'v-half-table', files: { ...base.files, itemEmbeddings } } });
    await testEnv.EDGEREC_R2.put(blobKey(sha), half, { sha256: sha });
    // A cold isolate with no version it could serve: the refused version's own catalog answers.
    resetModel();
    const { res, body } = await recommend({
      history: [
        { itemId: ids[0], event: 'view' },
        { itemId: 'no-such-item', event: 'view' },
      ],
      k: 5,
    });
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ fallback: 'popular', model: { version: 'v-half-table' }, ignored: 1 });
    expect(res.headers.get('x-model-version')).toBe('v-half-table'); // the version whose catalog answered
    expect(body.items).toHaveLength(5);
    expect(body.items.map((i: any) => i.itemId)).not.toContain(ids[0]);
    const h = await health();
    expect(h).toMatchObject({ status: 'degraded', error: { version: 'v-half-table' } });
    expect(h.error.message).toMatch(/invalid manifest: files\.itemEmbeddings\.bytes/);
    // A manifest without even a usable catalog part: nothing to fall back to, a 503 in the error shape.
    const { popular: _p, ...withoutPopular } = base.files;
    await publishArtifact(MODEL, { overrides: { version: 'v-no-catalog', files: { ...withoutPopular, itemEmbeddings } } });
    resetModel();
    const none = await recommend();
    expect(none.res.status).toBe(503);
    expectErrorShape(none.body, 'model_unavailable');
    await publishArtifact(MODEL);
    resetModel();
    await expectHealthy();
  });

  it('a corrupt embeddings blob fails its checksum: fallback, degraded, heals when repaired', async () => {
    const key = blobKey(base.files.itemEmbeddings.sha256);
    await testEnv.EDGEREC_R2.put(key, new Uint8Array(base.files.itemEmbeddings.bytes));
    const { body } = await recommend();
    expect(body.fallback).toBe('popular');
    expect((await health()).error.message).toMatch(/checksum/);
    await testEnv.EDGEREC_R2.put(key, await fixtureBytes(`${MODEL}/${base.files.itemEmbeddings.path}`));
    await expectHealthy();
  });

  it('R2 refuses a put whose sha256 does not match, and an object it stored under another hash is refused', async () => {
    const key = blobKey(base.files.itemEmbeddings.sha256);
    const good = new Uint8Array(await fixtureBytes(`${MODEL}/${base.files.itemEmbeddings.path}`));
    const other = new Uint8Array(good.length).fill(1);
    // The publisher's assumption: R2 hashes what it stores and refuses a wrong sha256.
    await expect(testEnv.EDGEREC_R2.put(key, other, { sha256: base.files.itemEmbeddings.sha256 })).rejects.toThrow();
    // Same length, R2-verified checksum of other bytes: refused from the stored checksum alone.
    const otherSha = await sha256Hex(other);
    await testEnv.EDGEREC_R2.put(key, other, { sha256: otherSha });
    const { body } = await recommend();
    expect(body.fallback).toBe('popular');
    expect((await health()).error.message).toMatch(/failed its checksum \(R2 stored sha256/);
    await testEnv.EDGEREC_R2.put(key, good, { sha256: base.files.itemEmbeddings.sha256 });
    await expectHealthy();
  });

  it('a truncated or overlong blob is refused by length before its checksum, and heals when repaired', async () => {
    const key = blobKey(base.files.itemEmbeddings.sha256);
    const good = new Uint8Array(await fixtureBytes(`${MODEL}/${base.files.itemEmbeddings.path}`));
    const n = base.files.itemEmbeddings.bytes;
    for (const [bad, why] of [
      [good.subarray(0, n - 1), `stream has ${n - 1} bytes, expected ${n}`],
      [new Uint8Array([...good, 0]), `stream longer than ${n} bytes`],
    ] as const) {
      await testEnv.EDGEREC_R2.put(key, bad);
      const { body } = await recommend();
      expect(body.fallback).toBe('popular');
      expect((await health()).error.message).toContain(why);
    }
    await testEnv.EDGEREC_R2.put(key, good);
    await expectHealthy();
  });

  it('a corrupt catalog while another version serves: the serving version keeps answering', async () => {
    await expectHealthy();
    const bad = new TextEncoder().encode('{"ids": [');
    const sha = await sha256Hex(bad);
    await testEnv.EDGEREC_R2.put(blobKey(sha), bad);
    // Both copies of the catalog: items.bin (unusable: the Worker then reads items.json) and items.json.
    const files = {
      ...base.files,
      items: { ...base.files.items, sha256: sha },
      itemsColumnar: { ...base.files.itemsColumnar, sha256: sha, bytes: bad.byteLength },
    };
    await publishArtifact(MODEL, { overrides: { version: 'v-bad-catalog', files } });
    for (let i = 0; i < 3; i++) {
      const { body } = await recommend();
      expect(body.model.version).toBe(base.version);
      expect(body.fallback).toBeUndefined();
    }
    const h = await health();
    expect(h).toMatchObject({ status: 'degraded', model: { version: base.version, activeVersion: 'v-bad-catalog' } });
    expect(h.error.version).toBe('v-bad-catalog');
  });
});

describe('an unusable items.bin', () => {
  it('the catalog comes from items.json instead and the version serves', async () => {
    const junk = new TextEncoder().encode('ERTW not a catalog');
    const sha = await sha256Hex(junk);
    const files = { ...base.files, itemsColumnar: { ...base.files.itemsColumnar, sha256: sha, bytes: junk.byteLength } };
    await publishArtifact(MODEL, { overrides: { version: 'v-junk-items-bin', files } });
    await testEnv.EDGEREC_R2.put(blobKey(sha), junk); // after the helper uploaded the real file under that key
    resetModel();
    const { body } = await recommend();
    expect(body.model.version).toBe('v-junk-items-bin');
    expect(body.fallback).toBeUndefined();
    expect(body.items.length).toBeGreaterThan(0);
  });
});

describe('a KV pointer to a version that does not exist', () => {
  it('a warm isolate keeps serving its version and /health says why', async () => {
    await expectHealthy();
    await testEnv.EDGEREC_KV.put('active', JSON.stringify({ version: 'v-ghost', previous: base.version }));
    const { body } = await recommend();
    expect(body.model.version).toBe(base.version);
    const h = await health();
    expect(h).toMatchObject({ status: 'degraded', model: { version: base.version, activeVersion: 'v-ghost' } });
    expect(h.error.message).toMatch(/manifest of version v-ghost is missing/);
    await testEnv.EDGEREC_KV.put('active', JSON.stringify({ version: base.version }));
    await expectHealthy();
  });

  it('a cold isolate serves the previously active version', async () => {
    await testEnv.EDGEREC_KV.put('active', JSON.stringify({ version: 'v-ghost', previous: base.version }));
    const { res, body } = await recommend();
    expect(res.status).toBe(200);
    expect(body.model.version).toBe(base.version);
    expect(body.items).toHaveLength(5);
    expect(await health()).toMatchObject({ status: 'degraded', model: { version: base.version, activeVersion: 'v-ghost' } });
  });

  it('a cold isolate with nothing to fall back on answers 503 in the error shape, then heals', async () => {
    await testEnv.EDGEREC_KV.put('active', JSON.stringify({ version: 'v-ghost' }));
    const { res, body } = await recommend();
    expect(res.status).toBe(503);
    expectErrorShape(body, 'model_unavailable');
    const h = await health();
    expect(h).toMatchObject({ status: 'degraded', model: { loaded: false, activeVersion: 'v-ghost' } });
    await testEnv.EDGEREC_KV.put('active', JSON.stringify({ version: base.version }));
    await expectHealthy();
  });
});

describe('throwing bindings', () => {
  it('KV down: a warm isolate keeps serving, /health reports the KV error, heals when KV is back', async () => {
    await expectHealthy();
    broken.kv = true;
    const { res, body } = await recommend();
    expect(res.status).toBe(200);
    expect(body.model.version).toBe(base.version);
    const h = await health();
    expect(h.status).toBe('degraded');
    expect(h.error.message).toMatch(/KV read failed/);
    broken.kv = false;
    await expectHealthy();
  });

  it('KV down in a cold isolate: 503 in the error shape, never a stack trace', async () => {
    broken.kv = true;
    const { res, body } = await recommend();
    expect(res.status).toBe(503);
    expectErrorShape(body, 'model_unavailable');
    expect(JSON.stringify(body)).not.toMatch(/at .*\.ts:\d+/);
    broken.kv = false;
    await expectHealthy();
  });

  it('R2 down while a new version is activated: the old one keeps serving, the new one loads once R2 is back', async () => {
    await expectHealthy();
    await publishArtifact(MODEL, { overrides: { version: 'v-next' }, activate: false });
    await testEnv.EDGEREC_KV.put('active', JSON.stringify({ version: 'v-next', previous: base.version }));
    broken.r2 = true;
    for (let i = 0; i < 3; i++) expect((await recommend()).body.model.version).toBe(base.version);
    const h = await health();
    expect(h).toMatchObject({ status: 'degraded', model: { version: base.version, activeVersion: 'v-next' } });
    expect(h.error.message).toMatch(/R2 is unavailable/);
    broken.r2 = false;
    let served = '';
    for (let i = 0; i < 20 && served !== 'v-next'; i++) served = (await recommend()).body.model.version;
    expect(served).toBe('v-next');
    expect((await health()).status).toBe('ok');
  });

  it('R2 down in a cold isolate: 503 in the error shape, heals when R2 is back', async () => {
    broken.r2 = true;
    const { res, body } = await recommend();
    expect(res.status).toBe(503);
    expectErrorShape(body, 'model_unavailable');
    expect((await health()).status).toBe('degraded');
    broken.r2 = false;
    await expectHealthy();
  });
});

describe('an ONNX session that fails', () => {
  it('an encoder that ORT cannot load: the popularity fallback where ORT runs the tower, the kernel where there is one', async () => {
    const garbage = new TextEncoder().encode('this is not an ONNX protobuf, but its checksum is right');
    const sha = await sha256Hex(garbage);
    const userEncoder = { ...base.files.userEncoder, sha256: sha, bytes: garbage.byteLength };
    // An artifact without kernel files: onnxruntime-web runs the tower and cannot start.
    const { userTower: _u, textTower: _t, ...onnxOnly } = base.files;
    await publishArtifact(MODEL, { overrides: { version: 'v-bad-onnx', files: { ...onnxOnly, userEncoder } } });
    await testEnv.EDGEREC_R2.put(blobKey(sha), garbage, { sha256: sha }); // after the helper put the real file under that key
    const { res, body } = await recommend();
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ fallback: 'popular', model: { version: 'v-bad-onnx' } });
    expect(body.items).toHaveLength(5);
    const h = await health();
    expect(h).toMatchObject({ status: 'degraded', error: { version: 'v-bad-onnx' } });
    expect(h.error.message).not.toMatch(/checksum|stream/); // ORT's own error: the blob itself is intact
    // With the kernel files the broken ONNX graph is only the kernel's fallback: the model serves.
    await publishArtifact(MODEL, { overrides: { version: 'v-bad-onnx-kernel', files: { ...base.files, userEncoder } } });
    await testEnv.EDGEREC_R2.put(blobKey(sha), garbage, { sha256: sha });
    const served = await recommend();
    expect(served.body.fallback).toBeUndefined();
    expect(served.body.model.version).toBe('v-bad-onnx-kernel');
    await publishArtifact(MODEL);
    await health(); // a warm isolate switches back in the background (waitUntil); the next request sees it
    await expectHealthy();
  });

  it('a session whose run throws: /v1/recommend answers the popularity fallback', async () => {
    const model = await ensureLoaded(faultEnv, base.version);
    const encode = model.encode;
    model.encode = async () => {
      throw new Error('ORT run failed (injected fault)');
    };
    try {
      const { res, body } = await recommend();
      expect(res.status).toBe(200);
      expect(body.fallback).toBe('popular');
      expect(body.items).toHaveLength(5);
    } finally {
      model.encode = encode;
    }
    await expectHealthy();
  });
});

describe('a failing Durable Object (the per-user event store)', () => {
  /** Makes the user's session object fail on `put` of the given keys (all keys when none named). */
  async function breakStorage(userId: string, keys?: string[]): Promise<() => Promise<void>> {
    const stub = await userSession(faultEnv, userId);
    let original: any;
    await runInDurableObject(stub as any, async (_instance: unknown, state: DurableObjectState) => {
      original = state.storage.put;
      (state.storage as any).put = async (key: unknown, ...rest: unknown[]) => {
        const written = typeof key === 'string' ? [key] : Object.keys(key as object);
        if (!keys || written.some((k) => keys.includes(k))) throw new Error('storage write failed (injected fault)');
        return original.call(state.storage, key, ...rest);
      };
    });
    return async () => {
      await runInDurableObject(stub as any, async (_instance: unknown, state: DurableObjectState) => {
        (state.storage as any).put = original;
      });
    };
  }

  const events = (userId: string, n: number, idempotencyKey?: string) =>
    postJson('/v1/events', {
      userId,
      events: ids.slice(0, n).map((itemId) => ({ itemId, event: 'view' })),
      ...(idempotencyKey ? { idempotencyKey } : {}),
    });

  it('/v1/events answers 503 in the error shape with retry-after, never a 202', async () => {
    const userId = `do-fault-${Date.now()}`;
    await send(events(userId, 1));
    const repair = await breakStorage(userId);
    const { res, body } = await send(events(userId, 2));
    expect(res.status).toBe(503);
    expectErrorShape(body, 'session_store_unavailable');
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    await repair();
    const ok = await send(events(userId, 2));
    expect(ok.res.status).toBe(202);
    expect((await send(`/v1/users/${userId}/profile`)).body.recent).toHaveLength(3);
  });

  it('a batch refused with 503 is stored once when retried with the same idempotency key', async () => {
    const userId = `do-retry-${Date.now()}`;
    const repair = await breakStorage(userId, ['events']);
    expect((await send(events(userId, 3, 'batch-a'))).res.status).toBe(503);
    await repair();
    const retry = await send(events(userId, 3, 'batch-a'));
    expect(retry.res.status).toBe(202);
    expect(retry.body).toEqual({ accepted: 3 });
    expect((await send(events(userId, 3, 'batch-a'))).body).toMatchObject({ accepted: 0, duplicate: true });
    expect((await send(`/v1/users/${userId}/profile`)).body.recent).toHaveLength(3);
  });

  it('the profile of a user whose store fails is a 503 in the error shape', async () => {
    const userId = `do-read-${Date.now()}`;
    const stub = await userSession(faultEnv, userId);
    await runInDurableObject(stub as any, async (_instance: unknown, state: DurableObjectState) => {
      (state.storage as any).get = async () => {
        throw new Error('storage read failed (injected fault)');
      };
    });
    const { res, body } = await send(`/v1/users/${userId}/profile`);
    expect(res.status).toBe(503);
    expectErrorShape(body, 'session_store_unavailable');
    // Recommendations and search for that user go on from the request's own history.
    const rec = await send(postJson('/v1/recommend', { userId, history: [{ itemId: ids[0], event: 'view' }], k: 5 }));
    expect(rec.res.status).toBe(200);
    expect(rec.body.items).toHaveLength(5);
    expect(rec.body.fallback).toBeUndefined();
    const search = await send(postJson('/v1/search', { userId, query: 'shampoo', k: 3 }));
    expect(search.res.status).toBe(200);
    expect(search.body.items).toHaveLength(3);
  });
});

describe('manifest faults', () => {
  it('a manifest that is not JSON: the serving version keeps answering, /health names the version', async () => {
    await expectHealthy();
    await testEnv.EDGEREC_R2.put(manifestKey('v-garbled'), '{"format": "edgerec-artifact/1", "vers');
    await testEnv.EDGEREC_KV.put('active', JSON.stringify({ version: 'v-garbled', previous: base.version }));
    expect((await recommend()).body.model.version).toBe(base.version);
    expect(await health()).toMatchObject({ status: 'degraded', error: { version: 'v-garbled' } });
  });
});

describe('events under concurrency', () => {
  const batch = (userId: string, row: number, idempotencyKey?: string) =>
    postJson('/v1/events', {
      userId,
      events: [
        { itemId: ids[row], event: 'view' },
        { itemId: ids[row + 1], event: 'cart' },
      ],
      ...(idempotencyKey ? { idempotencyKey } : {}),
    });

  it('20 concurrent copies of one batch with the same idempotency key are stored once', async () => {
    const userId = `concurrent-dup-${Date.now()}`;
    const answers = await Promise.all(Array.from({ length: 20 }, () => send(batch(userId, 0, 'same-batch'))));
    for (const a of answers) expect(a.res.status).toBe(202);
    expect(answers.filter((a) => a.body.accepted === 2)).toHaveLength(1);
    expect(answers.filter((a) => a.body.duplicate === true)).toHaveLength(19);
    expect((await send(`/v1/users/${userId}/profile`)).body.recent).toHaveLength(2);
  });

  it('20 concurrent distinct batches for one user are all stored (no lost update)', async () => {
    const userId = `concurrent-many-${Date.now()}`;
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => send(batch(userId, 2 * i, `batch-${i}`))));
    const accepted = answers.reduce((s, a) => s + (a.res.status === 202 ? a.body.accepted : 0), 0);
    expect(accepted).toBe(40);
    const recent = (await send(`/v1/users/${userId}/profile`)).body.recent;
    expect(recent).toHaveLength(40);
    expect(new Set(recent.map((e: any) => e.itemId))).toEqual(new Set(ids.slice(0, 40)));
  });
});
