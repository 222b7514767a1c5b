import type { FastifyRequest } from 'fastify';
import pino, { type Logger } from 'pino';
import type { Config } from './config';

/** Secrets never reach a log line. */
const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'password',
  'current_password',
  'new_password',
  'refresh_token',
  'access_token',
  'token',
];

/**
 * Query parameters that carry a secret in a URL: the WebSocket's access token (a browser cannot
 * send it in a header), and the reset, verification and invitation links' tokens.
 */
const SECRET_QUERY = /([?&](?:access_token|refresh_token|token)=)[^&#]*/g;

/** Paths that carry a secret: an invitation link's token, looked up before it is used. */
const SECRET_PATH = /^(\/auth\/invitations\/)[^?#]*/;

/** A URL as it may be logged: the values of secret query parameters and path segments are redacted. */
export function loggableUrl(url: string): string {
  return url.replace(SECRET_PATH, '$1[redacted]').replace(SECRET_QUERY, '$1[redacted]');
}

/** The request as Fastify logs it by default, with its URL made loggable. */
function serializeRequest(request: FastifyRequest) {
  return {
    method: request.method,
    url: loggableUrl(request.url),
    host: request.host,
    remoteAddress: request.ip,
  };
}

/** The process's logger, on stdout unless given another destination. */
export function createLogger(
  config: Pick<Config, 'LOG_LEVEL'>,
  destination?: pino.DestinationStream,
): Logger {
  const options = {
    level: config.LOG_LEVEL,
    redact: { paths: REDACT, censor: '[redacted]' },
    serializers: { req: serializeRequest },
  };
  return destination ? pino(options, destination) : pino(options);
}
