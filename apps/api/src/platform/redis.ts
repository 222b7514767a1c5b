import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';

/**
 * Every Redis key is written as `REDIS_KEY_PREFIX + name` by its owner (ioredis' own keyPrefix
 * misses subcommand keys such as XGROUP's), so deployments or test runs can share one server.
 */

/** Reconnects for as long as the process lives, one attempt every 2 s at most. */
const retryStrategy = (attempt: number) => Math.min(attempt * 200, 2000);

/**
 * A command sent while the connection is down waits in the offline queue, through up to 3
 * reconnection attempts: the event bus and its blocking readers would rather wait out a blip than
 * fail, and a subscriber's SUBSCRIBE is sent before its connection is up.
 */
const WAITING: RedisOptions = {
  enableOfflineQueue: true,
  maxRetriesPerRequest: 3,
  commandTimeout: undefined,
};

/**
 * A request fails fast instead: with the offline queue and its retries, a request needing Redis
 * (the session check, the rate limits) waited 4–8 s for its 503 while Redis was down, holding its
 * connection. Without the queue a command fails at once while the connection is down, without
 * retries one in flight fails as the connection drops, and one Redis does not answer (a stalled
 * server, a dead peer) fails after a second. The queue also bridged the first connection: a
 * client without it must be ready before requests use it (see whenReady).
 */
const FAILING_FAST: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  commandTimeout: 1000,
};

/** A client whose commands wait out a reconnection: the event bus, tools and tests. */
export function createRedis(url: string, logger: Logger): Redis {
  return logErrors(new Redis(url, { ...WAITING, enableAutoPipelining: true, retryStrategy }), logger);
}

/** The client the request path uses, whose commands fail at once while Redis is out of reach. */
export function createRequestRedis(url: string, logger: Logger): Redis {
  return logErrors(new Redis(url, { ...FAILING_FAST, enableAutoPipelining: true, retryStrategy }), logger);
}

/**
 * Another connection with the same server and reconnection (a blocking reader, a subscriber), whose
 * commands wait out a reconnection whatever the first one's do: a blocking read must outlast any
 * command time-out. Its errors are logged as the first one's: without a listener ioredis prints
 * them to stderr, outside the JSON log.
 */
export function duplicateRedis(redis: Redis, logger: Logger): Redis {
  return logErrors(redis.duplicate(WAITING), logger);
}

/**
 * Resolves once the client's connection is ready; otherwise rejects after timeoutMs with the last
 * connection error (the client goes on retrying: the caller disconnects it).
 */
export function whenReady(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    let lastError: Error | null = null;
    const onError = (error: Error) => (lastError = error);
    const settle = () => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', onError);
    };
    const onReady = () => {
      settle();
      resolve();
    };
    const timer = setTimeout(() => {
      settle();
      reject(lastError ?? new Error(`not ready within ${timeoutMs} ms`));
    }, timeoutMs);
    redis.on('ready', onReady);
    redis.on('error', onError);
  });
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
