/**
 * Pages through the edge, inside workerd: the embedded demo shop as origin, slots filled from the
 * default model and the visitor's session, the shared cache, the identity cookie, escaping, fallbacks.
 */
import { env } from 'cloudflare:workers';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { app } from '../../src/app';
import { fetchThroughCache, originCacheKey, originRequest, sharedCacheable, type Origin } from '../../src/html/origin';
import { personaliseHtml, type SlotFiller } from '../../src/html/slots';
import { blobKey, manifestKey } from '../../src/model/store';
import { originFor } from '../../src/routes/pages';
import { call, fixtureBytes, fixtureJson, postJson, publishArtifact, resetModel, sha256Hex, testEnv } from './helpers';

const MODEL = 'models/default';
const BASE = 'https://edgerec.test';
let manifest: any;
let items: { ids: string[]; titles?: (string | null)[]; categories?: string[][] };

beforeAll(async () => {
  manifest = await publishArtifact(MODEL);
  items = await fixtureJson(`${MODEL}/items.json`);
});
beforeEach(() => resetModel());

// ---------------------------------------------------------------------------------------------
// Reading pages back: slots and their items, with entities decoded (HTMLRewriter hands out raw source).

interface PageItem {
  id: string;
  title: string;
}
interface PageSlot {
  id: string | null;
  kind: string;
  status: string | null;
  reason: string | null;
  items: PageItem[];
  text: string;
}

