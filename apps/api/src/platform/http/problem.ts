import type { FieldError, Problem } from '@tessera/contracts';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, ERROR_CATALOGUE, problemType, type ErrorCode } from '../errors';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

function fieldPath(error: AjvError): string {
  const parts = error.instancePath.split('/').filter(Boolean);
  const missing = error.params.missingProperty ?? error.params.additionalProperty;
  if (typeof missing === 'string') parts.push(missing);
  return parts.join('.');
}

function fieldMessage(error: AjvError): string {
  switch (error.keyword) {
    case 'required':
      return 'is required';
    case 'additionalProperties':
      return 'is not a known field';
    default:
      return error.message ?? 'is not valid';
  }
}

export function validationErrors(errors: AjvError[]): FieldError[] {
  return errors.map((error) => ({ path: fieldPath(error), message: fieldMessage(error) }));
}

/** Fastify's own errors that are the client's fault, mapped to catalogue codes. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'validation_failed',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'validation_failed',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'validation_failed',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_TYPE: 'unsupported_media_type',
  FST_ERR_VALIDATION: 'validation_failed',
};

/**
 * PostgreSQL's refusals of the client's text (a NUL: invalid byte sequence 0x00; a character the
 * database's encoding lacks), by SQLSTATE, as pg and PGlite both give it in `code`: the request
 * guards refuse such text first, this is their backstop.
 */
const SQLSTATE_CODES: Record<string, ErrorCode> = {
  '22021': 'validation_failed',
  '22P05': 'validation_failed',
};

/**
 * A backing service out of reach (a refused or dropped connection, PostgreSQL's connection
 * exceptions and shutdown codes, the pool's wait for a connection running out): 503, which says
 * to retry, as readiness does, where it was a 500.
 */
function unreachable(error: { code?: unknown; message?: unknown }): boolean {
  const code = typeof error.code === 'string' ? error.code : '';
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'EPIPE'].includes(code)) return true;
  if (code.startsWith('08') || ['57P01', '57P02', '57P03'].includes(code)) return true;
  const message = typeof error.message === 'string' ? error.message : '';
  // pg's, then ioredis' (the request path's client has no offline queue, no retries and a command
  // time-out: platform/redis.ts), which carry no code.
  return /^(Connection terminated|timeout exceeded when trying to connect|Stream isn't writeable|Command timed out|Connection is closed|Reached the max retries per request limit)/.test(
    message,
  );
}

/** A 503 says when to retry; a backing service out of reach is asked again after this. */
const RETRY_UNAVAILABLE = { 'retry-after': '5' };

export function toProblem(
  error: unknown,
  requestId: string,
): { problem: Problem; headers: Record<string, string> } {
  if (error instanceof AppError) {
    return {
      problem: {
        type: problemType(error.code),
        title: error.title,
        status: error.status,
        detail: error.message,
        code: error.code,
        request_id: requestId,
        ...(error.errors ? { errors: error.errors } : {}),
        ...error.extensions,
      },
      headers: error.status === 503 ? { ...RETRY_UNAVAILABLE, ...error.headers } : (error.headers ?? {}),
    };
  }
  const fastifyError = error as FastifyError & { validation?: AjvError[]; validationContext?: string };
  if (fastifyError.validation) {
    const errors = validationErrors(fastifyError.validation);
    const where = fastifyError.validationContext ?? 'request';
    return {
      problem: {
        type: problemType('validation_failed'),
        title: ERROR_CATALOGUE.validation_failed.title,
        status: 400,
        detail: `The ${where} has ${errors.length === 1 ? 'an invalid field' : `${errors.length} invalid fields`}: ${errors
          .map((e) => `${e.path || where} ${e.message}`)
          .join('; ')}`,
        code: 'validation_failed',
        request_id: requestId,
        errors,
      },
      headers: {},
    };
  }
  const mapped = fastifyError.code ? FASTIFY_CODES[fastifyError.code] : undefined;
  if (mapped) {
    const status = ERROR_CATALOGUE[mapped].status;
    return {
      problem: {
        type: problemType(mapped),
        title: ERROR_CATALOGUE[mapped].title,
        status,
        detail: fastifyError.message,
        code: mapped,
        request_id: requestId,
      },
      headers: {},
    };
  }
  const refused = fastifyError.code ? SQLSTATE_CODES[fastifyError.code] : undefined;
  if (refused) {
    return {
      problem: {
        type: problemType(refused),
        title: ERROR_CATALOGUE[refused].title,
        status: ERROR_CATALOGUE[refused].status,
        // The database's own message names its internals.
        detail: 'The request holds text that cannot be stored (a NUL character, say)',
        code: refused,
        request_id: requestId,
      },
      headers: {},
    };
  }
  if (unreachable(fastifyError)) {
    return {
      problem: {
        type: problemType('service_unavailable'),
        title: ERROR_CATALOGUE.service_unavailable.title,
        status: 503,
        detail: 'A service the platform depends on cannot be reached; retry shortly',
        code: 'service_unavailable',
        request_id: requestId,
      },
      headers: { ...RETRY_UNAVAILABLE },
    };
  }
  if (fastifyError.statusCode === 429) {
    return {
      problem: {
        type: problemType('rate_limited'),
        title: ERROR_CATALOGUE.rate_limited.title,
        status: 429,
        detail: fastifyError.message,
        code: 'rate_limited',
        request_id: requestId,
      },
      headers: {},
    };
  }
  return {
    problem: {
      type: problemType('internal_error'),
      title: ERROR_CATALOGUE.internal_error.title,
      status: 500,
      detail: `An internal error occurred; quote request id ${requestId} when reporting it`,
      code: 'internal_error',
      request_id: requestId,
    },
    headers: {},
  };
}

export function sendProblem(
  reply: FastifyReply,
  problem: Problem,
  headers: Record<string, string> = {},
): FastifyReply {
  return reply.code(problem.status).headers(headers).type(PROBLEM_CONTENT_TYPE).send(problem);
}

/** Answers a request no route matched, or returns null to leave it a 404 (the web app's pages). */
export type NotFoundFallback = (request: FastifyRequest, reply: FastifyReply) => FastifyReply | null;

/** One error handler for the whole API: every error leaves as problem+json; internals never do. */
export function registerProblemHandlers(app: FastifyInstance, fallback?: NotFoundFallback): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const { problem, headers } = toProblem(error, request.id);
    if (problem.status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: problem.code, status: problem.status }, 'request refused');
    return sendProblem(reply, problem, headers);
  });
  app.setNotFoundHandler(
    (request, reply) =>
      fallback?.(request, reply) ??
      sendProblem(reply, {
        type: problemType('not_found'),
        title: ERROR_CATALOGUE.not_found.title,
        status: 404,
        detail: `No route ${request.method} ${request.url.split('?')[0]}`,
        code: 'not_found',
        request_id: request.id,
      }),
  );
}
