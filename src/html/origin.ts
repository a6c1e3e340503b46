/**
 * The origin behind the Worker and its shared cache. Origin pages are cached with the Cache API as
 * the origin sent them (never personalised: slots are filled after the cache), under the origin's own
 * cache rules: only what a shared cache may keep is stored.
 */
import { ApiError } from '../http/errors';
import { IDENTITY_COOKIE, withoutCookie } from './identity';

/** Fetches one request from an origin: `fetch` for a real one, the demo shop's app for the embedded one. */
export interface Origin {
  /** Names the origin in cache keys, so two origins never share an entry. */
  id: string;
  /** Where paths resolve; the embedded shop is addressed like any origin. */
  base: URL;
  fetch: (request: Request) => Promise<Response>;
}

export type CacheStatus = 'HIT' | 'MISS' | 'BYPASS';

/** Request headers an origin gets from the client; everything else (and our cookie) stays at the edge. */
const FORWARDED = ['accept', 'accept-language', 'user-agent', 'cookie'];

/** The request the Worker sends to the origin for an incoming page request. */
export function originRequest(incoming: Request, origin: Origin): Request {
  const url = new URL(incoming.url);
  const target = new URL(url.pathname + url.search, origin.base);
  const headers = new Headers();
  for (const name of FORWARDED) {
    const value = incoming.headers.get(name);
    if (value) headers.set(name, value);
  }
  const cookie = withoutCookie(headers.get('cookie'), IDENTITY_COOKIE);
  if (cookie) headers.set('cookie', cookie);
  else headers.delete('cookie');
  headers.set('x-forwarded-host', url.host);
  return new Request(target, { method: 'GET', headers, redirect: 'manual' });
}

/** The Cache API key of an origin response: a namespace of its own, per origin and URL. */
export function originCacheKey(incomingUrl: string, originId: string): Request {
  const url = new URL(incomingUrl);
  return new Request(`${url.origin}/__edgerec/origin/${encodeURIComponent(originId)}${url.pathname}${url.search}`);
}

/**
 * Whether a shared cache may keep this response: a 200 whose Cache-Control gives a positive
 * s-maxage or max-age and says none of no-store, private, no-cache; no Set-Cookie; no `Vary: *`.
 * Without Cache-Control nothing is stored (the origin did not say it may be).
 */
export function sharedCacheable(response: Response): boolean {
  if (response.status !== 200 || response.headers.has('set-cookie')) return false;
  if ((response.headers.get('vary') ?? '').split(',').some((v) => v.trim() === '*')) return false;
  const cc = (response.headers.get('cache-control') ?? '').toLowerCase();
  if (/(^|[,\s])(no-store|private|no-cache)\b/.test(cc)) return false;
  const age = /(?:^|[,\s])s-maxage\s*=\s*(\d+)/.exec(cc) ?? /(?:^|[,\s])max-age\s*=\s*(\d+)/.exec(cc);
  return Boolean(age && Number(age[1]) > 0);
}

/**
 * An origin page from the shared cache, or from the origin (stored when it may be). The response
 * is the origin's own: the caller personalises a copy.
 */
export async function fetchThroughCache(
  incoming: Request,
  origin: Origin,
  { cache, waitUntil }: { cache: Cache; waitUntil?: (p: Promise<unknown>) => void },
): Promise<{ response: Response; cacheStatus: CacheStatus }> {
  const key = originCacheKey(incoming.url, origin.id);
  // A cache that cannot be read (a runtime without one configured, a cache fault) costs the hit, not
  // the page: the origin answers instead.
  const cached = await cache.match(key).catch((err: unknown) => void console.error('edgerec: origin cache match failed', err));
  if (cached) return { response: cached, cacheStatus: 'HIT' };
  let response: Response;
  try {
    response = await origin.fetch(originRequest(incoming, origin));
  } catch (err) {
    console.error('edgerec: the origin could not be reached', err);
    throw new ApiError(502, 'origin_unavailable', 'The origin server could not be reached; the page can be retried.');
  }
  if (!sharedCacheable(response)) return { response, cacheStatus: 'BYPASS' };
  const stored = cache.put(key, response.clone()).catch((err: unknown) => console.error('edgerec: origin cache put failed', err));
  if (waitUntil) waitUntil(stored);
  else await stored;
  return { response, cacheStatus: 'MISS' };
}
