/// <reference types="@cloudflare/vitest-plugin/types" />
/**
 * Limits and security at the edge, inside workerd: every input a client sends is bounded and refused
 * with a 400 naming the field (never a 5xx), bodies are capped even when chunked, CORS follows the
 * CORS_ORIGINS allow-list, the per-client rate limit answers 429 with retry-after, admin needs the
 * bearer token, user ids are stored only as HMACs, and events expire after the retention time.
 */
import { createExecutionContext, runDurableObjectAlarm, runInDurableObject, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import worker from '../../src/index';
import { timingSafeEqual } from '../../src/http/admin-auth';
import { parseAllowList } from '../../src/http/cors';
import { clientKey, retryAfterSeconds } from '../../src/http/rate-limit';
import { userSession } from '../../src/model/session-store';
import { fixtureJson, postJson, publishArtifact } from './helpers';

const MODEL = 'models/default';
let ids: string[];

beforeAll(async () => {
  await publishArtifact(MODEL);
  ids = (await fixtureJson(`${MODEL}/items.json`)).ids;
});

/** The Worker's fetch with an env of this test's choosing (bindings and vars). */
async function send(request: Request | string, vars: Record<string, unknown> = {}): Promise<{ res: Response; body: any }> {
  const req = typeof request === 'string' ? new Request(`http://edgerec.test${request}`) : request;
  const ctx = createExecutionContext();
  const res = await worker.fetch(req as Request<unknown, IncomingRequestCfProperties>, { ...(env as object), ...vars } as any, ctx);
  const text = await res.text();
  await waitOnExecutionContext(ctx);
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { res, body };
}

let clientCounter = Math.floor(Math.random() * 0xffff);
/** A fresh client (a /64 of the documentation prefix) per use, so rate-limit budgets never leak between tests. */
const newClient = () => `2001:db8:${(clientCounter++ % 0xffff).toString(16)}::1`;

function expectRefusal(r: { res: Response; body: any }, status: number, field?: string) {
  expect(r.res.status).toBe(status);
  expect(r.body.error).toMatchObject({ code: expect.any(String), message: expect.any(String) });
  if (field !== undefined) expect(r.body.error.details.field).toBe(field);
}

describe('every input is bounded and refused with the field named', () => {
  const long = (n: number) => 'x'.repeat(n);
  const cases: [string, string, unknown, string][] = [
    ['events: userId too long', '/v1/events', { userId: long(513), events: [{ itemId: 'a' }] }, 'userId'],
    ['events: userId empty', '/v1/events', { userId: '', events: [{ itemId: 'a' }] }, 'userId'],
    ['events: itemId too long', '/v1/events', { userId: 'u', events: [{ itemId: long(513) }] }, 'events.0.itemId'],
    [
      'events: query too long',
      '/v1/events',
      { userId: 'u', events: [{ itemId: 'a', event: 'search', query: long(257) }] },
      'events.0.query',
    ],
    ['events: ts in the far future', '/v1/events', { userId: 'u', events: [{ itemId: 'a', ts: 1e12 }] }, 'events.0.ts'],
    [
      'events: idempotencyKey too long',
      '/v1/events',
      { userId: 'u', events: [{ itemId: 'a' }], idempotencyKey: long(129) },
      'idempotencyKey',
    ],
    ['events: events not a list', '/v1/events', { userId: 'u', events: { itemId: 'a' } }, 'events'],
    ['search: query too long', '/v1/search', { query: long(257) }, 'query'],
    ['search: query missing', '/v1/search', {}, 'query'],
    ['search: k above 100', '/v1/search', { query: 'lipstick', k: 101 }, 'k'],
    ['search: history too long', '/v1/search', { query: 'a', history: Array.from({ length: 201 }, () => ({ itemId: 'a' })) }, 'history'],
    ['search: userId too long', '/v1/search', { query: 'a', userId: long(513) }, 'userId'],
    [
      'recommend: too many excluded ids',
      '/v1/recommend',
      { filters: { excludeItemIds: Array.from({ length: 501 }, (_, i) => `i${i}`) } },
      'filters.excludeItemIds',
    ],
    [
      'recommend: too many categories',
      '/v1/recommend',
      { filters: { categories: Array.from({ length: 51 }, (_, i) => `c${i}`) } },
      'filters.categories',
    ],
    ['recommend: a category too long', '/v1/recommend', { filters: { categories: [long(129)] } }, 'filters.categories.0'],
    ['recommend: a body that is a JSON array', '/v1/recommend', [1, 2, 3], 'json'],
    ['recommend: a body that is a JSON string', '/v1/recommend', '"hello"', 'json'],
  ];
  for (const [name, path, body, field] of cases) {
    it(`400 for ${name}, naming ${field}`, async () => {
      const r = await send(postJson(path, body));
      expectRefusal(r, 400);
      expect(r.body.error.details.field === field || r.body.error.details.issues.some((i: any) => i.field === field)).toBe(true);
    });
  }

  it('path parameters and query strings are bounded too', async () => {
    expectRefusal(await send(`/v1/items/${'x'.repeat(513)}/similar`), 400, 'itemId');
    expectRefusal(await send(`/v1/items/${ids[0]}/similar?k=abc`), 400, 'k');
    expectRefusal(await send(`/v1/items/${ids[0]}/similar?k=1e9`), 400, 'k');
    for (const k of ['0x10', '1e1', '0', '101', '-1', '2.5', '%205'])
      expectRefusal(await send(`/v1/items/${ids[0]}/similar?k=${k}`), 400, 'k');
    expectRefusal(await send(`/v1/users/${'u'.repeat(513)}/profile`), 400, 'userId');
    const admin = { authorization: `Bearer ${(env as any).ADMIN_TOKEN}` };
    expectRefusal(
      await send(new Request('http://edgerec.test/admin/models/bad%20version/activate', { method: 'POST', headers: admin })),
      400,
      'version',
    );
  });

  it('a method a path does not have is a 405 (an unknown path a 404) before any body check', async () => {
    for (const method of ['PUT', 'PATCH', 'DELETE', 'POST']) {
      const r = await send(new Request('http://edgerec.test/v1/model', { method, body: method === 'DELETE' ? undefined : 'x=1' }));
      expectRefusal(r, 405);
      expect(r.res.headers.get('allow')).toBe('GET');
    }
    expectRefusal(await send(new Request('http://edgerec.test/v1/recommend', { method: 'PUT', body: 'k=1' })), 405);
    expectRefusal(await send(new Request('http://edgerec.test/v1/nothing', { method: 'POST', body: 'k=1' })), 404);
    expect((await send(new Request('http://edgerec.test/v1/model', { method: 'HEAD' }))).res.status).toBe(200);
  });

  it('ids are opaque strings (API.md): spaces, tabs, unicode and control characters are ids like any other', async () => {
    for (const id of ['a b', 'a\tb', 'café ✓', 'u\u0000x', 'x'.repeat(512)]) {
      const path = encodeURIComponent(id);
      const similar = await send(`/v1/items/${path}/similar`);
      expect(similar.res.status).toBe(404);
      expect(similar.body.error).toMatchObject({ code: 'item_not_found', details: { itemId: id } });
      expect((await send(`/v1/users/${path}/profile`)).res.status).toBe(200);
      const rec = await send(postJson('/v1/recommend', { userId: id, history: [{ itemId: id }, { itemId: ids[0] }], k: 3 }));
      expect(rec.res.status).toBe(200);
      expect(rec.body.ignored).toBe(1);
    }
    expect((await send(`/v1/items/${ids[0]}/similar?k=`)).body.items).toHaveLength(10);
    const doc = (await send('/openapi.json')).body;
    const param = doc.paths['/v1/users/{userId}/profile'].get.parameters.find((p: any) => p.name === 'userId');
    expect(param.schema).toMatchObject({ minLength: 1, maxLength: 512 });
    expect(param.schema.pattern).toBeUndefined();
  });

  it('a very long URL or query string is a 4xx, not a 5xx', async () => {
    const r = await send(`/v1/items/${ids[0]}/similar?k=5&${'pad=' + 'y'.repeat(8000)}`);
    expect(r.res.status).toBeLessThan(500);
    const huge = await send(`/v1/${'z'.repeat(16_000)}`);
    expect(huge.res.status).toBe(404);
    expect(huge.body.error.code).toBe('not_found');
  });

  it('413 for a declared content-length over 64 KiB on every POST endpoint', async () => {
    for (const path of ['/v1/recommend', '/v1/search', '/v1/events']) {
      expectRefusal(await send(postJson(path, JSON.stringify({ pad: 'x'.repeat(70_000) }))), 413);
    }
  });

  it('a chunked body without content-length is cut off at 64 KiB, not buffered whole', async () => {
    let pulled = 0;
    const chunk = new TextEncoder().encode(' '.repeat(16 * 1024));
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += chunk.byteLength;
        if (pulled > 8 * 1024 * 1024) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const req = new Request('http://edgerec.test/v1/recommend', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(req.headers.get('content-length')).toBeNull();
    const r = await send(req);
    expectRefusal(r, 413);
    expect(r.body.error.code).toBe('payload_too_large');
    expect(pulled).toBeLessThan(1024 * 1024);
  });
});

describe('random and hostile requests never get a 5xx', () => {
  const anyValue = fc.anything({ maxDepth: 3, maxKeys: 6 }).map((v) => JSON.parse(JSON.stringify(v ?? null) ?? 'null'));
  const idLike = fc.oneof(
    fc.constantFrom('sku-00001', 'u1', ''),
    fc.string({ maxLength: 140 }),
    fc.string({ unit: 'binary', maxLength: 20 }),
  );
  const event = fc.record(
    {
      itemId: fc.oneof(idLike, anyValue),
      event: fc.oneof(fc.constantFrom('view', 'cart', 'search', 'like'), anyValue),
      ts: fc.oneof(fc.integer(), fc.double(), anyValue),
      query: fc.oneof(fc.string({ maxLength: 300 }), anyValue),
    },
    { requiredKeys: [] },
  );
  const nearlyValid = fc.record(
    {
      userId: fc.oneof(idLike, anyValue),
      history: fc.oneof(fc.array(event, { maxLength: 5 }), anyValue),
      events: fc.oneof(fc.array(event, { maxLength: 5 }), anyValue),
      k: fc.oneof(fc.integer({ min: -5, max: 200 }), fc.double(), anyValue),
      query: fc.oneof(fc.string({ maxLength: 300 }), anyValue),
      filters: fc.oneof(
        fc.record(
          {
            categories: fc.oneof(fc.array(fc.string({ maxLength: 20 }), { maxLength: 4 }), anyValue),
            excludeItemIds: fc.oneof(fc.array(idLike, { maxLength: 4 }), anyValue),
            priceMin: fc.oneof(fc.double(), anyValue),
            priceMax: fc.oneof(fc.double(), anyValue),
          },
          { requiredKeys: [] },
        ),
        anyValue,
      ),
      excludeSeen: fc.oneof(fc.boolean(), anyValue),
      diversity: fc.oneof(fc.double({ min: -1, max: 2 }), anyValue),
      explain: fc.oneof(fc.boolean(), anyValue),
      idempotencyKey: fc.oneof(fc.string({ maxLength: 140 }), anyValue),
    },
    { requiredKeys: [] },
  );

  function expectNot5xx(r: { res: Response; body: any }) {
    expect(r.res.status).toBeLessThan(500);
    if (r.res.status >= 400) expect(r.body.error).toMatchObject({ code: expect.any(String), message: expect.any(String) });
  }

  it('random JSON bodies on every POST endpoint: a 2xx or a 4xx in the error shape', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/v1/recommend', '/v1/search', '/v1/events'),
        fc.oneof(nearlyValid, anyValue),
        async (path, body) => {
          expectNot5xx(await send(postJson(path, JSON.stringify(body))));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('random path parameters and query strings: a 2xx or a 4xx in the error shape', async () => {
    const segment = fc
      .oneof(
        fc.string({ maxLength: 150 }),
        fc.string({ unit: 'binary', maxLength: 30 }),
        fc.constantFrom(...['sku-00001', '%', '%ZZ', '..', '%2F', '%00']),
      )
      .map((s) => (/^%/.test(s) ? s : encodeURIComponent(s)));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/v1/items/{}/similar?k=', '/v1/users/{}/profile?', '/v1/{}'),
        segment,
        segment,
        async (template, a, b) => {
          const r = await send(`${template.replace('{}', a)}${b}`);
          expectNot5xx(r);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('CORS from the CORS_ORIGINS allow-list', () => {
  const vars = { CORS_ORIGINS: 'https://shop.example, https://www.shop.example/' };

  it('parses the list: commas or spaces, case and trailing slashes ignored, * for any', () => {
    expect([...parseAllowList(' https://A.example/ ,https://b.example  https://c.example').origins]).toEqual([
      'https://a.example',
      'https://b.example',
      'https://c.example',
    ]);
    expect(parseAllowList('*').any).toBe(true);
    expect(parseAllowList(undefined).origins.size).toBe(0);
  });

  it('an allowed origin gets Access-Control-Allow-Origin and the exposed headers', async () => {
    const { res } = await send(new Request('http://edgerec.test/health', { headers: { origin: 'https://www.shop.example' } }), vars);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://www.shop.example');
    expect(res.headers.get('vary')).toMatch(/origin/i);
    expect(res.headers.get('access-control-expose-headers')).toMatch(/x-model-version/);
  });

  it('another origin gets no Access-Control-Allow-Origin, and neither does anyone when the list is empty', async () => {
    const other = await send(new Request('http://edgerec.test/health', { headers: { origin: 'https://evil.example' } }), vars);
    expect(other.res.headers.get('access-control-allow-origin')).toBeNull();
    const none = await send(new Request('http://edgerec.test/health', { headers: { origin: 'https://shop.example' } }), {
      CORS_ORIGINS: '',
    });
    expect(none.res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('a preflight for POST /v1/events is answered 204 with the allowed methods and headers', async () => {
    const { res } = await send(
      new Request('http://edgerec.test/v1/events', {
        method: 'OPTIONS',
        headers: {
          origin: 'https://shop.example',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type, idempotency-key',
        },
      }),
      vars,
    );
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    expect(res.headers.get('access-control-allow-methods')).toMatch(/POST/);
    expect(res.headers.get('access-control-allow-headers')).toMatch(/idempotency-key/);
    expect(res.headers.get('vary')).toMatch(/origin/i);
    expect(res.headers.get('x-request-id')).toBeTruthy();
  });

  it('error answers carry the CORS headers and the request id too (a page can read why it was refused)', async () => {
    const headers = { origin: 'https://shop.example', 'x-request-id': 'req-cors-1' };
    const cases = [
      new Request('http://edgerec.test/v1/recommend', {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: '{"k": 0}',
      }), // 400
      new Request('http://edgerec.test/v1/recommend', { method: 'POST', headers: { ...headers, 'content-type': 'text/plain' }, body: 'x' }), // 415
      new Request('http://edgerec.test/v1/recommend', {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: '{',
      }), // 400 invalid_json
      new Request('http://edgerec.test/v1/recommend', { method: 'DELETE', headers }), // 405
      new Request('http://edgerec.test/v1/nope', { headers }), // 404
    ];
    const statuses = [];
    for (const request of cases) {
      const { res, body } = await send(request, vars);
      statuses.push(res.status);
      expect(body.error.code).toBeTypeOf('string');
      expect(res.headers.get('access-control-allow-origin')).toBe('https://shop.example');
      expect(res.headers.get('access-control-expose-headers')).toMatch(/x-request-id/);
      expect(res.headers.get('x-request-id')).toBe('req-cors-1');
    }
    expect(statuses).toEqual([400, 415, 400, 405, 404]);
  });

  it('admin routes are never opened to other origins', async () => {
    const { res } = await send(new Request('http://edgerec.test/admin/models', { headers: { origin: 'https://shop.example' } }), {
      CORS_ORIGINS: '*',
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('per-client rate limiting', () => {
  it('keys a client by its address, an IPv6 client by its /64', () => {
    expect(clientKey('203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:0db8:0001:0002:ffff:0:0:9')).toBe('2001:db8:1:2::/64');
    expect(clientKey('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(clientKey(undefined)).toBe('unknown');
    expect(retryAfterSeconds(60_000 * 100 + 15_500, 60)).toBe(45);
    expect(retryAfterSeconds(60_000 * 100, 60)).toBe(60);
  });

  it('after its budget a client gets 429 in the error shape with retry-after; other clients do not', async () => {
    const client = newClient();
    const request = (ip: string) => new Request('http://edgerec.test/v1/no-such-route', { headers: { 'cf-connecting-ip': ip } });
    let sent = 0;
    let limited: { res: Response; body: any } | undefined;
    // The window is aligned to the clock: a burst that crosses a minute boundary gets a second budget.
    while (!limited && sent < 1300) {
      const r = await send(request(client));
      sent++;
      if (r.res.status === 429) limited = r;
      else expect(r.res.status).toBe(404);
    }
    expect(limited).toBeDefined();
    expect(sent).toBeGreaterThan(600);
    expectRefusal(limited!, 429);
    expect(limited!.body.error.code).toBe('rate_limited');
    const retryAfter = Number(limited!.res.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited!.body.error.details.retryAfter).toBe(retryAfter);
    expect((await send(request(newClient()))).res.status).toBe(404);
    // Health checks are not limited.
    expect((await send(new Request('http://edgerec.test/health', { headers: { 'cf-connecting-ip': client } }))).res.status).toBe(200);
  });

  it('RATE_LIMIT=off turns it off, and a limiter that fails lets requests through', async () => {
    const client = { 'cf-connecting-ip': newClient() };
    const failing = { limit: async () => Promise.reject(new Error('limiter down (injected fault)')) };
    expect((await send(postJson('/v1/recommend', { k: 2 }, client), { RATE_LIMITER: failing })).res.status).toBe(200);
    const never = { limit: async () => ({ success: false }) };
    expect((await send(postJson('/v1/recommend', { k: 2 }, client), { RATE_LIMITER: never, RATE_LIMIT: 'off' })).res.status).toBe(200);
    expect((await send(postJson('/v1/recommend', { k: 2 }, client), { RATE_LIMITER: never })).res.status).toBe(429);
    // Without a client address (a service binding, not the internet) nothing is limited.
    expect((await send(postJson('/v1/recommend', { k: 2 }), { RATE_LIMITER: never })).res.status).toBe(200);
  });
});

describe('admin authentication', () => {
  it('timingSafeEqual compares whole strings of any length', () => {
    expect(timingSafeEqual('secret-token', 'secret-token')).toBe(true);
    expect(timingSafeEqual('secret-token', 'secret-tokeN')).toBe(false);
    expect(timingSafeEqual('secret-token', 'secret-token-and-more')).toBe(false);
    expect(timingSafeEqual('', 'x')).toBe(false);
    expect(timingSafeEqual('é', 'e\u0301')).toBe(false);
  });

  it('401 in the error shape without a token, with a wrong one, and when no token is configured', async () => {
    const token = (env as any).ADMIN_TOKEN as string;
    const get = (auth?: string) => new Request('http://edgerec.test/admin/models', { headers: auth ? { authorization: auth } : {} });
    for (const auth of [undefined, 'Bearer', `Bearer ${token}x`, `Basic ${token}`, token]) {
      const r = await send(get(auth));
      expectRefusal(r, 401);
      expect(r.res.headers.get('www-authenticate')).toMatch(/Bearer/);
    }
    expect((await send(get(`Bearer ${token}`))).res.status).toBe(200);
    expectRefusal(await send(get(`Bearer ${token}`), { ADMIN_TOKEN: undefined }), 401);
    expectRefusal(await send(get('Bearer '), { ADMIN_TOKEN: '' }), 401);
  });
});

describe('user ids and retention', () => {
  it('the session object is named by an HMAC of the user id, never the id itself', async () => {
    const userId = `alice-${Date.now()}`;
    const stub = await userSession(env as any, userId);
    expect(stub.id.name).toMatch(/^[0-9a-f]{64}$/);
    expect(stub.id.name).not.toContain(userId);
    const other = await userSession({ ...(env as any), USER_ID_SECRET: 'another-secret' }, userId);
    expect(other.id.name).not.toBe(stub.id.name);
  });

  it('nothing the event store keeps contains the raw user id', async () => {
    const userId = `bob-${Date.now()}@example.com`;
    const r = await send(postJson('/v1/events', { userId, events: [{ itemId: ids[0], event: 'view' }], idempotencyKey: 'k1' }));
    expect(r.res.status).toBe(202);
    const stub = await userSession(env as any, userId);
    const stored = await runInDurableObject(stub as any, async (_i: unknown, state: DurableObjectState) =>
      JSON.stringify([...(await state.storage.list()).entries()]),
    );
    expect(stored).toContain(ids[0]);
    expect(stored).not.toContain(userId);
    expect(stored).not.toContain('bob-');
  });

  it("events expire: the retention alarm deletes a user's events, and events older than the retention are not served", async () => {
    const userId = `carol-${Date.now()}`;
    const now = Math.floor(Date.now() / 1000);
    const days = Number((env as any).SESSION_RETENTION_DAYS ?? 30);
    const old = now - (days + 1) * 86_400;
    const posted = await send(
      postJson('/v1/events', {
        userId,
        events: [
          { itemId: ids[1], event: 'view', ts: old },
          { itemId: ids[2], event: 'cart' },
        ],
      }),
    );
    // The client is told: one stored, one dropped (older than the retention), never "2 accepted".
    expect(posted.res.status).toBe(202);
    expect(posted.body).toEqual({ accepted: 1, dropped: 1 });
    const profile = (await send(`/v1/users/${encodeURIComponent(userId)}/profile`)).body;
    expect(profile.recent.map((e: any) => e.itemId)).toEqual([ids[2]]);
    const stub = await userSession(env as any, userId);
    const alarm = await runInDurableObject(stub as any, (_i: unknown, state: DurableObjectState) => state.storage.getAlarm());
    expect(alarm).toBeGreaterThan(Date.now() + (days - 1) * 86_400_000);
    expect(await runDurableObjectAlarm(stub as any)).toBe(true);
    expect((await send(`/v1/users/${encodeURIComponent(userId)}/profile`)).body).toEqual({ interests: [], recent: [] });
  });
});
