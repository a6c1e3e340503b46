/**
 * The edge API beyond /v1/recommend, on the real default artifact inside workerd: events, similar
 * items, personalised search, profiles, OpenAPI. Content assertions use the default catalog (the
 * synthetic beauty shop), read from models/default/items.json rather than hard-coded.
 */
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { app } from '../../src/app';
import { call, fixtureJson, postJson, publishArtifact, resetModel } from './helpers';

const MODEL = 'models/default';
let items: { ids: string[]; titles: string[]; categories: string[][]; prices: (number | null)[] };
const leaf = (row: number) => items.categories[row]!.at(-1)!;
const rowsIn = (category: string) => items.ids.map((_, r) => r).filter((r) => leaf(r) === category);
let userCounter = 0;
const newUser = () => `test-user-${Date.now()}-${userCounter++}`;

beforeAll(async () => {
  await publishArtifact(MODEL);
  items = await fixtureJson(`${MODEL}/items.json`);
});
beforeEach(() => resetModel());

async function json(res: Response | Promise<Response>): Promise<any> {
  return (await res).json();
}

describe('POST /v1/events and the next recommendation', () => {
  it('accepts events with 202 and the very next recommendation shifts to their category', async () => {
    const userId = newUser();
    const categories = [...new Set(items.ids.map((_, r) => leaf(r)))].filter((c) => rowsIn(c).length >= 15);
    // The category the user does not get before, so the shift is visible.
    const before: any = await json(call(postJson('/v1/recommend', { userId, k: 10 })));
    const beforeCats = before.items.map((i: any) => i.categories.at(-1));
    const target = categories.find((c) => !beforeCats.includes(c)) ?? categories[0]!;
    const events = rowsIn(target)
      .slice(0, 5)
      .map((r) => ({ itemId: items.ids[r], event: 'view' }));
    const res = await call(postJson('/v1/events', { userId, events }));
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: 5 });
    const after: any = await json(call(postJson('/v1/recommend', { userId, k: 10 })));
    const share = after.items.filter((i: any) => i.categories.at(-1) === target).length / after.items.length;
    expect(share).toBeGreaterThanOrEqual(0.5);
    // Seen items are excluded from the user's stored history too.
    for (const e of events) expect(after.items.map((i: any) => i.itemId)).not.toContain(e.itemId);
  });

  it('stores a retried batch with the same idempotency key once', async () => {
    const userId = newUser();
    const batch = { userId, events: [{ itemId: items.ids[1], event: 'cart' }], idempotencyKey: 'batch-1' };
    expect(await json(call(postJson('/v1/events', batch)))).toEqual({ accepted: 1 });
    const retry = await call(postJson('/v1/events', batch));
    expect(retry.status).toBe(202);
    expect(await retry.json()).toMatchObject({ accepted: 0, duplicate: true });
    const profile: any = await json(call(`/v1/users/${userId}/profile`));
    expect(profile.recent).toHaveLength(1);
    // The same key with another batch is refused (422), not answered "duplicate" with the batch lost.
    const reused = await call(postJson('/v1/events', { ...batch, events: [{ itemId: items.ids[2], event: 'view' }] }));
    expect(reused.status).toBe(422);
    expect(await reused.json()).toMatchObject({ error: { code: 'idempotency_key_reused', details: { field: 'idempotencyKey' } } });
    // The header form is the same key.
    const viaHeader = await call(postJson('/v1/events', { userId, events: batch.events }, { 'idempotency-key': 'batch-1' }));
    expect(await viaHeader.json()).toMatchObject({ accepted: 0, duplicate: true });
    // Two different keys for one batch (body and header): refused, not one of them silently chosen.
    const twoKeys = await call(postJson('/v1/events', { ...batch, idempotencyKey: 'batch-2' }, { 'idempotency-key': 'batch-3' }));
    expect(twoKeys.status).toBe(400);
    expect(((await twoKeys.json()) as any).error.details.field).toBe('idempotencyKey');
    expect(((await json(call(`/v1/users/${userId}/profile`))) as any).recent).toHaveLength(1);
  });

  it('rejects bad batches with 400 naming the field', async () => {
    const cases: [unknown, string][] = [
      [{ events: [{ itemId: 'a' }] }, 'userId'],
      [{ userId: 'u', events: [] }, 'events'],
      [{ userId: 'u', events: [{ itemId: 'a', event: 'nope' }] }, 'events.0.event'],
      [{ userId: 'u', events: Array.from({ length: 101 }, () => ({ itemId: 'a' })) }, 'events'],
    ];
    for (const [body, field] of cases) {
      const res = await call(postJson('/v1/events', body));
      expect(res.status).toBe(400);
      expect(((await res.json()) as any).error.details.field).toBe(field);
    }
  });
});

