import { app } from './app';
import type { Env } from './env';

export { UserSession } from './model/session-store';

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
} satisfies ExportedHandler<Env>;