const decode = (s: string) =>
  s.replace(/&(lt|gt|quot|#39|amp);/g, (_, e: string) => ({ lt: '<', gt: '>', quot: '"', '#39': "'", amp: '&' })[e]!);

async function slotsOf(html: string): Promise<PageSlot[]> {
  const slots: PageSlot[] = [];
  let title: PageItem | undefined;
  await new HTMLRewriter()
    .on('[data-edgerec]', {
      element(el) {
        slots.push({
          id: el.getAttribute('id'),
          kind: el.getAttribute('data-edgerec')!,
          status: el.getAttribute('data-edgerec-status'),
          reason: el.getAttribute('data-edgerec-reason'),
          items: [],
          text: '',
        });
      },
      text(t) {
        slots.at(-1)!.text += t.text;
      },
    })
    .on('[data-edgerec] [data-item-id]', {
      element(el) {
        slots.at(-1)!.items.push((title = { id: decode(el.getAttribute('data-item-id')!), title: '' }));
      },
    })
    // All the text inside the item element (API.md: the item's title as text), not one child's.
    .on('[data-edgerec] [data-item-id] *', {
      text(t) {
        title!.title += decode(t.text);
      },
    })
    .transform(new Response(html))
    .text();
  return slots;
}

function slot(slots: PageSlot[], id: string): PageSlot {
  const found = slots.find((s) => s.id === id);
  if (!found) throw new Error(`no slot #${id} in ${JSON.stringify(slots.map((s) => s.id))}`);
  return found;
}

function get(path: string, { cookie, base = BASE }: { cookie?: string; base?: string } = {}): Request {
  return new Request(`${base}${path}`, { headers: cookie ? { cookie } : {} });
}

async function page(path: string, opts?: { cookie?: string; base?: string }) {
  const res = await call(get(path, opts));
  const html = await res.text();
  return { res, html, slots: await slotsOf(html) };
}

function cookieOf(res: Response): string {
  const value = /edgerec_uid=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1];
  if (!value) throw new Error('no identity cookie set');
  return `edgerec_uid=${value}`;
}

const titleOf = (id: string) => items.titles?.[items.ids.indexOf(id)] ?? id;

/** The worker's fetch with an execution context whose waitUntil work the test can wait for. */
async function callAndSettle(request: Request, bindings: object = env): Promise<Response> {
  const pending: Promise<unknown>[] = [];
  const ctx = { waitUntil: (p: Promise<unknown>) => void pending.push(p), passThroughOnException() {}, props: {} };
  const res = await app.fetch(request, bindings, ctx as unknown as ExecutionContext);
  const body = await res.text();
  await Promise.all(pending);
  return new Response(body, res);
}

// ---------------------------------------------------------------------------------------------

describe('shop pages through the edge', () => {
  it('fills the home page recommendation slot with one data-item-id element per item, titled from the catalog', async () => {
    const { res, html, slots } = await page('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const forYou = slot(slots, 'for-you');
    expect(forYou.kind).toBe('recommend');
    expect(forYou.status).toBe('generic'); // a first visit: nothing known yet, so the popular answer
    expect(forYou.items).toHaveLength(8);
    for (const item of forYou.items) {
      expect(items.ids).toContain(item.id);
      expect(item.title).toBe(titleOf(item.id));
    }
    expect(html).toContain('<script src="/_edgerec/beacon.js" defer></script>');
  });

  it('sets a first-party identity cookie: random, HttpOnly, SameSite=Lax, Secure, for the whole site', async () => {
    const first = (await call(get('/'))).headers.get('set-cookie')!;
    const second = (await call(get('/'))).headers.get('set-cookie')!;
    expect(first).toMatch(/^edgerec_uid=[A-Za-z0-9_-]{16,64}; /);
    for (const attr of ['Path=/', 'HttpOnly', 'SameSite=Lax', 'Secure']) expect(first.split('; ')).toContain(attr);
    expect(first).toMatch(/Max-Age=\d+/);
    expect(first.split(';')[0]).not.toBe(second.split(';')[0]); // a new random id for each new visitor
  });

  it("leaves Secure off on localhost (plain http in development) and keeps a returning visitor's cookie", async () => {
    const local = await call(get('/', { base: 'http://localhost:8787' }));
    const cookie = local.headers.get('set-cookie')!;
    expect(cookie).toContain('HttpOnly');
    expect(cookie.split('; ')).not.toContain('Secure');
    const again = await call(get('/', { base: 'http://localhost:8787', cookie: cookieOf(local) }));
    expect(again.headers.get('set-cookie')).toBeNull();
    const forged = await call(get('/', { cookie: 'edgerec_uid=<bad>' }));
    expect(forged.headers.get('set-cookie')).toMatch(/^edgerec_uid=[A-Za-z0-9_-]{16,64};/);
  });

  it('marks personalised pages Cache-Control: private and Vary: Cookie', async () => {
    const { res } = await page('/');
    expect(res.headers.get('cache-control')).toMatch(/\bprivate\b/);
    expect(res.headers.get('vary')).toMatch(/cookie/i);
    expect(res.headers.get('etag')).toBeNull();
    expect(res.headers.get('x-request-id')).toBeTruthy();
  });

  it('personalises the next page view with the events the beacon reported under the cookie', async () => {
    const visit = await call(get('/'));
    const cookie = cookieOf(visit);
    const clicked = items.ids
      .slice(0, 12)
      .filter((_, i) => i % 4 === 0)
      .slice(0, 3);
    const beacon = await call(postJson('/v1/events/beacon', { events: clicked.map((itemId) => ({ itemId, event: 'click' })) }, { cookie }));
    expect(beacon.status).toBe(202);
    expect(await beacon.json()).toEqual({ accepted: 3 });
    expect(beacon.headers.get('set-cookie')).toBeNull();

    const { slots } = await page('/', { cookie });
    const forYou = slot(slots, 'for-you');
    expect(forYou.status).toBe('personalised');
    expect(forYou.items).toHaveLength(8);
    for (const id of clicked) expect(forYou.items.map((i) => i.id)).not.toContain(id); // seen items are not recommended again
  });

  it('the beacon endpoint starts a session when it gets no cookie and validates its body like /v1/events', async () => {
    const fresh = await call(postJson('/v1/events/beacon', { events: [{ itemId: items.ids[0], event: 'view' }] }));
    expect(fresh.status).toBe(202);
    expect(fresh.headers.get('set-cookie')).toMatch(/^edgerec_uid=.+HttpOnly/);
    const bad = await call(postJson('/v1/events/beacon', { events: [{ itemId: items.ids[0], event: 'like' }] }));
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.details.field).toBe('events.0.event');
    const notJson = await call(
      new Request(`${BASE}/v1/events/beacon`, { method: 'POST', body: '{}', headers: { 'content-type': 'text/plain' } }),
    );
    expect(notJson.status).toBe(415);
    const classic = await call(postJson('/v1/events', { events: [{ itemId: items.ids[0] }] }));
    expect(classic.status).toBe(400); // /v1/events still requires its userId
  });

  it('fills the item page: similar items without the item itself, and "for you" without it', async () => {
    const id = items.ids[7]!;
    const { res, html, slots } = await page(`/items/${encodeURIComponent(id)}`);
    expect(res.status).toBe(200);
    expect(html).toContain(`<meta name="edgerec:item-id" content="${id}">`);
    const similar = slot(slots, 'similar');
    expect(similar.status).toBe('generic');
    expect(similar.items).toHaveLength(4);
    expect(similar.items.map((i) => i.id)).not.toContain(id);
    const forYou = slot(slots, 'for-you');
    expect(forYou.items).toHaveLength(4);
    expect(forYou.items.map((i) => i.id)).not.toContain(id);
  });

  it('fills the search page with items for the query', async () => {
    const word = (titleOf(items.ids[3]!) ?? '').split(/\s+/)[0]!;
    const { slots } = await page(`/search?q=${encodeURIComponent(word)}`);
    const results = slot(slots, 'results');
    expect(results.kind).toBe('search');
    expect(['generic', 'personalised']).toContain(results.status);
    expect(results.items.length).toBeGreaterThan(0);
  });

  it('serves category pages, an origin 404 as a page, and leaves the JSON API alone', async () => {
    const category = items.categories?.[0]?.at(-1);
    if (category) {
      const { res, slots } = await page(`/c/${encodeURIComponent(category)}`);
      expect(res.status).toBe(200);
      expect(slot(slots, 'for-you').items.length).toBeGreaterThan(0);
    }
    const missing = await call(get('/items/no-such-item'));
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/^text\/html/);
    const wrongMethod = await call(get('/v1/recommend'));
    expect(wrongMethod.status).toBe(405);
    expect(((await wrongMethod.json()) as any).error.code).toBe('method_not_allowed');
    const noRoute = await call(get('/v1/nothing-here'));
    expect(noRoute.status).toBe(404);
    expect(((await noRoute.json()) as any).error.code).toBe('not_found');
    const css = await call(get('/assets/shop.css'));
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    expect(css.headers.get('set-cookie')).toBeNull();
  });
});

