import type { Redis } from 'ioredis';

/**
 * Revoked sessions, as the access-token verifier sees them. An access token lives at most
 * ACCESS_TOKEN_TTL, so a revocation only needs remembering that long (plus clock skew): the
 * sessions table stays the record, this is the fast path the guard reads on every request.
 * Shared through Redis when configured (every API process sees a logout at once); in-process in
 * the embedded default (one process).
 */
export interface RevocationList {
  revoke(sessionIds: readonly string[]): Promise<void>;
  isRevoked(sessionId: string): Promise<boolean>;
}

export class RedisRevocationList implements RevocationList {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    private readonly ttlSeconds: number,
  ) {}

  private keyOf(sessionId: string): string {
    return `${this.keyPrefix}auth:revoked:${sessionId}`;
  }

  async revoke(sessionIds: readonly string[]): Promise<void> {
    if (sessionIds.length === 0) return;
    const pipeline = this.redis.multi();
    for (const id of sessionIds) pipeline.set(this.keyOf(id), '1', 'EX', this.ttlSeconds);
    await pipeline.exec();
  }

  async isRevoked(sessionId: string): Promise<boolean> {
    return (await this.redis.exists(this.keyOf(sessionId))) === 1;
  }
}

export class MemoryRevocationList implements RevocationList {
  private readonly until = new Map<string, number>();
  private lastSweep = 0;

  constructor(private readonly ttlSeconds: number) {}

  revoke(sessionIds: readonly string[]): Promise<void> {
    const now = Date.now();
    this.sweep(now);
    for (const id of sessionIds) this.until.set(id, now + this.ttlSeconds * 1000);
    return Promise.resolve();
  }

  /**
   * Remembers revocations made before this process started (it starts empty): each for what is
   * left of its time, counted from when it was made.
   */
  restore(revoked: readonly { id: string; revoked_at: Date }[]): void {
    const now = Date.now();
    for (const { id, revoked_at: at } of revoked) {
      const until = at.getTime() + this.ttlSeconds * 1000;
      if (until > now) this.until.set(id, until);
    }
  }

  /** How far back a revocation still matters: an access token issued before it may still be live. */
  get horizon(): Date {
    return new Date(Date.now() - this.ttlSeconds * 1000);
  }

  isRevoked(sessionId: string): Promise<boolean> {
    const until = this.until.get(sessionId);
    return Promise.resolve(until !== undefined && until > Date.now());
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < 60_000) return;
    this.lastSweep = now;
    for (const [id, until] of this.until) if (until <= now) this.until.delete(id);
  }
}

export function createRevocationList(
  redis: Redis | null,
  keyPrefix: string,
  accessTokenTtl: number,
): RevocationList {
  // Remembered a minute past the access-token lifetime: covers clock skew between processes.
  const ttl = accessTokenTtl + 60;
  return redis ? new RedisRevocationList(redis, keyPrefix, ttl) : new MemoryRevocationList(ttl);
}
