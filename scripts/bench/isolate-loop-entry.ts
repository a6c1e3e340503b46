/**
 * A Worker entry for scripts/bench/isolate-loop.mjs (never deployed): the real Worker, plus
 * `POST /__loop?mode=M&n=N` with a JSON array of request bodies, which runs N requests of kind M
 * inside this one request and answers the bytes they returned. workerd's clock stands still while
 * JavaScript runs, so the caller times N = 0 and N = large from outside and divides.
 *
 * Modes: `app` (POST /v1/recommend through the whole Hono app), `core` (recommend() alone, on the
 * same model), `encode` and `scan` (its user tower and its retrieval alone: core-loop.ts), `health`
 * (GET /health through the app), and two baselines that return the same recommendation as a canned
 * object: `hono` (a bare Hono route: c.req.json(), c.json()) and `zod`
 * (a Hono route validating the body as the app does, with its recommend schema).
 */
import { Hono } from 'hono';
import { validate } from '../../src/http/openapi';
import { recommendRequestSchema } from '../../src/http/schemas';
import { getModelState } from '../../src/model/store';
import worker from '../../src/index';
import type { Env } from '../../src/env';
import { CORE_MODES, coreLoops, type CoreMode } from './core-loop';

export { UserSession } from '../../src/index';

let canned: Record<string, unknown> = {};
/** The core loops of the serving model, prepared on the first core-mode request (the bench sends the same bodies every time). */
let prepared: { model: object; loops: Awaited<ReturnType<typeof coreLoops>> } | undefined;
const bareHono = new Hono();
bareHono.post('/v1/recommend', async (c) => {
  await c.req.json();
  return c.json(canned);
});
const zodHono = new Hono();
zodHono.post('/v1/recommend', validate('json', recommendRequestSchema), (c) => {
  c.req.valid('json');
  return c.json(canned, 200);
});

const post = (body: string) =>
  new Request('http://edgerec.loop/v1/recommend', {
    method: 'POST',
    // As a client sends it: with its length, so no request in the loop takes the chunked path.
    headers: { 'content-type': 'application/json', 'content-length': String(new TextEncoder().encode(body).byteLength) },
    body,
  });

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname !== '/__loop') return worker.fetch!(request as Parameters<NonNullable<typeof worker.fetch>>[0], env, ctx);
    const n = Number(url.searchParams.get('n') ?? 0);
    const mode = url.searchParams.get('mode') ?? 'app';
    const bodies: string[] = await request.json();
    let bytes = 0;
    if ((CORE_MODES as readonly string[]).includes(mode)) {
      const { model } = await getModelState(env, (p) => ctx.waitUntil(p));
      if (!model) return new Response('no model', { status: 503 });
      if (prepared?.model !== model) prepared = { model, loops: await coreLoops(model, bodies) };
      bytes = await prepared.loops[mode as CoreMode](n);
    } else if (mode === 'app' || mode === 'health') {
      for (let i = 0; i < n; i++) {
        const req = mode === 'health' ? new Request('http://edgerec.loop/health') : post(bodies[i % bodies.length]!);
        const res = await worker.fetch!(req as Parameters<NonNullable<typeof worker.fetch>>[0], env, ctx);
        bytes += (await res.arrayBuffer()).byteLength;
      }
    } else if (mode === 'hono' || mode === 'zod') {
      canned = await (await worker.fetch!(post(bodies[0]!) as Parameters<NonNullable<typeof worker.fetch>>[0], env, ctx)).json();
      const app = mode === 'hono' ? bareHono : zodHono;
      for (let i = 0; i < n; i++) {
        const res = await app.fetch(post(bodies[i % bodies.length]!), env, ctx);
        bytes += (await res.arrayBuffer()).byteLength;
      }
    } else return new Response(`unknown mode ${mode}`, { status: 400 });
    return new Response(String(bytes));
  },
} satisfies ExportedHandler<Env>;
