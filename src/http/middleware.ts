/**
 * The request's way in: one middleware for what every response carries (request id, CORS, model
 * version) and one for request bodies (method, size, JSON). They write headers once, onto the one
 * response a route builds, because in workerd every `new Response` costs (~15 us with a few
 * headers): hono/cors and a write-after-`next()` on `c.res` made four responses per request (a
 * placeholder before the route, the route's own, a copy to merge the placeholder's headers, another
 * to append `Vary`). Replacing them (and hono/body-limit) took a recommendation from ~530 to ~415 us
 * of CPU inside the isolate (scripts/bench/isolate-loop.mjs).
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env';
import { servingVersion } from '../model/store';
import { allowOrigin, corsHeaders, preflight } from './cors';
import { ApiError } from './errors';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Paths whose responses carry CORS headers (a page may call them from a browser). */
export const corsPath = (path: string): boolean =>
  path.startsWith('/v1/') || path === '/v1' || path === '/health' || path === '/openapi.json';

/**
 * Every response carries `x-request-id` (the caller's, when well-formed) and, once a model is
 * loaded, `x-model-version`; API paths answer CORS preflights and carry the CORS headers of
 * CORS_ORIGINS (src/http/cors.ts).
 */
export function edgeHeaders(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const incoming = c.req.header('x-request-id');
    const id = incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
    c.set('requestId', id);
    let cors: [string, string][] | undefined;
    if (corsPath(c.req.path)) {
      const allow = allowOrigin(c.req.header('origin'), c.env?.CORS_ORIGINS);
      // Preflights are answered before rate limiting and body checks.
      if (c.req.method === 'OPTIONS') return preflight(allow, id, servingVersion());
      cors = corsHeaders(allow);
    }
    // Prepared headers: every response the context builds (c.json, c.body, errors) starts with them.
    c.header('x-request-id', id);
    if (cors) for (const [k, v] of cors) c.header(k, v);
    await next();
    let res = c.res;
    // A route that returned a Response of its own (the proxied pages) did not get the prepared ones.
    if (!res.headers.has('x-request-id')) {
      const add = (h: Headers) => {
        h.set('x-request-id', id);
        if (cors) for (const [k, v] of cors) h.append(k, v);
      };
      try {
        add(res.headers);
      } catch {
        // Immutable headers (a fetch() response passed through): copy it once.
        res = new Response(res.body, res);
        add(res.headers);
        c.res = res;
      }
    }
    const version = servingVersion();
    if (version && !res.headers.has('x-model-version')) res.headers.set('x-model-version', version);
  };
}

/** The most a request body may be (bytes), declared or not. */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * `application/json` or `application/<anything>+json`, any case, any parameters: exactly the types
 * whose body Hono's validator reads (any other type would reach a route's validator as `{}`, so a
 * look-alike such as `application/json-seq` must be refused here, not answered with its body ignored).
 */
export function isJsonMediaType(contentType: string): boolean {
  return /^application\/([\w.-]+\+)?json$/.test(contentType.split(';')[0]!.trim().toLowerCase());
}

/**
 * Requests with a body (POST, PUT, PATCH) must use a method the path has (405 before anything about
 * the body), declare JSON (415) and stay under `maxBytes` (413), read at most that far even when the
 * body arrives chunked without a content-length. The JSON is parsed once, here.
 */
export function jsonBody({
  maxBytes = MAX_BODY_BYTES,
  allowedMethods,
}: {
  maxBytes?: number;
  allowedMethods: (path: string) => readonly string[];
}): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const method = c.req.method;
    if (method !== 'POST' && method !== 'PUT' && method !== 'PATCH') return next();
    if (!allowedMethods(c.req.path).includes(method)) return c.notFound();
    const type = c.req.header('content-type') ?? '';
    if (!isJsonMediaType(type)) {
      throw new ApiError(415, 'unsupported_media_type', 'The body must be JSON (content-type: application/json).', {
        contentType: type || null,
      });
    }
    // workerd hands the body over as sent: a compressed one would only fail as "not JSON".
    const encoding = c.req.header('content-encoding')?.trim().toLowerCase();
    if (encoding && encoding !== 'identity') {
      throw new ApiError(415, 'unsupported_media_type', 'The body must be sent uncompressed (no content-encoding).', {
        contentEncoding: encoding,
      });
    }
    let text: string;
    try {
      text = await bodyText(c, maxBytes);
    } catch (err) {
      if (err instanceof ApiError) throw err;
      throw new ApiError(400, 'body_unreadable', 'The request body could not be read to its end (the connection ended first).');
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new ApiError(400, 'invalid_json', 'The body is not valid JSON.');
    }
    // The route's validator calls c.req.json(), which in Hono parses the cached text again: answer
    // it from this parse instead.
    const json = Promise.resolve(parsed);
    Object.defineProperty(c.req, 'json', { value: () => json });
    return next();
  };
}

const tooLarge = (maxBytes: number) => new ApiError(413, 'payload_too_large', `The body must be at most ${maxBytes} bytes.`, { maxBytes });

/** The body as text, refused (413) past `maxBytes`: by its content-length when declared, else while it streams in. */
async function bodyText(c: Context<AppEnv>, maxBytes: number): Promise<string> {
  const declared = c.req.header('content-length');
  if (declared !== undefined && !c.req.header('transfer-encoding')) {
    if (Number(declared) > maxBytes) throw tooLarge(maxBytes);
    const text = await c.req.text();
    // UTF-8 takes at most 3 bytes per UTF-16 unit: only a text that long can be over the limit.
    if (text.length * 3 > maxBytes && new TextEncoder().encode(text).byteLength > maxBytes) throw tooLarge(maxBytes);
    return text;
  }
  const body = c.req.raw.body;
  if (!body) return '';
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}
