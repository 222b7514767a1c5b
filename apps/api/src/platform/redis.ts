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
  let lastError = '';
  redis.on('error', (error: Error) => {
    // One line per distinct error, not one per reconnection attempt.
    if (error.message !== lastError) logger.error({ err: error }, 'redis connection error');
    lastError = error.message;
  });
  redis.on('ready', () => (lastError = ''));
  return redis;
}
