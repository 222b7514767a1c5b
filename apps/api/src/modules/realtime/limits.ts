import { gcra, type LimitOptions } from '../../platform/rate-limit';

/**
 * The limits a client's socket works within (docs/decisions.md, "Realtime sockets are rate
 * limited"). A socket lives in one process, so they are counted in-process.
 *
 * A socket may send MESSAGE_BURST messages at once, then MESSAGE_RATE_PER_SECOND; past that it is
 * closed with 1008 (policy violation). The web app sends one subscribe per channel (four) when it
 * connects, then a ping every 25 s and an `auth` before its token expires: a tiny fraction of this.
 */
export const MESSAGE_BURST = 20;
export const MESSAGE_RATE_PER_SECOND = 5;

/**
 * How many replay reads (each a short transaction holding a database connection) run at once in
 * one process, whatever the number of sockets asking: a quarter of the pool, so that a reconnect
 * storm of every socket resuming at once leaves three quarters of it to the API's requests.
 */
export function replayConcurrency(poolSize: number): number {
  return Math.max(1, Math.floor(poolSize / 4));
}

/**
 * How many sockets' tokens a heartbeat checks again at once (each a read of the revocation list):
 * enough that a beat over thousands of sockets ends well within its interval, so that no beat is
 * skipped, and few enough to leave Redis to the API's requests.
 */
export const HEARTBEAT_CHECKS_AT_ONCE = 8;

/**
 * A token bucket of `burst` tokens refilled at `perSecond`, each message taking one: the platform's
 * GCRA step (the rate limiter's arithmetic), kept per socket, in memory, since a socket lives here.
 */
export class TokenBucket {
  private tat: number | null = null;
  private readonly options: LimitOptions;

  constructor(
    burst: number,
    perSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.options = { limit: burst, windowMs: (burst / perSecond) * 1000 };
  }

  /** Takes a token: false when there is none left (the sender is over its rate). */
  take(): boolean {
    const step = gcra(this.tat, this.now(), this.options);
    this.tat = step.newTat;
    return step.allowed;
  }
}

/** Runs at most `limit` tasks at once; the others wait their turn, first come first served. */
export class Gate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {}

  /** The tasks running now. */
  get active(): number {
    return this.running;
  }

  /** The tasks waiting for a turn. */
  get queued(): number {
    return this.waiting.length;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running < this.limit) this.running++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await task();
    } finally {
      // The turn passes straight to the next waiting task, if any.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
