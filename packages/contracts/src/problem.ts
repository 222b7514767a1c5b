/** RFC 9457 problem details, as every error answer of the API is shaped. */
export interface FieldError {
  /** Dotted path of the offending field within its part of the request, e.g. `lines.0.quantity`. */
  path: string;
  message: string;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  request_id?: string;
  errors?: FieldError[];
}
