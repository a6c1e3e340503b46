/**
 * Pages through the edge (API.md, "HTML personalisation slots"): every GET outside the API is
 * fetched from the origin (ORIGIN_URL, or the embedded demo shop when it is unset or "self") through
 * the shared Cache API, then its slots are filled for this visitor on the way out. The visitor is a
 * first-party cookie; the page's beacon reports behaviour to /v1/events/beacon under that cookie.
 */
import * as z from '../core/zod';
import { nonNegativeSetting } from '../core/setting';
import type { Env } from '../env';
import { routeGroup, waitUntilOf } from '../http/factory';
import { named, route } from '../http/openapi';
import { bodyErrorResponses } from '../http/schemas';
import { eventBatchSchema } from './events';
import { withSession, type StoredEvent } from '../model/session-store';
import { BEACON_EVENTS_PATH, BEACON_SCRIPT, BEACON_SCRIPT_PATH } from '../html/beacon';
import { recommenderFiller } from '../html/fill';
import { IDENTITY_COOKIE, identify, identityCookie } from '../html/identity';
import { fetchThroughCache, type Origin } from '../html/origin';
import { personaliseHtml } from '../html/slots';
import { shop } from '../shop/app';

export const pageRoutes = routeGroup();

/**
 * The Worker's own paths, never proxied to the origin: API versions (any /vN, any case), admin, the
 * beacon, and health/openapi/docs with or without a trailing slash. An unknown one of these is the
 * API's JSON 404, not the shop's HTML page.
 */
const EDGE_PATHS = /^\/(v\d+|admin|_edgerec)(\/|$)|^\/(health|openapi\.json|docs)\/?$/i;
const DEFAULT_BUDGET_MS = 300;
type ShopExecutionContext = Parameters<typeof shop.fetch>[2];

/** The origin named by ORIGIN_URL (its scheme, host and port: request paths are kept as they are); unset or "self" is the demo shop in this Worker. */
export function originFor(env: Env, executionCtx?: ShopExecutionContext): Origin {
  const configured = env.ORIGIN_URL?.trim();
  if (!configured || configured === 'self') {
    return { id: 'self', base: new URL('https://shop.edgerec.internal/'), fetch: async (req) => shop.fetch(req, env, executionCtx) };
  }
  const base = new URL(configured);
  return { id: base.host, base, fetch: (req) => fetch(req) };
}

function budgetMs(env: Env): number {
  return nonNegativeSetting(env.PERSONALISE_BUDGET_MS, DEFAULT_BUDGET_MS);
}

function executionCtxOf(c: { executionCtx: ShopExecutionContext }): ShopExecutionContext | undefined {
  try {
    return c.executionCtx;
  } catch {
    return undefined;
  }
}

pageRoutes.get(BEACON_SCRIPT_PATH, (c) =>
  c.body(BEACON_SCRIPT, 200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'public, max-age=300' }),
);

/** Forgets this browser: a new identity (and so an empty session) from the next page on. */
pageRoutes.get('/_edgerec/forget', (c) => {
  const secure = new URL(c.req.url).protocol === 'https:' ? '; Secure' : '';
  c.header('set-cookie', `${IDENTITY_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax${secure}`);
  c.header('cache-control', 'no-store');
  return c.redirect('/', 303);
});

route(
  pageRoutes,
  {
    method: 'post',
    path: BEACON_EVENTS_PATH,
    summary: "Stores the events of the browser's own session (the edgerec_uid cookie names the user; pages' beacon uses it)",
    body: named('BeaconRequest', z.object({ events: eventBatchSchema })),
    responses: { 202: { description: 'Stored', schema: z.object({ accepted: z.int() }) }, ...bodyErrorResponses },
  },
  async (c) => {
    const { events } = c.req.valid('json');
    const identity = identify(c.req.raw);
    const now = Math.floor(Date.now() / 1000);
    // As /v1/events: timestamps from clients are trusted up to the present; missing ones are "now".
    const stored: StoredEvent[] = events.map((e) => ({ ...e, ts: Math.min(e.ts ?? now, now) }));
    const result = await withSession(c.env, identity.userId, (session) => session.append(stored));
    // A beacon without a cookie (first request of a visit) starts the session it reports to.
    if (identity.isNew) c.header('set-cookie', identityCookie(identity, c.req.url));
    c.header('cache-control', 'no-store');
    return c.json({ accepted: result.accepted }, 202);
  },
);

pageRoutes.get('*', async (c, next) => {
  if (EDGE_PATHS.test(c.req.path)) return next();
  const ctx = executionCtxOf(c);
  const waitUntil = waitUntilOf(c);
  const origin = originFor(c.env, ctx);
  const { response, cacheStatus } = await fetchThroughCache(c.req.raw, origin, { cache: caches.default, waitUntil });

  const isHtml = /^text\/html\b/i.test(response.headers.get('content-type') ?? '');
  if (!isHtml) {
    const passed = new Response(response.body, response);
    passed.headers.set('x-edgerec-origin-cache', cacheStatus);
    return passed;
  }
  const identity = identify(c.req.raw);
  const page = personaliseHtml(new Response(response.body, response), {
    fill: recommenderFiller(c.env, identity.userId, waitUntil),
    budgetMs: budgetMs(c.env),
    scriptSrc: BEACON_SCRIPT_PATH,
    waitUntil,
  });
  const out = new Response(page.body, page);
  // The copy with slots filled is this visitor's alone; the shared copy stays in the cache.
  out.headers.set('cache-control', 'private, no-cache');
  out.headers.append('vary', 'Cookie');
  for (const name of ['etag', 'last-modified', 'expires', 'age', 'content-length']) out.headers.delete(name);
  out.headers.set('x-edgerec-origin-cache', cacheStatus);
  if (identity.isNew) out.headers.append('set-cookie', identityCookie(identity, c.req.url));
  return out;
});
