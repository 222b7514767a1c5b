import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { buildApp } from '../../src/app';
import { createModules, type Modules } from '../../src/modules';
import { loadConfig, type Config } from '../../src/platform/config';
import { createPlatform, type Platform } from '../../src/platform/platform';
import { createRedis } from '../../src/platform/redis';
import { createTestDatabase, type TestDatabase } from './database';
import { TEST_REDIS_URL } from './services';

export interface TestApp {
  app: FastifyInstance;
  platform: Platform;
  modules: Modules;
  config: Config;
  testDatabase: TestDatabase;
  /** Publishes and delivers every committed event (the worker's work, on demand). */
  flushEvents(): Promise<void>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Use real Redis (streams, limits, revocations); the default is the in-process path. */
  redis?: boolean;
  env?: Record<string, string>;
}

/**
 * The whole API on a fresh PostgreSQL database of its own, as buildApp() makes it for production;
 * tests drive it with inject(). Redis keys get a random prefix so parallel files never meet.
 */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const testDatabase = await createTestDatabase();
  const prefix = `test:${randomBytes(5).toString('hex')}:`;
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    DATA_DIR: path.join(os.tmpdir(), `tessera-test-${randomBytes(4).toString('hex')}`),
    DATABASE_URL: testDatabase.url,
    EVENT_RETRY_BASE_MS: '50',
    OUTBOX_POLL_MS: '50',
    ...(options.redis ? { REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: prefix } : {}),
    ...options.env,
  });
  const logger = pino({ level: config.LOG_LEVEL });
  const redis = options.redis ? createRedis(TEST_REDIS_URL, logger) : null;
  const platform = await createPlatform(config, logger, { database: testDatabase.database, redis });
  const modules = createModules(platform);
  const app = await buildApp(config, { platform, modules });
  await app.ready();
  for (const module of modules.list)
    for (const consumer of module.consumers ?? []) platform.bus.register(consumer);
  return {
    app,
    platform,
    modules,
    config,
    testDatabase,
    async flushEvents() {
      await platform.relay.drain();
    },
    async close() {
      await app.close();
      await platform.close();
      if (redis) {
        const keys = await redis.keys(`${prefix}*`);
        if (keys.length) await redis.del(...keys);
        await redis.quit();
      }
      await testDatabase.drop();
    },
  };
}
