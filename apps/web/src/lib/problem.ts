import type { FieldError, Problem } from '@tessera/contracts';

/** An answer of the API that is not a success: its status and problem details (RFC 9457). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly problem: Partial<Problem> & Record<string, unknown>;

  constructor(status: number, problem: Partial<Problem> & Record<string, unknown>) {
    super(problem.detail || problem.title || `Request failed (${status})`);
    this.name = 'ApiError';
    this.status = status;
    this.code = problem.code ?? (status === 0 ? 'network_error' : 'http_' + String(status));
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
