import type { Redis } from 'ioredis';
import { AppError } from '../errors';

/**
 * A shared rate limiter: GCRA (the generic cell rate algorithm, a leaky bucket kept as one
 * timestamp per key). `limit` requests are allowed in any `windowMs`, as a burst or spread out;
 * each spent unit is earned back after windowMs / limit. With Redis the state lives in one key per
 * limited thing (prefixed with REDIS_KEY_PREFIX) and is updated by one atomic Lua script, so the
 * limit holds across every API process; without Redis an in-process map does the same arithmetic.
 */
export interface LimitOptions {
  /** How many units the window allows. */
  limit: number;
  windowMs: number;
  /** Units this call spends (default 1). */
  cost?: number;
}

export interface LimitResult {
  allowed: boolean;
  limit: number;
  /** Units still available right now after this call. */
  remaining: number;
  /** Milliseconds until the bucket is full again (every unit earned back). */
  resetMs: number;
  /** Milliseconds to wait before this call would be allowed; 0 when allowed. */
  retryAfterMs: number;
}

/** One of the limits a call is counted against. */
export interface LimitCheck {
  key: string;
  options: LimitOptions;
}

export interface RateLimiter {
  /** Spends `cost` units if the limit allows it; a refused call spends nothing. */
  consume(key: string, options: LimitOptions): Promise<LimitResult>;
  /**
   * Spends on every limit at once, or on none: a call one of them refuses spends nothing on the
   * others. Answers each limit's own result, in order (an allowing limit's as if it had spent).
   */
  consumeAll(checks: LimitCheck[]): Promise<LimitResult[]>;
  /** Whether `cost` units could be spent now, spending nothing. */
  peek(key: string, options: LimitOptions): Promise<LimitResult>;
  /**
   * Gives back `cost` units a consume spent, never beyond a full bucket. For limits on failures: an
   * attempt spends before its outcome is known (else parallel attempts would all pass the check)
   * and gets its unit back when it succeeds.
   */
  refund(key: string, options: LimitOptions): Promise<void>;
  /** Forgets a key: its full limit is available again. */
  reset(key: string): Promise<void>;
}

interface Gcra {
  allowed: boolean;
  newTat: number;
  result: LimitResult;
}

/** The GCRA step in JavaScript; the Lua script below is the same arithmetic. */
export function gcra(tat: number | null, now: number, options: LimitOptions): Gcra {
  const cost = options.cost ?? 1;
  const interval = options.windowMs / options.limit;
  const base = Math.max(tat ?? now, now);
  const newTat = base + cost * interval;
  const allowAt = newTat - options.windowMs;
  if (now < allowAt) {
    const current = base - now;
    return {
      allowed: false,
      newTat: base,
      result: {
        allowed: false,
        limit: options.limit,
        remaining: Math.max(0, Math.floor((options.windowMs - current) / interval)),
        resetMs: Math.ceil(current),
        retryAfterMs: Math.ceil(allowAt - now),
      },
    };
  }
  const used = newTat - now;
  return {
    allowed: true,
    newTat,
    result: {
      allowed: true,
      limit: options.limit,
      remaining: Math.max(0, Math.floor((options.windowMs - used) / interval + 1e-9)),
      resetMs: Math.ceil(used),
      retryAfterMs: 0,
    },
  };
}

// KEYS: the buckets; ARGV: dryRun (1|0), then limit, windowMs and cost of each bucket (negative: a
// refund, always allowed). The clock is Redis' own, so processes with drifting clocks agree. Every
// bucket is checked first and written only when all of them allow. Answers {allowed, remaining,
// resetMs, retryAfterMs} of each bucket.
const GCRA_SCRIPT = `
local dry = ARGV[1] == '1'
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local answer, writes, all = {}, {}, true
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[3 * i - 1])
  local window = tonumber(ARGV[3 * i])
  local cost = tonumber(ARGV[3 * i + 1])
  local interval = window / limit
  local tat = tonumber(redis.call('GET', key) or now)
  local base = math.max(tat, now)
  local newTat = base + cost * interval
  local allowAt = newTat - window
  if now < allowAt then
    local current = base - now
    all = false
    table.insert(answer, {0, math.max(0, math.floor((window - current) / interval)), math.ceil(current), math.ceil(allowAt - now)})
  else
    local used = newTat - now
    if cost ~= 0 then table.insert(writes, {key, tostring(newTat), math.max(1, math.ceil(used))}) end
    table.insert(answer, {1, math.max(0, math.floor((window - used) / interval + 1e-9)), math.ceil(used), 0})
  end
end
if all and not dry then
  for _, w in ipairs(writes) do redis.call('SET', w[1], w[2], 'PX', w[3]) end
end
return answer
`;

/**
 * A refund is a negative cost: GCRA moves the bucket's time back by that many intervals, and since
 * the step starts from max(tat, now), a full bucket stays full.
 */
