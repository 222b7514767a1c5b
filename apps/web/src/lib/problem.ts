import type { FieldError, Problem } from '@tessera/contracts';
import { isUuid } from '@tessera/contracts/uuid';

/**
 * The API's own words for these codes are a developer's ("registered", "tenant"): what a person
 * reads instead, wherever the error shows (a field's message or the form's).
 */
const PLAIN_MESSAGES: Record<string, string> = {
  email_taken: 'An account with this e-mail address already exists. Sign in with it, or use another address.',
  already_member: 'This e-mail address belongs to someone already in this business.',
};

/** An answer of the API that is not a success: its status and problem details (RFC 9457). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly problem: Partial<Problem> & Record<string, unknown>;

  constructor(status: number, problem: Partial<Problem> & Record<string, unknown>) {
    const code = problem.code ?? (status === 0 ? 'network_error' : 'http_' + String(status));
    super(PLAIN_MESSAGES[code] ?? (problem.detail || problem.title || `Request failed (${status})`));
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.problem = problem;
  }

  get fieldErrors(): FieldError[] {
    return Array.isArray(this.problem.errors) ? this.problem.errors : [];
  }
}

/** The message to show a person for any error thrown by a request. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) {
    switch (error.code) {
      case 'network_error':
        return 'The server could not be reached. Check your connection and try again.';
      case 'rate_limited':
        return 'Too many attempts. Wait a minute and try again.';
      case 'forbidden':
        return 'You do not have permission to do this.';
      case 'idempotency_conflict':
        return (
          'This was already sent once with other details, and may already have been done. Check ' +
          'before trying again (reload the page to start over).'
        );
      default:
        return error.message;
    }
  }
  return error instanceof Error ? error.message : 'Something went wrong.';
}

/**
 * Whether an id taken from the page's address can name a record: the API refuses any other as a bad
 * request, which no "Try again" mends. A detail page shows "Page not found" for such an id without
 * asking the API, as it does for a 404 (see isNotFound).
 */
export function isRecordId(id: string): boolean {
  return isUuid(id);
}

/** Whether a detail page's read found nothing at its address (the API's 404). */
export function isNotFound(error: unknown): boolean {
  return error instanceof ApiError && error.status === 404;
}
