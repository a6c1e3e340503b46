/** The Hono app: middleware, route groups, the error shape. */
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { AppEnv } from './env';
import { ApiError, errorResponse, toApiError } from './http/errors';
import { edgeHeaders, jsonBody } from './http/middleware';
import { RecentMap } from './core/recent-map';
import { openApiDocument } from './http/openapi';
import { rateLimit } from './http/rate-limit';
import { requireAdmin } from './http/admin-auth';
import { adminRoutes } from './routes/admin';
import { docs } from './routes/docs';
import { eventRoutes } from './routes/events';
import { health } from './routes/health';
import { itemRoutes } from './routes/items';
import { recommendRoutes } from './routes/recommend';
import { userRoutes } from './routes/users';
import { pageRoutes } from './routes/pages';
import { SessionStoreUnavailable } from './model/session-store';

export const app = new Hono<AppEnv>();

// Request id and CORS first (preflights answered, 429s readable by the page), then the per-client
// rate limit, then the body: a method the path does not have is a 405 (an unknown path a 404) before
// the body is looked at, and a body is read at most 64 KiB far even when it arrives chunked.
app.use('*', edgeHeaders());
app.use('/v1/*', rateLimit());
app.use('/admin/*', rateLimit({ scope: 'admin' }));
app.use('/v1/*', jsonBody({ allowedMethods }));

app.use('/admin/*', requireAdmin());

app.route('/', health);
app.route('/', recommendRoutes);
app.route('/', itemRoutes);
app.route('/', eventRoutes);
app.route('/', userRoutes);
app.route('/', adminRoutes);
app.route('/', docs);
// Last: pages proxy every other GET to the origin (src/routes/pages.ts).
app.route('/', pageRoutes);

/** Written once per isolate, on the first request for it (every route is declared at module load). */
let document: unknown;
app.get('/openapi.json', (c) => {
  document ??= openApiDocument({ title: 'edgerec', version: '1', description: 'Edge recommendations: see API.md.' });
  return c.json(document);
});

/** The routes as patterns, compiled once (every /v1 request with a body asks). */
let routePatterns: { pattern: RegExp; method: string }[] | undefined;
/** Answers for recent paths (the POST routes have no parameters, so a few entries serve nearly every request). */
const allowedCache = new RecentMap<string, string[]>(256);

/** Paths that exist, to tell "wrong method" (405) from "no such route" (404). */
function allowedMethods(path: string): string[] {
  const known = allowedCache.get(path);
  if (known) return known;
  routePatterns ??= app.routes
    .filter((r) => r.method !== 'ALL')
    .map((r) => ({ pattern: new RegExp('^' + r.path.replace(/:[^/]+/g, '[^/]+') + '$'), method: r.method }));
  const methods = new Set<string>();
  for (const r of routePatterns) if (r.pattern.test(path)) methods.add(r.method);
  allowedCache.set(path, [...methods]);
  return [...methods];
}

app.notFound((c) => {
  const allow = allowedMethods(c.req.path);
  if (allow.length) {
    c.header('allow', allow.join(', '));
    return errorResponse(c, new ApiError(405, 'method_not_allowed', `${c.req.method} is not allowed here.`, { allow }));
  }
  return errorResponse(c, new ApiError(404, 'not_found', `No route for ${c.req.method} ${c.req.path}.`));
});

app.onError((err, c) => {
  if (err instanceof SessionStoreUnavailable) {
    console.error('edgerec: session store unavailable', err.reason);
    c.header('retry-after', '1');
    return errorResponse(
      c,
      new ApiError(
        503,
        'session_store_unavailable',
        "The user's event store is unavailable; retry the request (a batch retried with the same idempotency key is stored once).",
      ),
    );
  }
  if (err instanceof HTTPException && !(err instanceof ApiError)) {
    const code = err.status === 400 ? 'invalid_json' : err.status === 413 ? 'payload_too_large' : 'http_error';
    return errorResponse(c, new ApiError(err.status as 400, code, err.message || 'Bad request.'));
  }
  return errorResponse(c, toApiError(err));
});
