/**
 * CORS from a configured allow-list. `CORS_ORIGINS` (a Worker var) lists the origins whose pages may
 * call the API from a browser, separated by commas or spaces (`https://shop.example,
 * https://www.shop.example`); `*` allows any origin. Unset or empty: no cross-origin access at all
 * (same-origin pages, such as the proxied shop, and server-to-server calls need none).
 */

export interface AllowList {
  any: boolean;
  origins: ReadonlySet<string>;
}

let cached: { raw: string; list: AllowList } | undefined;

/** Parses CORS_ORIGINS (cached per isolate while the var is unchanged). Origins compare lower-case, without a trailing slash. */
export function parseAllowList(raw: string | undefined): AllowList {
  const text = raw ?? '';
  if (cached?.raw === text) return cached.list;
  const entries = text
    .split(/[\s,]+/)
    .map((o) => o.trim().replace(/\/+$/, '').toLowerCase())
    .filter(Boolean);
  const list = { any: entries.includes('*'), origins: new Set(entries.filter((o) => o !== '*')) };
  cached = { raw: text, list };
  return list;
}

/** Response headers a cross-origin page may read. */
export const EXPOSE_HEADERS = 'x-request-id,x-model-version,x-edgerec-variant,retry-after';
const ALLOW_METHODS = 'GET,POST,OPTIONS';
const ALLOW_HEADERS = 'content-type,idempotency-key,x-request-id';
/** Seconds a browser may cache a preflight answer. */
const MAX_AGE = '600';

/** The Access-Control-Allow-Origin for `origin` under CORS_ORIGINS, or null (no header: the browser refuses). */
export function allowOrigin(origin: string | undefined, corsOrigins: string | undefined): string | null {
  if (!origin) return null;
  const list = parseAllowList(corsOrigins);
  if (list.any) return '*';
  return list.origins.has(origin.toLowerCase()) ? origin : null;
}

/**
 * The CORS headers of an ordinary response (what hono/cors sets, written by the caller in one go
 * rather than on a placeholder response: see src/http/middleware.ts).
 */
export function corsHeaders(allow: string | null): [string, string][] {
  const out: [string, string][] = [];
  if (allow) out.push(['access-control-allow-origin', allow]);
  out.push(['access-control-expose-headers', EXPOSE_HEADERS], ['vary', 'Origin']);
  return out;
}

/** The answer to a preflight (OPTIONS): 204, whether or not the origin is allowed (without Allow-Origin the browser stops there). */
export function preflight(allow: string | null, requestId: string, modelVersion: string | undefined): Response {
  const headers = new Headers(corsHeaders(allow));
  headers.append('vary', 'Access-Control-Request-Headers');
  headers.set('access-control-max-age', MAX_AGE);
  headers.set('access-control-allow-methods', ALLOW_METHODS);
  headers.set('access-control-allow-headers', ALLOW_HEADERS);
  headers.set('x-request-id', requestId);
  if (modelVersion) headers.set('x-model-version', modelVersion);
  return new Response(null, { status: 204, headers });
}
