/**
 * Per-client rate limiting with the Workers rate-limiting binding (`[[ratelimits]]` in wrangler.toml;
 * Miniflare simulates it locally, so `wrangler dev` and the workerd tests limit too).
 *
 * The client is the connecting address (`CF-Connecting-IP`, which Cloudflare sets and a client cannot
 * forge at the edge); an IPv6 client is keyed by its /64, since one host usually holds the whole
 * prefix. Over the limit: 429 in the error shape with `retry-after`. The binding counts per
 * Cloudflare location and is eventually consistent: it is abuse protection, not exact accounting.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env';
import { ApiError } from './errors';

/** The rate-limit key of a client address: the address itself, or the /64 prefix of an IPv6 one. */
export function clientKey(address: string | undefined): string {
  const ip = (address ?? '').trim().toLowerCase();
  if (!ip) return 'unknown';
  if (!ip.includes(':')) return ip;
  // An IPv4-mapped IPv6 address (::ffff:192.0.2.1) is its IPv4 client.
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(ip);
  if (mapped) return mapped[1]!;
  // Expand "::" so the first four groups are the /64 prefix.
  const [head = '', tail] = ip.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** Seconds until the limiter's fixed window (aligned to the clock, as the binding's is) rolls over. */
export function retryAfterSeconds(nowMs: number, periodSeconds: number): number {
  return Math.max(1, Math.ceil(periodSeconds - ((nowMs / 1000) % periodSeconds)));
}

export interface RateLimitOptions {
  /** Key prefix: route groups with different scopes get separate budgets from one binding. */
  scope?: string;
  /** The binding's `simple.period` in wrangler.toml (10 or 60), for retry-after. */
  periodSeconds?: number;
}

/**
 * Counts each request against its client's budget. No binding, no CF-Connecting-IP (Cloudflare sets it
 * on every request from the internet), or `RATE_LIMIT = "off"` (the local load and schemathesis runs,
 * which send everything from one address): no limiting. A limiter that
 * errors lets the request through: an edge in front of a shop must not fail because its limiter did.
 */
export function rateLimit({ scope = 'api', periodSeconds = 60 }: RateLimitOptions = {}): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const limiter = c.env?.RATE_LIMITER;
    const address = c.req.header('cf-connecting-ip');
    // No client address: not a request from the internet (a service binding, a test harness).
    if (!limiter || !address || c.env.RATE_LIMIT === 'off' || c.req.method === 'OPTIONS') return next();
    let allowed = true;
    try {
      allowed = (await limiter.limit({ key: `${scope}:${clientKey(address)}` })).success;
    } catch (err) {
      console.error('edgerec: rate limiter failed; letting the request through', err);
    }
    if (!allowed) {
      const retryAfter = retryAfterSeconds(Date.now(), periodSeconds);
      c.header('retry-after', String(retryAfter));
      throw new ApiError(429, 'rate_limited', `Too many requests from this client; retry in ${retryAfter} s.`, { retryAfter });
    }
    return next();
  };
}
