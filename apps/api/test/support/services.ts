import pg from 'pg';
import { Redis } from 'ioredis';

/** The real services the integration tests use; the local servers unless told otherwise. */
export const TEST_DATABASE_URL =
  process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

export async function postgresReachable(url = TEST_DATABASE_URL): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function redisReachable(url = TEST_REDIS_URL): Promise<boolean> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 2000,
    retryStrategy: () => null,
  });
  try {
    await redis.connect();
    await redis.ping();
    return true;
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

/**
 * Whether tests needing a service may run. Locally an absent service skips them with the reason;
 * in CI (CI=true) an absent service is a failure, never a skip.
 */
export async function serviceAvailable(name: 'postgres' | 'redis'): Promise<boolean> {
  const up = name === 'postgres' ? await postgresReachable() : await redisReachable();
  if (up) return true;
  const where = name === 'postgres' ? TEST_DATABASE_URL : TEST_REDIS_URL;
  if (IN_CI) throw new Error(`${name} is required in CI but is not reachable at ${where}`);
  console.warn(`skipping: ${name} is not reachable at ${where}`);
  return false;
}