// ---------------------------------------------------------------------------------------------

const MARKUP_TITLE = '<script>alert("edgerec")</script> Rouge & "Co" <b>matte</b>';
const MARKUP_ID = 'sku"><svg/onload=alert(1)>';

/** Publishes the default model with its most popular item renamed to markup (title and id). */
async function publishMarkupVariant(): Promise<{ row: number }> {
  const popular = await fixtureJson(`${MODEL}/popular.json`);
  const row: number = popular.popular[0].row;
  const file = structuredClone(await fixtureJson(`${MODEL}/items.json`));
  file.ids[row] = MARKUP_ID;
  file.titles = file.titles ?? file.ids.map(() => null);
  file.titles[row] = MARKUP_TITLE;
  const bytes = new TextEncoder().encode(JSON.stringify(file)).buffer as ArrayBuffer;
  const sha256 = await sha256Hex(bytes);
  await testEnv.EDGEREC_R2.put(blobKey(sha256), bytes);
  const version = `${manifest.version}-markup`;
  // Without items.bin, so the Worker reads this items.json.
  const { itemsColumnar: _, ...files } = manifest.files;
  const variant = { ...manifest, version, files: { ...files, items: { ...manifest.files.items, sha256, bytes: bytes.byteLength } } };
  await testEnv.EDGEREC_R2.put(manifestKey(version), JSON.stringify(variant));
  await testEnv.EDGEREC_KV.put('active', JSON.stringify({ version }));
  return { row };
}

