import { ApiError } from './errors';

/** What a validation failure carries (zod's error, or anything shaped like it). */
export interface ValidationFailure {
  issues: readonly { path: readonly PropertyKey[]; message: string }[];
}

/** Turns a zod failure into a 400 whose details name each offending field. */
export function validationError(error: ValidationFailure, target: string): ApiError {
  const issues = error.issues.map((i) => ({ field: i.path.map(String).join('.') || target, message: i.message }));
  const first = issues[0];
  return new ApiError(400, 'invalid_request', first ? `${first.field}: ${first.message}` : 'Invalid request.', {
    field: first?.field,
    issues,
  });
}
