import { beforeAll, beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { call, fixtureBytes, fixtureJson, postJson, publishArtifact, resetModel, testEnv } from './helpers';

const MODEL = 'models/default';
let manifest: any;
let items: { ids: string[]; categories: string[][]; prices: (number | null)[] };

beforeAll(async () => {
  manifest = await publishArtifact(MODEL);
  items = await fixtureJson(`${MODEL}/items.json`);
});
beforeEach(() => resetModel());

async function recommend(body: unknown) {
  const res = await call(postJson('/v1/recommend', body));
  return { res, body: (await res.json()) as any };
}

describe('POST /v1/recommend with the default model', () => {
  it('returns k items with scores in descending order and the model version', async () => {
    const history = items.ids.slice(0, 3).map((itemId) => ({ itemId, event: 'view' }));
    const { res, body } = await recommend({ history, k: 7 });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-model-version')).toBe(manifest.version);
    expect(res.headers.get('x-request-id')).toBeTruthy();
    expect(body.model.version).toBe(manifest.version);
    expect(body.fallback).toBeUndefined();
    expect(body.items).toHaveLength(7);
    const scores = body.items.map((i: any) => i.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    for (const item of body.items) expect(items.ids).toContain(item.itemId);
  });

  it('excludes the history by default and includes it when excludeSeen is false', async () => {
    const seen = items.ids.slice(10, 20);
    const history = seen.map((itemId) => ({ itemId, event: 'view' }));
    const { body } = await recommend({ history, k: 100 });
    expect(body.items.some((i: any) => seen.includes(i.itemId))).toBe(false);
    const all = await recommend({ history, k: 100, excludeSeen: false });
    expect(all.body.items.map((i: any) => i.itemId)).not.toEqual(body.items.map((i: any) => i.itemId));
  });

  it('applies category, price and exclusion filters to every item and still returns k', async () => {
    const category = items.categories[5]!.at(-1)!;
    const excluded = items.ids.slice(0, 50);
    const { body } = await recommend({
      history: [{ itemId: items.ids[5], event: 'cart' }],
      k: 5,
      filters: { categories: [category], priceMax: 1e9, excludeItemIds: excluded },
    });
    expect(body.items).toHaveLength(5);
    for (const item of body.items) {
      expect(item.categories).toContain(category);
      expect(excluded).not.toContain(item.itemId);
    }
    const cheap = await recommend({ history: [{ itemId: items.ids[5] }], k: 10, filters: { priceMin: 10, priceMax: 20 } });
    for (const item of cheap.body.items) (expect(item.price).toBeGreaterThanOrEqual(10), expect(item.price).toBeLessThanOrEqual(20));
  });

  it('answers a user without known events from the popular list', async () => {
    const { res, body } = await recommend({ history: [{ itemId: 'no-such-item', event: 'view' }], k: 5, explain: true });
    expect(res.status).toBe(200);
    expect(body.items).toHaveLength(5);
    expect(body.ignored).toBe(1);
    expect(body.items[0].reasons[0].type).toBe('popular');
    const empty = await recommend({});
    expect(empty.body.items).toHaveLength(10);
    expect(empty.body.ignored).toBe(0); // always counted, 0 included
  });

  it('explains items with history events and an interest, and returns the interest profile', async () => {
    const history = items.ids.slice(30, 34).map((itemId) => ({ itemId, event: 'view' }));
    const { body } = await recommend({ history, k: 3, explain: true });
    expect(body.profile.interests.length).toBeGreaterThan(0);
    for (const item of body.items) {
      expect(item.reasons.length).toBeGreaterThan(0);
      for (const r of item.reasons.filter((x: any) => x.type === 'history')) expect(history.map((h) => h.itemId)).toContain(r.itemId);
    }
  });

  it('orders a history by ts when every event has one, whatever the array order', async () => {
    // The Worker runs in this isolate: one fixed clock for every request, so the events' ages (and
    // so the exact scores compared below) cannot move when a second boundary falls between them.
    const clock = vi.spyOn(Date, 'now').mockReturnValue(Date.now());
    onTestFinished(() => clock.mockRestore());
    const now = Math.floor(Date.now() / 1000);
    const events = [
      { itemId: items.ids[3], event: 'view', ts: now - 7200 },
      { itemId: items.ids[40], event: 'cart', ts: now - 60 },
      { itemId: items.ids[90], event: 'view', ts: now - 3600 },
    ];
    const asSent = await recommend({ history: events, k: 8 });
    const reversed = await recommend({ history: [...events].reverse(), k: 8 });
    const sorted = await recommend({ history: [...events].sort((a, b) => a.ts - b.ts), k: 8 });
    expect(asSent.body.items).toEqual(sorted.body.items);
    expect(reversed.body.items).toEqual(sorted.body.items);
    // Without ts on every event the array order is the order: the last event weighs differently.
    const untimed = events.map(({ ts: _ts, ...e }) => e);
    const a = await recommend({ history: untimed, k: 8 });
    const b = await recommend({ history: [...untimed].reverse(), k: 8 });
    expect(a.body.items.map((i: any) => i.score)).not.toEqual(b.body.items.map((i: any) => i.score));
  });

  it('diversity changes the list without losing k items', async () => {
    const history = items.ids.slice(40, 45).map((itemId) => ({ itemId, event: 'view' }));
    const plain = await recommend({ history, k: 10 });
    const diverse = await recommend({ history, k: 10, diversity: 0.9 });
    expect(diverse.body.items).toHaveLength(10);
    expect(diverse.body.items.map((i: any) => i.itemId)).not.toEqual(plain.body.items.map((i: any) => i.itemId));
  });
});

describe('POST /v1/recommend rejects bad input with the error shape', () => {
  const cases: [string, unknown, string][] = [
    ['k below 1', { k: 0 }, 'k'],
    ['k above 100', { k: 101 }, 'k'],
    ['k not an integer', { k: 2.5 }, 'k'],
    ['k a string', { k: '10' }, 'k'],
    ['history not a list', { history: 'abc' }, 'history'],
    ['history too long', { history: Array.from({ length: 201 }, () => ({ itemId: 'a' })) }, 'history'],
    ['an unknown event type', { history: [{ itemId: 'a', event: 'like' }] }, 'history.0.event'],
    ['an empty item id', { history: [{ itemId: '' }] }, 'history.0.itemId'],
    ['an item id over 512 characters', { history: [{ itemId: 'x'.repeat(513) }] }, 'history.0.itemId'],
    ['a negative timestamp', { history: [{ itemId: 'a', ts: -1 }] }, 'history.0.ts'],
    ['a query too long', { history: [{ itemId: 'a', event: 'search', query: 'x'.repeat(300) }] }, 'history.0.query'],
    ['userId empty', { userId: '' }, 'userId'],
    ['userId not a string', { userId: 42 }, 'userId'],
    ['filters.categories not a list', { filters: { categories: 'Makeup' } }, 'filters.categories'],
    ['filters.excludeItemIds with a number', { filters: { excludeItemIds: [1] } }, 'filters.excludeItemIds.0'],
    ['filters.priceMin negative', { filters: { priceMin: -1 } }, 'filters.priceMin'],
    ['priceMin above priceMax', { filters: { priceMin: 50, priceMax: 10 } }, 'filters.priceMin'],
    ['a filter the API does not have (a typo)', { filters: { category: ['Makeup'] } }, 'filters'],
    ['excludeSeen not a boolean', { excludeSeen: 'yes' }, 'excludeSeen'],
    ['diversity above 1', { diversity: 1.5 }, 'diversity'],
    ['explain not a boolean', { explain: 1 }, 'explain'],
  ];
  for (const [name, body, field] of cases) {
    it(`400 for ${name}, naming ${field}`, async () => {
      const res = await call(postJson('/v1/recommend', body));
      expect(res.status).toBe(400);
      const json: any = await res.json();
      expect(json.error.code).toBe('invalid_request');
      expect(json.error.details.field).toBe(field);
      expect(typeof json.error.message).toBe('string');
    });
  }

  it('400 for malformed JSON', async () => {
    const res = await call(postJson('/v1/recommend', '{"k":'));
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.code).toBe('invalid_json');
  });

  it('415 for a body that is not JSON', async () => {
    const res = await call(
      new Request('http://edgerec.test/v1/recommend', { method: 'POST', body: 'k=1', headers: { 'content-type': 'text/plain' } }),
    );
    expect(res.status).toBe(415);
    expect(((await res.json()) as any).error.code).toBe('unsupported_media_type');
  });

  it('415 naming the encoding for a compressed body, which would otherwise only fail as "not JSON"', async () => {
    const gzipped = await new Response(new Blob(['{"k":3}']).stream().pipeThrough(new CompressionStream('gzip'))).arrayBuffer();
    const res = await call(
      new Request('http://edgerec.test/v1/recommend', {
        method: 'POST',
        body: gzipped,
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      }),
    );
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({ error: { code: 'unsupported_media_type', details: { contentEncoding: 'gzip' } } });
  });

  it('reads the body of every JSON media type, and refuses look-alikes instead of ignoring their body', async () => {
    const send = (type: string) =>
      call(new Request('http://edgerec.test/v1/recommend', { method: 'POST', body: '{"k":3}', headers: { 'content-type': type } }));
    for (const type of ['application/json', 'Application/JSON; charset=UTF-8', 'application/vnd.shop+json']) {
      const res = await send(type);
      expect(res.status, type).toBe(200);
      expect(((await res.json()) as any).items, type).toHaveLength(3); // k = 3 was read, not the default 10
    }
    for (const type of ['application/json-seq', 'application/json, text/plain', 'application/jsonx', 'text/json']) {
      const res = await send(type);
      expect(res.status, type).toBe(415);
    }
  });

  it('413 for a body that is too large', async () => {
    const res = await call(postJson('/v1/recommend', JSON.stringify({ pad: 'x'.repeat(70_000) })));
    expect(res.status).toBe(413);
    expect(((await res.json()) as any).error.code).toBe('payload_too_large');
  });

  it('405 for a wrong method and 404 for an unknown route', async () => {
    const wrong = await call('/v1/recommend');
    expect(wrong.status).toBe(405);
    expect(((await wrong.json()) as any).error.code).toBe('method_not_allowed');
    const missing = await call('/v1/nothing-here');
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as any).error.code).toBe('not_found');
    // API-looking paths are never the proxied shop's HTML page: another version, another case, a
    // trailing slash. Every error has details (null when there is nothing to add).
    for (const path of ['/v2/recommend', '/V1/model', '/health/', '/openapi.json/', '/v1']) {
      const res = await call(path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type'), path).toMatch(/^application\/json/);
      expect(await res.json(), path).toEqual({ error: { code: 'not_found', message: expect.any(String), details: null } });
    }
  });
});