describe('escaping', () => {
  afterEach(async () => {
    await publishArtifact(MODEL);
    resetModel();
  });

  it('a title and an id with markup stay text in the shop grid, the filled slot and the item page', async () => {
    await publishMarkupVariant();
    const { html, slots } = await page('/?markup=1');
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<svg');
    expect(html).not.toContain('<b>matte');
    expect(html).toContain('&lt;script&gt;alert(&quot;edgerec&quot;)&lt;/script&gt;');
    const forYou = slot(slots, 'for-you');
    expect(forYou.status).toBe('generic');
    expect(forYou.items[0]).toEqual({ id: MARKUP_ID, title: MARKUP_TITLE });

    const item = await page(`/items/${encodeURIComponent(MARKUP_ID)}`);
    expect(item.res.status).toBe(200);
    expect(item.html).not.toContain('<script>alert');
    expect(item.html).not.toContain('<svg');
    expect(item.html).toContain(
      '<h1>&lt;script&gt;alert(&quot;edgerec&quot;)&lt;/script&gt; Rouge &amp; &quot;Co&quot; &lt;b&gt;matte&lt;/b&gt;</h1>',
    );
  });

  it('a filled slot escapes what the recommender returns, whatever the origin page is', async () => {
    const fill: SlotFiller = async () => ({
      items: [{ itemId: MARKUP_ID, title: MARKUP_TITLE, categories: ['A"<i>', 'B'] }],
      personalised: true,
    });
    const origin = new Response(
      '<html><head></head><body><div id="s" data-edgerec="recommend" data-href="/p/{id}">origin</div></body></html>',
      {
        headers: { 'content-type': 'text/html' },
      },
    );
    const out = await personaliseHtml(origin, { fill, budgetMs: 1000 }).text();
    expect(out).not.toContain('<script>alert');
    expect(out).not.toContain('<svg');
    expect(out).not.toContain('<i>');
    expect(out).toContain(`href="/p/${encodeURIComponent(MARKUP_ID)}"`);
    expect((await slotsOf(out))[0]!.items).toEqual([{ id: MARKUP_ID, title: MARKUP_TITLE }]);
  });
});

// ---------------------------------------------------------------------------------------------

const CRAFTED = `<!doctype html><html><head><title>crafted</title></head><body>
<div id="recs" data-edgerec="recommend" data-k="5">ORIGIN RECS</div>
<div id="similar" data-edgerec="similar" data-item-id="%ITEM%" data-k="3">ORIGIN SIMILAR</div>
<div id="unknown" data-edgerec="similar" data-item-id="no-such-item">ORIGIN UNKNOWN</div>
<div id="search" data-edgerec="search" data-query="%QUERY%" data-k="3">ORIGIN SEARCH</div>
<div id="bogus" data-edgerec="bogus">ORIGIN BOGUS</div>
<ul id="list" data-edgerec="recommend" data-k="4"><li>ORIGIN LIST</li></ul>
</body></html>`;

/** Puts a page into the shared cache as if the origin had served it for `path`. */
async function cacheOriginPage(path: string, body: string): Promise<void> {
  const html = body.replace('%ITEM%', items.ids[2]!).replace('%QUERY%', (titleOf(items.ids[2]!) ?? 'item').split(/\s+/)[0]!);
  await caches.default.put(
    originCacheKey(`${BASE}${path}`, 'self'),
    new Response(html, { headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'public, max-age=600' } }),
  );
}

