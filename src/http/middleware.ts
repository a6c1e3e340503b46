import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env';
import { servingVersion } from '../model/store';
import { ApiError } from './errors';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Every response carries `x-request-id` (the caller's, when well-formed) and, once loaded, `x-model-version`. */
export function requestHeaders(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const incoming = c.req.header('x-request-id');
    const id = incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
    c.set('requestId', id);
    await next();
    c.res.headers.set('x-request-id', id);
    const version = servingVersion();
    if (version && !c.res.headers.has('x-model-version')) c.res.headers.set('x-model-version', version);
  };
}

/** Requests with a body must declare JSON and stay under `maxBytes`. */
export function jsonBody({ maxBytes = 64 * 1024 }: { maxBytes?: number } = {}): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.req.method !== 'POST' && c.req.method !== 'PUT' && c.req.method !== 'PATCH') return next();
    const type = c.req.header('content-type') ?? '';
    if (!/^application\/([\w.+-]*\+)?json\b/i.test(type)) {
      throw new ApiError(415, 'unsupported_media_type', 'The body must be JSON (content-type: application/json).', { contentType: type || null });
    }
    const declared = Number(c.req.header('content-length') ?? NaN);
    if (declared > maxBytes) throw new ApiError(413, 'payload_too_large', `The body must be at most ${maxBytes} bytes.`, { maxBytes });
    const text = await c.req.text();
    // UTF-8 takes at most 3 bytes per UTF-16 unit: only a text that long can be over the limit.
    if (text.length * 3 > maxBytes && new TextEncoder().encode(text).byteLength > maxBytes) {
      throw new ApiError(413, 'payload_too_large', `The body must be at most ${maxBytes} bytes.`, { maxBytes });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new ApiError(400, 'invalid_json', 'The body is not valid JSON.');
    }
    // Parsed once: the route's validator reads c.req.json(), which Hono answers from this cache
    // (with only the text cached it would wrap it in a new Response and parse it again).
    c.req.bodyCache.json = Promise.resolve(parsed);
    return next();
  };
}
