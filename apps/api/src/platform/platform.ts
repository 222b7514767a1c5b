import type { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Config } from './config';
import { loadMasterKey, loadRetiredKeys, SecretBox } from './crypto';
import { createDatabase, type Database } from './db/database';
import { migrate } from './db/migrate';
import type { DB } from './db/tables';
import type { EventBus } from './events/bus';
import { InProcessBus } from './events/in-process-bus';
import { RedisStreamsBus } from './events/redis-bus';
import { OutboxRelay } from './events/relay';
import { createRedis } from './redis';

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
  redis?: Redis | null;
}

export async function createPlatform(
  config: Config,
  logger: Logger,
  overrides: PlatformOverrides = {},
): Promise<Platform> {
  const database =
    overrides.database ??
    (await createDatabase({
      ...(config.DATABASE_URL ? { databaseUrl: config.DATABASE_URL } : {}),
      dataDir: config.DATA_DIR,
      poolSize: config.DATABASE_POOL_SIZE,
      logger,
    }));
  await migrate(database);
  const redis =
    overrides.redis !== undefined
      ? overrides.redis
      : config.REDIS_URL
        ? createRedis(config.REDIS_URL, logger)
        : null;
  const bus: EventBus = redis
    ? new RedisStreamsBus(redis, database.db, logger, {
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
      if (redis && overrides.redis === undefined) await redis.quit().catch(() => undefined);
      if (!overrides.database) await database.close();
    },
  };
}
