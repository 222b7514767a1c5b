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

/** A token bucket: `burst` tokens, refilled at `perSecond`; each message takes one. */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly burst: number,
    private readonly perSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = burst;
    this.at = now();
  }

  /** Takes a token: false when there is none left (the sender is over its rate). */
  take(): boolean {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.perSecond);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
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
