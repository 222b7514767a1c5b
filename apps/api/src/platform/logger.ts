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

export function createLogger(config: Pick<Config, 'LOG_LEVEL'>): Logger {
  return pino({ level: config.LOG_LEVEL, redact: { paths: REDACT, censor: '[redacted]' } });
}
