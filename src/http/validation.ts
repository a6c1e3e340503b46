import type { Hook } from '@hono/zod-openapi';
import type { ZodError } from 'zod';
import { ApiError } from './errors';

/** Turns a zod failure into a 400 whose details name each offending field. */
export function validationError(error: ZodError, target: string): ApiError {
  const issues = error.issues.map((i) => ({ field: [...i.path].join('.') || target, message: i.message }));
  const first = issues[0];
  return new ApiError(400, 'invalid_request', first ? `${first.field}: ${first.message}` : 'Invalid request.', {
    field: first?.field,
    issues,
  });
}

/** The defaultHook of every OpenAPIHono app: validation failures throw the API's 400. */
export const validationHook: Hook<unknown, any, any, any> = (result, c) => {
  if (!result.success) throw validationError(result.error as ZodError, result.target);
};
