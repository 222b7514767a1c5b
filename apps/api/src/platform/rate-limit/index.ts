export {
  createRateLimiter,
  gcra,
  MemoryRateLimiter,
  rateLimitHeaders,
  RedisRateLimiter,
  type LimitCheck,
  type LimitOptions,
  type LimitResult,
  type RateLimiter,
} from './limiter';
