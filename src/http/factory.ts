import { Hono } from 'hono';
import type { AppEnv } from '../env';

/** A route group of the Worker's app; its API routes are mounted with `route` (src/http/openapi.ts). */
export function routeGroup() {
  return new Hono<AppEnv>();
}

/** `ctx.waitUntil` when there is an execution context (workerd), otherwise undefined (app.request in tests). */
export function waitUntilOf(c: { executionCtx: { waitUntil(p: Promise<unknown>): void } }): ((p: Promise<unknown>) => void) | undefined {
  try {
    const ctx = c.executionCtx;
    return (p) => ctx.waitUntil(p);
  } catch {
    return undefined;
  }
}
