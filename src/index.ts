/**
 * The edgerec Worker: the Hono app (src/app.ts), the cron that promotes scheduled retrains, and the
 * per-user session Durable Object. Its towers run in our WASM kernels; onnxruntime-web lives in the
 * ONNX runtime Worker (src/onnx/worker.ts) behind the `ONNX` service binding.
 */
import { app } from './app';
import type { Env } from './env';
import { promoteCandidate } from './model/lifecycle';

export { UserSession } from './model/session-store';

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
  /** Cron Trigger: look for a newer published candidate, warm and validate it, promote it through the gate. */
  scheduled: async (_controller, env, ctx) => {
    ctx.waitUntil(promoteCandidate(env, 'scheduled'));
  },
} satisfies ExportedHandler<Env>;
