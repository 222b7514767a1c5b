import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { serviceAvailable, TEST_REDIS_URL } from '../../../test/support/services';
import { createRedis } from '../redis';
import { gcra, MemoryRateLimiter, rateLimitHeaders, RedisRateLimiter, type RateLimiter } from './limiter';

const redisUp = await serviceAvailable('redis');

describe('GCRA arithmetic', () => {
  const options = { limit: 5, windowMs: 60_000 };

  it('allows a burst of `limit`, then refuses until one unit is earned back', () => {
    let tat: number | null = null;
    for (let i = 0; i < 5; i += 1) {
      const step = gcra(tat, 1_000_000, options);
      expect(step.allowed).toBe(true);
      expect(step.result.remaining).toBe(4 - i);
      tat = step.newTat;
    }
    const refused = gcra(tat, 1_000_000, options);
    expect(refused.allowed).toBe(false);
    expect(refused.result.retryAfterMs).toBe(12_000);
    expect(refused.result.resetMs).toBe(60_000);
    expect(gcra(tat, 1_012_000, options).allowed).toBe(true);
  });

  it('a refused call spends nothing (a flood cannot extend the wait)', async () => {
    let now = 0;
    const limiter = new MemoryRateLimiter(() => now);
    for (let i = 0; i < 5; i += 1) await limiter.consume('k', options);
    for (let i = 0; i < 100; i += 1) expect((await limiter.consume('k', options)).allowed).toBe(false);
    now = 12_000;
    expect((await limiter.consume('k', options)).allowed).toBe(true);
  });

  it('renders the RateLimit headers and Retry-After in whole seconds', () => {
    expect(
      rateLimitHeaders({ allowed: false, limit: 5, remaining: 0, resetMs: 59_001, retryAfterMs: 11_001 }),
    ).toEqual({
      'ratelimit-limit': '5',
      'ratelimit-remaining': '0',
      'ratelimit-reset': '60',
      'retry-after': '12',
    });
  });
});

function behavesLikeALimiter(name: string, make: () => RateLimiter, enabled: boolean) {
  describe.runIf(enabled)(`${name} limiter`, () => {
    it('consumes, peeks without spending, and resets', async () => {
      const limiter = make();
      const key = `k-${randomBytes(4).toString('hex')}`;
      const options = { limit: 3, windowMs: 60_000 };
      expect((await limiter.peek(key, options)).remaining).toBe(2);
      for (let i = 0; i < 3; i += 1) expect((await limiter.consume(key, options)).allowed).toBe(true);
      const refused = await limiter.consume(key, options);
      expect(refused).toMatchObject({ allowed: false, remaining: 0, limit: 3 });
      expect(refused.retryAfterMs).toBeGreaterThan(19_000);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(20_000);
      expect((await limiter.peek(key, options)).allowed).toBe(false);
      await limiter.reset(key);
      expect((await limiter.consume(key, options)).allowed).toBe(true);
    });

    it('spends on several limits at once, or on none of them when one refuses', async () => {
      const limiter = make();
      const tight = { key: `t-${randomBytes(4).toString('hex')}`, options: { limit: 2, windowMs: 60_000 } };
      const loose = { key: `l-${randomBytes(4).toString('hex')}`, options: { limit: 5, windowMs: 60_000 } };
      for (let i = 0; i < 2; i += 1) {
        const results = await limiter.consumeAll([tight, loose]);
        expect(results.map((result) => [result.allowed, result.remaining])).toEqual([
          [true, 1 - i],
          [true, 4 - i],
        ]);
      }
      for (let i = 0; i < 3; i += 1) {
        const [refused, allowing] = await limiter.consumeAll([tight, loose]);
        expect(refused).toMatchObject({ allowed: false, limit: 2, remaining: 0 });
        expect(allowing).toMatchObject({ allowed: true, limit: 5 });
      }
      expect((await limiter.peek(loose.key, loose.options)).remaining).toBe(2);
    });

    it('a refund gives back what a consume spent, never beyond a full bucket', async () => {
      const limiter = make();
      const key = `r-${randomBytes(4).toString('hex')}`;
      const options = { limit: 3, windowMs: 60_000 };
      await limiter.refund(key, options);
      await limiter.refund(key, options);
      for (let i = 0; i < 3; i += 1) expect((await limiter.consume(key, options)).allowed).toBe(true);
      expect((await limiter.consume(key, options)).allowed).toBe(false);
      await limiter.refund(key, options);
      expect((await limiter.consume(key, options)).allowed).toBe(true);
      expect((await limiter.consume(key, options)).allowed).toBe(false);
    });

    it('holds under concurrency: exactly `limit` of many parallel calls pass', async () => {
      const limiter = make();
      const key = `c-${randomBytes(4).toString('hex')}`;
      const results = await Promise.all(
        Array.from({ length: 50 }, () => limiter.consume(key, { limit: 10, windowMs: 60_000 })),
      );
      expect(results.filter((result) => result.allowed)).toHaveLength(10);
    });
  });
}

const redis = redisUp ? createRedis(TEST_REDIS_URL, pino({ level: 'silent' })) : null;
const prefix = `test:${randomBytes(5).toString('hex')}:`;
afterAll(async () => {
  if (!redis) return;
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

behavesLikeALimiter('in-process', () => new MemoryRateLimiter(), true);
behavesLikeALimiter('Redis', () => new RedisRateLimiter(redis!, prefix), redisUp);

describe.runIf(redisUp)('Redis limiter across processes', () => {
  it('two limiters (two API processes) share one budget, under REDIS_KEY_PREFIX', async () => {
    const a = new RedisRateLimiter(redis!, prefix);
    const b = new RedisRateLimiter(createRedis(TEST_REDIS_URL, pino({ level: 'silent' })), prefix);
    const options = { limit: 4, windowMs: 60_000 };
    for (let i = 0; i < 2; i += 1) {
      expect((await a.consume('shared', options)).allowed).toBe(true);
      expect((await b.consume('shared', options)).allowed).toBe(true);
    }
    expect((await a.consume('shared', options)).allowed).toBe(false);
    expect((await b.consume('shared', options)).allowed).toBe(false);
    expect(await redis!.exists(`${prefix}ratelimit:shared`)).toBe(1);
  });
});

describe('limits without Redis', () => {
  it('fail closed with 503 service_unavailable, not an internal error', async () => {
    // Nothing listens on port 1; no retries, so the command fails at once.
    const down = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    down.on('error', () => {});
    const limiter = new RedisRateLimiter(down, 'test:');
    try {
      for (const attempt of [
        limiter.consume('k', { limit: 5, windowMs: 60_000 }),
        limiter.consumeAll([{ key: 'k', options: { limit: 5, windowMs: 60_000 } }]),
        limiter.reset('k'),
      ]) {
        await expect(attempt).rejects.toMatchObject({ code: 'service_unavailable', status: 503 });
      }
    } finally {
      down.disconnect();
    }
  });
});
