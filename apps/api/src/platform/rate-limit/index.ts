export {
  createRateLimiter,
  gcra,
  MemoryRateLimiter,
  rateLimitHeaders,
  RedisRateLimiter,
  type LimitOptions,
  type LimitResult,
  type RateLimiter,
} from './limiter';