function refundOf(options: LimitOptions): LimitOptions {
  return { ...options, cost: -(options.cost ?? 1) };
}

type RedisWithGcra = Redis & {
  tesseraGcra(keys: number, ...args: (string | number)[]): Promise<number[][]>;
};

/**
 * Limits fail closed, as the session check does: without Redis a limit cannot be kept across
 * processes, and failed logins must not go uncounted. The answer is 503 `service_unavailable`,
 * which says to retry, not a 500.
 */
async function unavailableWithoutRedis<T>(command: Promise<T>): Promise<T> {
  try {
    return await command;
  } catch (error) {
    throw new AppError('service_unavailable', 'Rate limits cannot be checked right now', { cause: error });
  }
}

export class RedisRateLimiter implements RateLimiter {
  private readonly redis: RedisWithGcra;

  constructor(
    redis: Redis,
    private readonly keyPrefix: string,
  ) {
    if (!('tesseraGcra' in redis)) redis.defineCommand('tesseraGcra', { lua: GCRA_SCRIPT });
    this.redis = redis as RedisWithGcra;
  }

  async consume(key: string, options: LimitOptions): Promise<LimitResult> {
    return (await this.run([{ key, options }], false))[0]!;
  }

  consumeAll(checks: LimitCheck[]): Promise<LimitResult[]> {
    return this.run(checks, false);
  }

  async peek(key: string, options: LimitOptions): Promise<LimitResult> {
    return (await this.run([{ key, options }], true))[0]!;
  }

  async refund(key: string, options: LimitOptions): Promise<void> {
    await this.run([{ key, options: refundOf(options) }], false);
  }

  async reset(key: string): Promise<void> {
    await unavailableWithoutRedis(this.redis.del(this.keyOf(key)));
  }

  private keyOf(key: string): string {
    return `${this.keyPrefix}ratelimit:${key}`;
  }

  private async run(checks: LimitCheck[], dry: boolean): Promise<LimitResult[]> {
    const answers = await unavailableWithoutRedis(
      this.redis.tesseraGcra(
        checks.length,
        ...checks.map((check) => this.keyOf(check.key)),
        dry ? 1 : 0,
        ...checks.flatMap(({ options }) => [options.limit, options.windowMs, options.cost ?? 1]),
      ),
    );
    return checks.map(({ options }, index) => {
      const [allowed, remaining, resetMs, retryAfterMs] = answers[index] ?? [];
      return {
        allowed: allowed === 1,
        limit: options.limit,
        remaining: remaining ?? 0,
        resetMs: resetMs ?? 0,
        retryAfterMs: retryAfterMs ?? 0,
      };
    });
  }
}

/** The embedded default: the same limits, for one process. Expired buckets are swept as it goes. */
export class MemoryRateLimiter implements RateLimiter {
  private readonly buckets = new Map<string, number>();
  private lastSweep = 0;

  constructor(private readonly now: () => number = Date.now) {}

  async consume(key: string, options: LimitOptions): Promise<LimitResult> {
    return (await this.consumeAll([{ key, options }]))[0]!;
  }

  consumeAll(checks: LimitCheck[]): Promise<LimitResult[]> {
    const now = this.now();
    this.sweep(now);
    const steps = checks.map((check) => gcra(this.buckets.get(check.key) ?? null, now, check.options));
    if (steps.every((step) => step.allowed)) {
      checks.forEach((check, index) => {
        if ((check.options.cost ?? 1) !== 0) this.buckets.set(check.key, steps[index]!.newTat);
      });
    }
    return Promise.resolve(steps.map((step) => step.result));
  }

  peek(key: string, options: LimitOptions): Promise<LimitResult> {
    return Promise.resolve(gcra(this.buckets.get(key) ?? null, this.now(), options).result);
  }

  async refund(key: string, options: LimitOptions): Promise<void> {
    await this.consumeAll([{ key, options: refundOf(options) }]);
  }

  reset(key: string): Promise<void> {
    this.buckets.delete(key);
    return Promise.resolve();
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < 60_000) return;
    this.lastSweep = now;
    for (const [key, tat] of this.buckets) if (tat <= now) this.buckets.delete(key);
  }
}

export function createRateLimiter(redis: Redis | null, keyPrefix: string): RateLimiter {
  return redis ? new RedisRateLimiter(redis, keyPrefix) : new MemoryRateLimiter();
}

/** The RateLimit-* headers (IETF draft) for a result, plus Retry-After when refused. */
export function rateLimitHeaders(result: LimitResult): Record<string, string> {
  const headers: Record<string, string> = {
    'ratelimit-limit': String(result.limit),
    'ratelimit-remaining': String(result.remaining),
    'ratelimit-reset': String(Math.ceil(result.resetMs / 1000)),
  };
  if (!result.allowed) headers['retry-after'] = String(Math.max(1, Math.ceil(result.retryAfterMs / 1000)));
  return headers;
}
