import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { duplicateRedis } from './redis';

/** What a session-revocation store does; the signal wraps it. */
interface Revoking {
  revoke(sessionIds: readonly string[]): Promise<void>;
}

/**
 * Announces session revocations to every API process (Redis pub/sub; an in-process emitter in the
 * embedded default), so that realtime closes a revoked session's sockets at once instead of at its
 * next token check. Best effort by nature: the heartbeat's token check is the backstop.
 */
export class SessionRevocationSignal {
  private readonly local = new EventEmitter();
  private readonly channel: string;

  constructor(
    private readonly redis: Redis | null,
    keyPrefix: string,
    private readonly logger: Logger,
  ) {
    this.channel = `${keyPrefix}auth:sessions-revoked`;
    this.local.setMaxListeners(0);
  }

  /** The same store, whose revoke() also announces the sessions once they are stored. */
  announcing<T extends Revoking>(store: T): T {
    const revoke = store.revoke.bind(store);
    store.revoke = async (sessionIds) => {
      await revoke(sessionIds);
      if (sessionIds.length) await this.announce(sessionIds);
    };
    return store;
  }

  async announce(sessionIds: readonly string[]): Promise<void> {
    if (!this.redis) {
      for (const id of sessionIds) this.local.emit('revoked', id);
      return;
    }
    await this.redis.publish(this.channel, JSON.stringify(sessionIds)).catch((error: unknown) => {
      this.logger.warn({ err: error }, 'could not announce revoked sessions');
    });
  }

  /** Calls listener with each revoked session id; resolves to the unsubscribe. */
  async subscribe(listener: (sessionId: string) => void): Promise<() => Promise<void>> {
    if (!this.redis) {
      this.local.on('revoked', listener);
      return async () => void this.local.off('revoked', listener);
    }
    const subscriber = duplicateRedis(this.redis, this.logger);
    subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      try {
        for (const id of JSON.parse(message) as string[]) listener(id);
      } catch (error) {
        this.logger.warn({ err: error }, 'unreadable session revocation');
      }
    });
    await subscriber.subscribe(this.channel);
    return async () => {
      subscriber.disconnect();
    };
  }
}
