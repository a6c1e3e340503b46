/**
 * CORS from a configured allow-list. `CORS_ORIGINS` (a Worker var) lists the origins whose pages may
 * call the API from a browser, separated by commas or spaces (`https://shop.example,
 * https://www.shop.example`); `*` allows any origin. Unset or empty: no cross-origin access at all
 * (same-origin pages, such as the proxied shop, and server-to-server calls need none).
 */
import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import type { AppEnv } from '../env';

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

export interface CorsAllowListOptions {
  /** Seconds a browser may cache a preflight answer. */
  maxAge?: number;
}

/**
 * hono/cors with the origin checked against CORS_ORIGINS on every request. Preflights (OPTIONS) are
 * answered here, before rate limiting and body checks; an origin not on the list gets no
 * Access-Control-Allow-Origin, so the browser refuses the response.
 */
export function corsAllowList({ maxAge = 600 }: CorsAllowListOptions = {}): MiddlewareHandler<AppEnv> {
  return cors({
    origin: (origin, c) => {
      if (!origin) return null;
      const list = parseAllowList((c.env as AppEnv['Bindings'] | undefined)?.CORS_ORIGINS);
      if (list.any) return '*';
      return list.origins.has(origin.toLowerCase()) ? origin : null;
    },
    allowMethods: ['GET', 'POST', 'OPTIONS'],
    allowHeaders: ['content-type', 'idempotency-key', 'x-request-id'],
    exposeHeaders: ['x-request-id', 'x-model-version', 'x-edgerec-variant', 'retry-after'],
    maxAge,
  });
}
