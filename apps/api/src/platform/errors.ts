import type { FieldError } from '@tessera/contracts';

/**
 * The error catalogue: every stable `code` the API answers with, and its default status.
 * Clients branch on `code`, so a code, once published, keeps its meaning.
 */
export const ERROR_CATALOGUE = {
  validation_failed: { status: 400, title: 'The request is not valid' },
  invalid_token: { status: 400, title: 'The token is invalid or has expired' },
  weak_password: { status: 400, title: 'The password is too weak' },
  invalid_signature: { status: 400, title: 'The webhook signature is not valid' },
  currency_mismatch: { status: 400, title: "The currency does not match the order's" },
  unauthenticated: { status: 401, title: 'Authentication is required' },
  invalid_credentials: { status: 401, title: 'The email or password is not correct' },
  refresh_token_reused: { status: 401, title: 'The refresh token was already used' },
  forbidden: { status: 403, title: 'You do not have permission to do this' },
  not_found: { status: 404, title: 'Not found' },
  email_taken: { status: 409, title: 'The email is already registered' },
  sku_taken: { status: 409, title: 'The SKU is already used in this tenant' },
  insufficient_stock: { status: 409, title: 'Not enough stock' },
  product_inactive: { status: 409, title: 'The product is archived and cannot be ordered' },
  invalid_state_transition: { status: 409, title: 'This action is not allowed in the current state' },
  idempotency_in_progress: { status: 409, title: 'A request with this Idempotency-Key is still running' },
  refund_exceeds_captured: { status: 409, title: 'The refunds would exceed the captured amount' },
  amount_exceeds_authorized: { status: 409, title: 'The amount exceeds what was authorized' },
  amount_exceeds_balance: { status: 409, title: 'The amount exceeds what is left to pay of the order' },
  payment_declined: { status: 402, title: 'The payment gateway declined the request' },
  already_member: { status: 409, title: 'The user is already a member of this tenant' },
  last_admin: { status: 409, title: 'The tenant must keep at least one admin' },
  conflict: { status: 409, title: 'The request conflicts with the current state' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  unsupported_media_type: { status: 415, title: 'The content type is not supported' },
  idempotency_conflict: { status: 422, title: 'The Idempotency-Key was used with another request' },
  rate_limited: { status: 429, title: 'Too many requests' },
  internal_error: { status: 500, title: 'Internal error' },
  gateway_error: { status: 502, title: 'The payment gateway failed' },
  gateway_not_configured: { status: 409, title: 'The payment gateway is not configured' },
  mail_error: { status: 502, title: 'The mail server did not take the mail' },
  service_unavailable: { status: 503, title: 'The service is not available' },
  shutting_down: { status: 503, title: 'The server is shutting down' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export interface AppErrorOptions {
  status?: number;
  errors?: FieldError[];
  headers?: Record<string, string>;
  /** Extra members of the problem document (RFC 9457 extensions), e.g. `retry_after`. */
  extensions?: Record<string, unknown>;
  cause?: unknown;
}

/** An error the client may see: its code, status and detail go out as problem+json as they are. */
export class AppError extends Error {
  readonly status: number;
  readonly errors?: FieldError[];
  readonly headers?: Record<string, string>;
  readonly extensions?: Record<string, unknown>;

  constructor(
    readonly code: ErrorCode,
    detail?: string,
    options: AppErrorOptions = {},
  ) {
    super(detail ?? ERROR_CATALOGUE[code].title, { cause: options.cause });
    this.name = 'AppError';
    this.status = options.status ?? ERROR_CATALOGUE[code].status;
    if (options.errors) this.errors = options.errors;
    if (options.headers) this.headers = options.headers;
    if (options.extensions) this.extensions = options.extensions;
  }

  get title(): string {
    return ERROR_CATALOGUE[this.code].title;
  }
}

export const notFound = (what = 'resource'): AppError =>
  new AppError('not_found', `The ${what} does not exist`);

export function problemType(code: string): string {
  return `https://tessera.dev/problems/${code}`;
}