describe('GET /v1/items/{id}/similar', () => {
  it('an item similar to a lipstick is a lipstick', async () => {
    const lipsticks = rowsIn('Lipstick');
    expect(lipsticks.length).toBeGreaterThan(5);
    const body: any = await json(call(`/v1/items/${items.ids[lipsticks[0]!]}/similar?k=5`));
    expect(body.items).toHaveLength(5);
    expect(body.items[0].categories.at(-1)).toBe('Lipstick');
    const share = body.items.filter((i: any) => i.categories.at(-1) === 'Lipstick').length / 5;
    expect(share).toBeGreaterThanOrEqual(0.6);
    expect(body.items.map((i: any) => i.itemId)).not.toContain(items.ids[lipsticks[0]!]);
  });

  it('404 for an unknown item and 400 for a bad k', async () => {
    const missing = await call('/v1/items/no-such-item/similar');
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as any).error.code).toBe('item_not_found');
    const bad = await call(`/v1/items/${items.ids[0]}/similar?k=0`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.details.field).toBe('k');
  });
});

describe('POST /v1/search', () => {
  it('finds items matching the query words, filters hold on every item', async () => {
    const body: any = await json(call(postJson('/v1/search', { query: 'lipstick', k: 8 })));
    expect(body.items).toHaveLength(8);
    for (const item of body.items) expect(`${item.title} ${item.categories.join(' ')}`.toLowerCase()).toContain('lipstick');
    const cheap: any = await json(call(postJson('/v1/search', { query: 'lipstick', k: 5, filters: { priceMax: 15 } })));
    for (const item of cheap.items) expect(item.price).toBeLessThanOrEqual(15);
  });

  it('answers only items that match: none for unknown words, the known word of a mixed query, plurals as singulars', async () => {
    const res = await call(postJson('/v1/search', { query: 'zzqx unheardof', k: 5 }));
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).items).toEqual([]);
    const text = (item: any) => `${item.title} ${item.categories.join(' ')}`.toLowerCase();
    const mixed: any = await json(call(postJson('/v1/search', { query: 'zzqx lipstick', k: 10 })));
    expect(mixed.items).toHaveLength(10);
    for (const item of mixed.items) expect(text(item)).toContain('lipstick');
    // Accents are folded on both sides: a brand typed without its accent still matches.
    const brand = items.titles.find((t) => /[\u00C0-\u017F]/.test(t.split(' ')[0]!))!.split(' ')[0]!;
    const plain = brand.normalize('NFD').replace(/\p{M}+/gu, '');
    const accented: any = await json(call(postJson('/v1/search', { query: brand, k: 5 })));
    const folded: any = await json(call(postJson('/v1/search', { query: plain, k: 5 })));
    expect(accented.items.length).toBeGreaterThan(0);
    expect(folded.items.map((i: any) => i.itemId)).toEqual(accented.items.map((i: any) => i.itemId));
    const plural: any = await json(call(postJson('/v1/search', { query: 'Lipsticks', k: 10 })));
    expect(plural.items.map((i: any) => i.itemId)).toEqual(
      ((await json(call(postJson('/v1/search', { query: 'lipstick', k: 10 })))) as any).items.map((i: any) => i.itemId),
    );
    // A common word ("for") does not make everything a match; the rare ones decide.
    const phrase: any = await json(call(postJson('/v1/search', { query: 'moisturizer for dry skin', k: 100 })));
    expect(phrase.items.length).toBeGreaterThan(0);
    expect(phrase.items.length).toBeLessThan(items.ids.length / 4);
    for (const item of phrase.items) expect(text(item)).toMatch(/moisturizer|dry/);
    expect(text(phrase.items[0])).toMatch(/moisturizer.*dry skin/);
  });

  it("the user's history re-orders the matches", async () => {
    const plain: any = await json(call(postJson('/v1/search', { query: 'beauty', k: 20 })));
    const history = rowsIn(leaf(0))
      .slice(0, 5)
      .map((r) => ({ itemId: items.ids[r], event: 'purchase' }));
    const personal: any = await json(call(postJson('/v1/search', { query: 'beauty', k: 20, history })));
    expect(personal.items.map((i: any) => i.itemId)).not.toEqual(plain.items.map((i: any) => i.itemId));
  });

  it('400 for an empty query', async () => {
    const res = await call(postJson('/v1/search', { query: '   ' }));
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.details.field).toBe('query');
  });
});

