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
