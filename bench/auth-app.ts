/**
 * The API as the auth benchmarks use it: the whole buildApp(), on a fresh PostgreSQL database
 * cloned from the migrated template, with the request limits lifted.
 */
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { buildApp } from '../apps/api/src/app';
import { createModules } from '../apps/api/src/modules';
import { loadConfig } from '../apps/api/src/platform/config';
import { createPlatform } from '../apps/api/src/platform/platform';
import { createRedis } from '../apps/api/src/platform/redis';
import { createTestDatabase } from '../apps/api/test/support/database';
import { TEST_REDIS_URL } from '../apps/api/test/support/services';

export async function createAuthBenchApp(options: { redis?: boolean } = {}) {
  const testDatabase = await createTestDatabase({ poolSize: 10 });
  const prefix = `bench:${randomBytes(5).toString('hex')}:`;
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATA_DIR: path.join(os.tmpdir(), `tessera-bench-${randomBytes(4).toString('hex')}`),
    DATABASE_URL: testDatabase.url,
    // The benchmarks measure throughput, not the per-user and per-IP request limits.
    RATE_LIMIT_USER_PER_MINUTE: '1000000000',
    RATE_LIMIT_IP_PER_MINUTE: '1000000000',
    RATE_LIMIT_TENANT_PER_MINUTE: '1000000000',
    RATE_LIMIT_LOGIN_PER_MINUTE: '1000000000',
    ...(options.redis ? { REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: prefix } : {}),
  });
  const logger = pino({ level: 'silent' });
  const redis = options.redis ? createRedis(TEST_REDIS_URL, logger) : null;
  const platform = await createPlatform(config, logger, { database: testDatabase.database, redis });
  const app = await buildApp(config, { platform, modules: createModules(platform) });
  await app.ready();
  return {
    app,
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
