import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** An error that becomes the API's error shape: `{"error": {"code", "message", "details"}}`. */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** The one helper that writes an error response. */
export function errorResponse(c: Context, err: ApiError): Response {
  // `details` is always there (null when there is nothing to add), so clients can read it unguarded.
  return c.json({ error: { code: err.code, message: err.message, details: err.details ?? null } }, err.status);
}

/** Maps any thrown value to the error shape; unexpected ones become a 500 without a stack trace. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const status = (err as { status?: number })?.status;
  if (status === 413) return new ApiError(413, 'payload_too_large', 'The request body is too large.');
  console.error('edgerec: unhandled error', err);
  return new ApiError(500, 'internal_error', 'Something went wrong on our side; the request can be retried.');
}