describe('model endpoints', () => {
  it('GET /health reports the loaded model', async () => {
    const res = await call('/health');
    const body: any = await res.json();
    expect(res.status).toBe(200);
    expect(body.status).toBe('ok');
    expect(body.model).toMatchObject({ version: manifest.version, loaded: true });
  });

  it('GET /v1/model summarises the active model with its offline metrics', async () => {
    const res = await call('/v1/model');
    const body: any = await res.json();
    expect(body).toMatchObject({ version: manifest.version, items: manifest.items, dim: manifest.dim });
    expect(body.metrics.int8['ndcg@10']).toBeTypeOf('number');
  });
});

describe('without a usable model', () => {
  it('serves the popularity fallback when the encoder blob is corrupt', async () => {
    // Same length, one byte changed: the sha256 check is what catches it (a wrong length fails earlier, test/worker/faults.test.ts).
    const bytes = new Uint8Array(await fixtureBytes(`${MODEL}/${manifest.files.userEncoder.path}`));
    bytes[bytes.length >> 1]! ^= 0xff;
    await testEnv.EDGEREC_R2.put(`blobs/sha256/${manifest.files.userEncoder.sha256}`, bytes);
    try {
      const { res, body } = await recommend({ history: [{ itemId: items.ids[0] }], k: 4 });
      expect(res.status).toBe(200);
      expect(body.fallback).toBe('popular');
      expect(body.items).toHaveLength(4);
      const health: any = await (await call('/health')).json();
      expect(health.status).toBe('degraded');
      expect(health.error.message).toMatch(/checksum/);
    } finally {
      await publishArtifact(MODEL);
    }
  });

  it('answers 503 in the error shape when nothing is published', async () => {
    await testEnv.EDGEREC_KV.delete('active');
    try {
      const res = await call(postJson('/v1/recommend', { k: 3 }));
      expect(res.status).toBe(503);
      expect(((await res.json()) as any).error.code).toBe('model_unavailable');
    } finally {
      await publishArtifact(MODEL);
    }
  });
});