describe('GET /v1/users/{id}/profile', () => {
  it('gives interests from the user tower and the recent events, newest first', async () => {
    const userId = newUser();
    const rows = rowsIn(leaf(3)).slice(0, 3);
    await call(
      postJson('/v1/events', {
        userId,
        events: rows.map((r, i) => ({ itemId: items.ids[r], event: 'view', ts: Math.floor(Date.now() / 1000) - 100 + i })),
      }),
    );
    const profile: any = await json(call(`/v1/users/${userId}/profile`));
    expect(profile.recent.map((e: any) => e.itemId)).toEqual(rows.map((r) => items.ids[r]).reverse());
    expect(profile.interests.length).toBeGreaterThan(0);
    const total = profile.interests.reduce((s: number, i: any) => s + i.weight, 0);
    expect(total).toBeLessThanOrEqual(1.0001);
  });

  it('an unknown user has an empty profile, not an error', async () => {
    const profile: any = await json(call(`/v1/users/${newUser()}/profile`));
    expect(profile).toEqual({ interests: [], recent: [] });
  });
});

describe('GET /openapi.json and /docs', () => {
  it('documents every endpoint of API.md as OpenAPI 3.1', async () => {
    const doc: any = await json(call('/openapi.json'));
    expect(doc.openapi).toBe('3.1.0');
    for (const path of [
      '/health',
      '/v1/model',
      '/v1/recommend',
      '/v1/items/{itemId}/similar',
      '/v1/search',
      '/v1/events',
      '/v1/users/{userId}/profile',
      '/admin/models',
      '/admin/models/{version}/activate',
    ]) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
    expect(doc.components.schemas.RecommendRequest.properties.k.maximum).toBe(100);
  });

  it('documents exactly the API routes the app serves, with their methods', async () => {
    const doc: any = await json(call('/openapi.json'));
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops as object).map((method) => `${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`),
    );
    const isApi = (path: string) => /^\/(v1|admin)\//.test(path) || path === '/health';
    const served = app.routes.filter((r) => r.method !== 'ALL' && isApi(r.path)).map((r) => `${r.method} ${r.path}`);
    expect(new Set(documented)).toEqual(new Set(served));
    expect(documented).toHaveLength(new Set(documented).size);
    // Inputs are described as clients send them: defaults make fields optional, ids are bounded.
    expect(doc.components.schemas.RecommendRequest.required ?? []).toEqual([]);
    const similar = doc.paths['/v1/items/{itemId}/similar'].get.parameters;
    expect(similar).toEqual([
      { name: 'itemId', in: 'path', required: true, schema: { type: 'string', minLength: 1, maxLength: 512 } },
      { name: 'k', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 100, default: 10 } },
    ]);
    expect(JSON.stringify(doc)).not.toContain('#/$defs/'); // every named schema is a component
  });

  it('/docs is a readable page', async () => {
    const res = await call('/docs');
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(await res.text()).toContain('/openapi.json');
  });
});
