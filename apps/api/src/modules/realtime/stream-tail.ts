import { streamOf, type EventEnvelope, type EventType } from '@tessera/contracts';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { sleep } from '../../platform/events/delivery';
import { REPLAY_FIELD } from '../../platform/events/redis-bus';
import { duplicateRedis } from '../../platform/redis';

/**
 * Follows the event streams from this process (XREAD, not a consumer group: every API process
 * must see every event to reach its own sockets). Starts at the streams' end; after a dropped
 * connection it continues from the last entry read, so nothing in between is lost.
 */
export class StreamTail {
  private abort = new AbortController();
  private loop: Promise<void> | null = null;
  private reader: Redis | null = null;
  /** Milliseconds between an entry's XADD and this process reading it, for the last entry read. */
  lagMs = 0;

  constructor(
    private readonly redis: Redis,
    private readonly types: readonly EventType[],
    private readonly keyPrefix: string,
    private readonly logger: Logger,
    /** `replayed`: the entry is a dead letter published again, which sockets saw the first time. */
    private readonly onEvent: (event: EventEnvelope, replayed: boolean) => void,
  ) {}

  async start(): Promise<void> {
    if (this.loop) return;
    this.abort = new AbortController();
    const streams = [...new Set(this.types.map((type) => this.keyPrefix + streamOf(type)))];
    const reader = (this.reader = duplicateRedis(this.redis, this.logger));
    // The starting point is taken now, so that events committed after start() are never missed.
    const positions = await Promise.all(
      streams.map(async (stream) => {
        const last = (await this.redis.xrevrange(stream, '+', '-', 'COUNT', 1)) as [string, string[]][];
        return last[0]?.[0] ?? '0-0';
      }),
    );
    this.loop = this.follow(reader, streams, positions, this.abort.signal);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.reader?.disconnect();
    await this.loop;
    this.loop = null;
    this.reader = null;
  }

  private async follow(reader: Redis, streams: string[], positions: string[], signal: AbortSignal) {
    const wanted = new Set<string>(this.types);
    while (!signal.aborted) {
      try {
        const reply = await reader.xread('COUNT', 1000, 'BLOCK', 2000, 'STREAMS', ...streams, ...positions);
        for (const [stream, entries] of reply ?? []) {
          const index = streams.indexOf(stream);
          for (const [id, fields] of entries) {
            positions[index] = id;
            this.lagMs = Math.max(0, Date.now() - Number(id.split('-')[0]));
            const raw = fields[fields.indexOf('event') + 1];
            if (!raw) continue;
            const event = JSON.parse(raw) as EventEnvelope;
            if (wanted.has(event.type)) this.onEvent(event, fields.includes(REPLAY_FIELD));
          }
        }
      } catch (error) {
        if (signal.aborted) return;
        this.logger.error({ err: error }, 'realtime stream read failed');
        await sleep(500, signal);
      }
    }
  }
}
