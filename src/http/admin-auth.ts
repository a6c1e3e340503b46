import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env';
import { ApiError } from './errors';

/** Constant-time comparison of two strings (length is not secret: tokens have a fixed length). */
export function timingSafeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** Admin routes need `Authorization: Bearer <ADMIN_TOKEN>`; without a configured token, admin is closed. */
export function requireAdmin(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const token = c.env.ADMIN_TOKEN;
    const given = /^Bearer (.+)$/i.exec(c.req.header('authorization') ?? '')?.[1] ?? '';
    if (!token || !given || !timingSafeEqual(given, token)) {
      c.header('www-authenticate', 'Bearer realm="edgerec-admin"');
      throw new ApiError(401, 'unauthorized', 'A valid admin bearer token is required.');
    }
    await next();
  };
}
