import type { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { UnreachableServiceError, type Config } from './config';
import { loadMasterKey, loadRetiredKeys, SecretBox } from './crypto';
import { createDatabase, type Database } from './db/database';
import { migrate } from './db/migrate';
import type { DB } from './db/tables';
import type { EventBus } from './events/bus';
import { InProcessBus } from './events/in-process-bus';
import { RedisStreamsBus } from './events/redis-bus';
import { OutboxRelay } from './events/relay';
import { createRequestRedis, duplicateRedis, whenReady } from './redis';
import { within } from './timeouts';

/** What every module gets: configuration, the database, Redis when configured, the event bus. */
export interface Platform {
  config: Config;
  logger: Logger;
  database: Database;
  db: Kysely<DB>;
  /** Null in the embedded default: fan-out, limits and revocations are then in-process. */
  redis: Redis | null;
  bus: EventBus;
  relay: OutboxRelay;
  secrets: SecretBox;
  close(): Promise<void>;
}

export interface PlatformOverrides {
  database?: Database;
  /** Used for the requests and the event bus alike. */
  redis?: Redis | null;
  /** How long start-up waits for PostgreSQL and Redis to answer (10 s by default). */
  connectTimeoutMs?: number;
}

/**
 * Start-up's bound on waiting for PostgreSQL and Redis: past it the process exits naming the
 * setting at fault, and the orchestrator restarts it, rather than serving 503s on a broken setting.
 */
const CONNECT_TIMEOUT_MS = 10_000;

export async function createPlatform(
  config: Config,
  logger: Logger,
  overrides: PlatformOverrides = {},
): Promise<Platform> {
  const connectTimeoutMs = overrides.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
  const database = overrides.database ?? (await openDatabase(config, logger, connectTimeoutMs));
  await migrate(database);
  let redis: Redis | null;
  try {
    redis =
      overrides.redis !== undefined
        ? overrides.redis
        : config.REDIS_URL
          ? await connectRedis(config.REDIS_URL, logger, connectTimeoutMs)
          : null;
  } catch (error) {
    if (!overrides.database) await database.close();
    throw error;
  }
  // The requests' commands fail fast, the bus's wait out a reconnection: a connection each.
  const busRedis = redis && overrides.redis === undefined ? duplicateRedis(redis, logger) : redis;
  const bus: EventBus = busRedis
    ? new RedisStreamsBus(busRedis, database.db, logger, {
        maxAttempts: config.EVENT_MAX_ATTEMPTS,
        retryBaseMs: config.EVENT_RETRY_BASE_MS,
        lingerMs: config.EVENT_CONSUMER_LINGER_MS,
        keyPrefix: config.REDIS_KEY_PREFIX,
      })
    : new InProcessBus(database.db, logger, {
        maxAttempts: config.EVENT_MAX_ATTEMPTS,
        retryBaseMs: Math.min(config.EVENT_RETRY_BASE_MS, 100),
      });
  const relay = new OutboxRelay(database, bus, logger, {
    batchSize: config.OUTBOX_BATCH_SIZE,
    pollMs: config.OUTBOX_POLL_MS,
    lingerMs: config.OUTBOX_LINGER_MS,
    retentionMs: config.OUTBOX_RETENTION_HOURS * 3_600_000,
    processedRetentionMs: config.PROCESSED_EVENTS_RETENTION_DAYS * 86_400_000,
  });
  const secrets = new SecretBox(loadMasterKey(config), loadRetiredKeys(config));
  return {
    config,
    logger,
    database,
    db: database.db,
    redis,
    bus,
    relay,
    secrets,
    async close() {
      await relay.stop();
      await bus.stop();
      if (overrides.redis === undefined) {
        // QUIT cannot be sent while the connection is down (no offline queue): then disconnect.
        for (const client of [redis, busRedis]) await client?.quit().catch(() => client.disconnect());
      }
      if (!overrides.database) await database.close();
    },
  };
}

/** The database; a PostgreSQL server that does not answer stops start-up, naming DATABASE_URL. */
async function openDatabase(config: Config, logger: Logger, timeoutMs: number): Promise<Database> {
  const database = await createDatabase({
    ...(config.DATABASE_URL ? { databaseUrl: config.DATABASE_URL } : {}),
    dataDir: config.DATA_DIR,
    poolSize: config.DATABASE_POOL_SIZE,
    logger,
  });
  if (!config.DATABASE_URL) return database;
  try {
    await within(database.ping(), timeoutMs);
  } catch (error) {
    // Not awaited: a pool still waiting on a server that never answers would hold the exit.
    void database.close().catch(() => undefined);
    throw new UnreachableServiceError('DATABASE_URL', 'PostgreSQL', config.DATABASE_URL, error);
  }
  return database;
}

/**
 * The request path's Redis client, once ready: without an offline queue, a command sent before the
 * first connection is up would fail (see redis.ts). Not ready in time stops start-up, naming REDIS_URL.
 */
async function connectRedis(url: string, logger: Logger, timeoutMs: number): Promise<Redis> {
  const redis = createRequestRedis(url, logger);
  try {
    await whenReady(redis, timeoutMs);
  } catch (error) {
    redis.disconnect();
    throw new UnreachableServiceError('REDIS_URL', 'Redis', url, error);
  }
  return redis;
}
