import { Redis } from 'ioredis';
import type { Logger } from 'pino';

/**
 * Every Redis key is written as `REDIS_KEY_PREFIX + name` by its owner (ioredis' own keyPrefix
 * misses subcommand keys such as XGROUP's), so deployments or test runs can share one server.
 */

export function createRedis(url: string, logger: Logger): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: 3,
    enableAutoPipelining: true,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
  return logErrors(redis, logger);
}

/**
 * Another connection with the same options (a blocking reader, a subscriber), its errors logged
 * as the first one's: without a listener ioredis prints them to stderr, outside the JSON log.
 */
export function duplicateRedis(redis: Redis, logger: Logger): Redis {
  return logErrors(redis.duplicate(), logger);
}

function logErrors(redis: Redis, logger: Logger): Redis {
  let lastError = '';
  redis.on('error', (error: Error) => {
    // One line per distinct error, not one per reconnection attempt.
    if (error.message !== lastError) logger.error({ err: error }, 'redis connection error');
    lastError = error.message;
  });
  redis.on('ready', () => (lastError = ''));
  return redis;
}
