import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../env';
import { validationHook } from './validation';

/** A route group: an OpenAPIHono app whose validation failures become the API's 400 shape. */
export function routeGroup() {
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
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