describe('the shared origin cache', () => {
  it('stores the origin page as the origin sent it, never personalised, and serves it to the next visitor', async () => {
    const visit = await call(get('/'));
    const cookie = cookieOf(visit);
    await call(
      postJson('/v1/events/beacon', { events: items.ids.slice(20, 23).map((itemId) => ({ itemId, event: 'click' })) }, { cookie }),
    );
    const path = `/?shared=${crypto.randomUUID()}`;

    const first = await callAndSettle(get(path, { cookie }));
    expect(first.headers.get('x-edgerec-origin-cache')).toBe('MISS');
    expect(slot(await slotsOf(await first.text()), 'for-you').status).toBe('personalised');

    const cached = await caches.default.match(originCacheKey(`${BASE}${path}`, 'self'));
    expect(cached).toBeDefined();
    expect(cached!.headers.get('cache-control')).toMatch(/public/);
    const shared = await cached!.text();
    expect(shared).toContain('data-edgerec="recommend"');
    expect(shared).not.toContain('data-edgerec-status');
    expect(shared).not.toContain('beacon.js');

    const other = await callAndSettle(get(path));
    expect(other.headers.get('x-edgerec-origin-cache')).toBe('HIT');
    expect(slot(await slotsOf(await other.text()), 'for-you').status).toBe('generic');
  });

  it('fills the slots of a cached origin page; one that cannot be filled keeps the origin content', async () => {
    await cacheOriginPage('/crafted', CRAFTED);
    const { res, html, slots } = await page('/crafted');
    expect(res.headers.get('x-edgerec-origin-cache')).toBe('HIT');
    expect(slot(slots, 'recs').items).toHaveLength(5);
    expect(slot(slots, 'similar').items).toHaveLength(3);
    expect(slot(slots, 'search').status).toMatch(/generic|personalised|kept/);
    expect(slot(slots, 'unknown')).toMatchObject({ status: 'kept', reason: 'unknown-item', items: [] });
    expect(slot(slots, 'unknown').text).toContain('ORIGIN UNKNOWN');
    expect(slot(slots, 'bogus')).toMatchObject({ status: 'kept', reason: 'unknown-kind' });
    for (const item of slot(slots, 'recs').items) expect(item.title).toBe(titleOf(item.id));
    // A list slot gets list items: each item element inside an <li>, nothing else directly in the <ul>.
    expect(slot(slots, 'list').items).toHaveLength(4);
    const list = /<ul id="list"[^>]*>([\s\S]*?)<\/ul>/.exec(html)![1]!;
    expect(list.match(/<li><div class="edgerec-item" data-item-id=/g)).toHaveLength(4);
    expect(list.replace(/<li>[\s\S]*?<\/li>/g, '')).toBe('');
  });

  it("respects the origin's cache rules: no-store, private and Set-Cookie pages are never stored", async () => {
    const cache = await caches.open(`origin-rules-${crypto.randomUUID()}`);
    let calls = 0;
    const originWith = (headers: Record<string, string>): Origin => ({
      id: 'stub',
      base: new URL('https://origin.test/'),
      fetch: async () => (calls++, new Response('<p>page</p>', { headers: { 'content-type': 'text/html', ...headers } })),
    });
    const req = (path: string) => new Request(`${BASE}${path}`);

    for (const [path, headers] of [
      ['/no-store', { 'cache-control': 'no-store' }],
      ['/private', { 'cache-control': 'private, max-age=600' }],
      ['/cookie', { 'cache-control': 'public, max-age=600', 'set-cookie': 'origin=1' }],
      ['/unsaid', {}],
    ] as const) {
      calls = 0;
      const origin = originWith(headers);
      expect((await fetchThroughCache(req(path), origin, { cache })).cacheStatus).toBe('BYPASS');
      expect((await fetchThroughCache(req(path), origin, { cache })).cacheStatus).toBe('BYPASS');
      expect(calls).toBe(2);
      expect(await cache.match(originCacheKey(`${BASE}${path}`, 'stub'))).toBeUndefined();
    }

    calls = 0;
    const cacheable = originWith({ 'cache-control': 'public, max-age=600' });
    expect((await fetchThroughCache(req('/public'), cacheable, { cache })).cacheStatus).toBe('MISS');
    expect((await fetchThroughCache(req('/public'), cacheable, { cache })).cacheStatus).toBe('HIT');
    expect(calls).toBe(1);
  });

  it('serves the page from the origin when the cache cannot be read or written', async () => {
    const broken = {
      match: async () => {
        throw new Error('No Cache was configured');
      },
      put: async () => {
        throw new Error('No Cache was configured');
      },
    } as unknown as Cache;
    const origin: Origin = {
      id: 'stub',
      base: new URL('https://origin.test/'),
      fetch: async () =>
        new Response('<p>from the origin</p>', { headers: { 'content-type': 'text/html', 'cache-control': 'public, max-age=600' } }),
    };
    const { response, cacheStatus } = await fetchThroughCache(new Request(`${BASE}/broken-cache`), origin, { cache: broken });
    expect(cacheStatus).toBe('MISS');
    expect(await response.text()).toBe('<p>from the origin</p>');
  });

  it('asks a real origin for the same path and query, without the edge identity cookie', async () => {
    const origin = originFor({ ...env, ORIGIN_URL: 'https://shop.example/base/' } as any);
    expect(origin.id).toBe('shop.example');
    const incoming = new Request(`${BASE}/items/a%2Fb?x=1&y=%3C`, {
      headers: {
        cookie: 'theme=dark; edgerec_uid=abcdefghijklmnopqrstuv; cart=3',
        'accept-language': 'fr',
        authorization: 'Bearer secret',
      },
    });
    const req = originRequest(incoming, origin);
    expect(req.url).toBe('https://shop.example/items/a%2Fb?x=1&y=%3C');
    expect(req.method).toBe('GET');
    expect(req.headers.get('cookie')).toBe('theme=dark; cart=3');
    expect(req.headers.get('accept-language')).toBe('fr');
    expect(req.headers.get('authorization')).toBeNull();
    expect(req.headers.get('x-forwarded-host')).toBe('edgerec.test');
    expect(
      originRequest(new Request(BASE, { headers: { cookie: 'edgerec_uid=abcdefghijklmnopqrstuv' } }), origin).headers.has('cookie'),
    ).toBe(false);
    expect(originFor({ ...env, ORIGIN_URL: 'self' } as any).id).toBe('self');
    expect(originFor({ ...env, ORIGIN_URL: undefined } as any).id).toBe('self');
  });

  it('decides shared cacheability from status, Cache-Control, Set-Cookie and Vary', () => {
    const res = (status: number, headers: Record<string, string>) => new Response(null, { status, headers });
    expect(sharedCacheable(res(200, { 'cache-control': 'public, max-age=60' }))).toBe(true);
    expect(sharedCacheable(res(200, { 'cache-control': 's-maxage=60, max-age=0' }))).toBe(true);
    expect(sharedCacheable(res(200, { 'cache-control': 'max-age=0' }))).toBe(false);
    expect(sharedCacheable(res(200, { 'cache-control': 'public, no-cache, max-age=60' }))).toBe(false);
    expect(sharedCacheable(res(404, { 'cache-control': 'public, max-age=60' }))).toBe(false);
    expect(sharedCacheable(res(200, { 'cache-control': 'public, max-age=60', vary: '*' }))).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------

describe('fallbacks: the page always renders', () => {
  afterEach(async () => {
    await publishArtifact(MODEL);
    resetModel();
  });

  it('without any model, slots keep the origin content and the shop says it is opening', async () => {
    await cacheOriginPage('/crafted-no-model', CRAFTED);
    await testEnv.EDGEREC_KV.delete('active');
    const crafted = await page('/crafted-no-model');
    expect(crafted.res.status).toBe(200);
    for (const s of crafted.slots) {
      expect(s.status).toBe('kept');
      expect(s.items).toEqual([]);
    }
    expect(slot(crafted.slots, 'recs')).toMatchObject({ reason: 'no-model' });
    expect(slot(crafted.slots, 'recs').text).toContain('ORIGIN RECS');

    const home = await callAndSettle(get('/?no-model=1'));
    expect(home.status).toBe(200);
    expect(home.headers.get('x-edgerec-origin-cache')).toBe('BYPASS'); // the origin said no-store
    const html = await home.text();
    expect(html).toContain('opening soon');
    expect(slot(await slotsOf(html), 'for-you')).toMatchObject({ status: 'kept', reason: 'no-model', items: [] });
    expect(await caches.default.match(originCacheKey(`${BASE}/?no-model=1`, 'self'))).toBeUndefined();
  });

  it('an origin that cannot be reached: 502 origin_unavailable in the error shape (not a session-store error)', async () => {
    const res = await app.request(`${BASE}/unreachable-origin`, {}, { ...env, ORIGIN_URL: 'http://127.0.0.1:9/' });
    expect(res.status).toBe(502);
    expect(res.headers.get('x-request-id')).toBeTruthy();
    expect(await res.json()).toMatchObject({ error: { code: 'origin_unavailable', message: expect.stringContaining('origin') } });
  });

  it('a model that cannot score leaves the recommendation slot with popular items', async () => {
    await testEnv.EDGEREC_R2.put(blobKey(manifest.files.userEncoder.sha256), 'not an onnx model');
    const { res, slots } = await page('/?broken-model=1');
    expect(res.status).toBe(200);
    const forYou = slot(slots, 'for-you');
    expect(forYou.status).toBe('generic');
    expect(forYou.items).toHaveLength(8);
    const item = await page(`/items/${encodeURIComponent(items.ids[1]!)}`);
    // As /v1/items/{id}/similar without a model: popular items of the item's own category.
    const similar = slot(item.slots, 'similar');
    expect(similar.status).toBe('generic');
    expect(similar.items.length).toBeGreaterThan(0);
    expect(similar.items.map((i) => i.id)).not.toContain(items.ids[1]);
    const leaf = items.categories![1]!.at(-1)!;
    expect(items.categories![items.ids.indexOf(similar.items[0]!.id)]!.at(-1)).toBe(leaf);
    expect(slot(item.slots, 'for-you').items).toHaveLength(4);
    // And a search slot searches the catalog's words.
    await cacheOriginPage('/crafted-broken-model', CRAFTED);
    const crafted = await page('/crafted-broken-model');
    expect(slot(crafted.slots, 'search').status).toBe('generic');
    expect(slot(crafted.slots, 'search').items.length).toBeGreaterThan(0);
  });

  it('a slot whose filler throws or overruns the time budget keeps the origin content', async () => {
    const origin = () =>
      new Response(
        '<html><head></head><body><div id="a" data-edgerec="recommend">ORIGIN A</div><div id="b" data-edgerec="search" data-query="x">ORIGIN B</div></body></html>',
        {
          headers: { 'content-type': 'text/html' },
        },
      );
    const throwing: SlotFiller = async () => {
      throw new Error('scoring exploded');
    };
    const thrown = await slotsOf(await personaliseHtml(origin(), { fill: throwing, budgetMs: 1000 }).text());
    expect(thrown.map((s) => [s.status, s.reason, s.text])).toEqual([
      ['kept', 'error', 'ORIGIN A'],
      ['kept', 'error', 'ORIGIN B'],
    ]);

    const never: SlotFiller = () => new Promise(() => {});
    const slow = await slotsOf(await personaliseHtml(origin(), { fill: never, budgetMs: 20 }).text());
    expect(slow.map((s) => [s.status, s.reason, s.text])).toEqual([
      ['kept', 'timeout', 'ORIGIN A'],
      ['kept', 'timeout', 'ORIGIN B'],
    ]);

    const fast: SlotFiller = async () => ({ items: [{ itemId: 'x1', title: 'One' }], personalised: false });
    const filled = await slotsOf(await personaliseHtml(origin(), { fill: fast, budgetMs: 1000 }).text());
    expect(filled.map((s) => s.items)).toEqual([[{ id: 'x1', title: 'One' }], [{ id: 'x1', title: 'One' }]]);
  });

  it('a page with a zero budget still renders, its slots keeping the origin content', async () => {
    const res = await callAndSettle(get('/?zero-budget=1'), { ...env, PERSONALISE_BUDGET_MS: '0' });
    expect(res.status).toBe(200);
    const forYou = slot(await slotsOf(await res.text()), 'for-you');
    // The shop's own content is the bestseller list: the same cards, kept rather than refilled.
    expect(forYou.items).toHaveLength(8);
    expect(['kept', 'generic']).toContain(forYou.status);
  });
});
