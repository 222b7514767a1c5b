import os from 'node:os';
import { streamOf, type EventEnvelope } from '@tessera/contracts';
import type { ChainableCommander, Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { DB } from '../db/tables';
import type { Consumer, EventBus } from './bus';
import {
  applyBatch,
  applyOnce,
  deadLetterCounter,
  recordDeadLetter,
  sleep,
  type FailedDelivery,
} from './delivery';
import { duplicateRedis } from '../redis';

export interface RedisBusOptions {
  maxAttempts: number;
  /** A pending entry is retried (or taken from a dead consumer) after this idle time, doubling per attempt. */
  retryBaseMs: number;
  blockMs?: number;
  batchSize?: number;
  /**
   * After a read that found entries, none of its streams full, wait this long before the next:
   * under load the next read then takes what arrived meanwhile in one batch (one transaction, one
   * acknowledgement) instead of one small batch per commit. An event after a quiet spell is read
   * at once, and a backlog without pause.
   */
  lingerMs?: number;
  /** Approximate cap on each stream's length (XADD MAXLEN ~). */
  maxStreamLength?: number;
  consumerId?: string;
  /**
   * Another process's consumer that has held no pending entry and been idle this long is deleted
   * from its group (its process has most likely died). Default one hour.
   */
  staleConsumerMs?: number;
  /** Prepended to every stream name (REDIS_KEY_PREFIX). */
  keyPrefix?: string;
}

type StreamEntry = [id: string, fields: string[]];
type ReadReply = [stream: string, entries: StreamEntry[]][] | null;
type PendingEntry = [id: string, consumer: string, idleMs: number, deliveries: number];
/** An XINFO CONSUMERS row: field names and values, alternating. */
type ConsumerInfo = (string | number)[];

/**
 * Deletes a consumer from its group only if it holds no pending entry, in one step: XGROUP
 * DELCONSUMER drops a consumer's pending entries from the group for good, and an entry read
 * between a separate check and the delete would be lost. Answers -1 when the consumer was kept.
 */
const DELETE_IF_EMPTY = `
if #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2]) > 0 then return -1 end
return redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])`;

const STALE_CONSUMER_MS = 3_600_000;

/** The field that marks a stream entry as a replay of an event published before. */
export const REPLAY_FIELD = 'replay';

const eventOf = (fields: string[]): EventEnvelope | null => {
  const index = fields.indexOf('event');
  const raw = index >= 0 ? fields[index + 1] : undefined;
  return raw ? (JSON.parse(raw) as EventEnvelope) : null;
};

const inFlightKey = (consumer: Consumer, stream: string, id: string) =>
  `${consumer.name}\u0000${stream}\u0000${id}`;

/**
 * Redis Streams: one stream per domain, one consumer group per consumer. Entries are acknowledged
 * after the handler's transaction commits; entries left pending (a failure, or a consumer that
 * died) are claimed again after an idle time that doubles with each delivery, and go to the
 * dead letters after maxAttempts.
 */
export class RedisStreamsBus implements EventBus {
  readonly kind = 'redis' as const;
  private readonly consumers: Consumer[] = [];
  private readonly readers: Redis[] = [];
  private readonly loops: Promise<void>[] = [];
  /** The groups this process reads as its consumerId since start(), with their streams. */
  private readonly groups: { consumer: Consumer; streams: string[] }[] = [];
  private abort = new AbortController();
  /**
   * Entries this process has read and is still applying (consumer, stream and id): the claim loop
   * leaves them alone however long they take, since claiming one would only wait for the read's
   * transaction and then find it done.
   */
  private readonly inFlight = new Set<string>();
  readonly consumerId: string;
  readonly deadLettered = deadLetterCounter();

  constructor(
    private readonly redis: Redis,
    private readonly db: Kysely<DB>,
    private readonly logger: Logger,
    private readonly options: RedisBusOptions,
  ) {
    this.consumerId =
      options.consumerId ?? `${os.hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  }

  private key(stream: string): string {
    return (this.options.keyPrefix ?? '') + stream;
  }

  register(consumer: Consumer): void {
    this.consumers.push(consumer);
  }

  async publish(events: EventEnvelope[], options: { replay?: boolean } = {}): Promise<void> {
    if (events.length === 0) return;
    const maxLength = this.options.maxStreamLength ?? 100_000;
    const marks = options.replay ? [REPLAY_FIELD, '1'] : [];
    const pipeline = this.redis.pipeline();
    for (const event of events) {
      pipeline.xadd(
        this.key(streamOf(event.type)),
        'MAXLEN',
        '~',
        maxLength,
        '*',
        'event',
        JSON.stringify(event),
        ...marks,
      );
    }
    await execAll(pipeline);
  }

  async start(): Promise<void> {
    this.abort = new AbortController();
    for (const consumer of this.consumers) {
      const streams = streamsOf(consumer).map((stream) => this.key(stream));
      for (const stream of streams) await this.ensureGroup(stream, consumer.name);
      this.groups.push({ consumer, streams });
      const reader = duplicateRedis(this.redis, this.logger);
      this.readers.push(reader);
      this.loops.push(this.readLoop(consumer, streams, reader), this.claimLoop(consumer, streams));
    }
  }

  /**
   * Stops reading, waits for the batches in hand, then leaves each group: a consumer name is new at
   * every start, so one left behind would stay in the group forever. A consumer still holding
   * pending entries stays until another process has claimed them (the sweep then deletes it).
   */
  async stop(): Promise<void> {
    this.abort.abort();
    for (const reader of this.readers) reader.disconnect();
    await Promise.allSettled(this.loops);
    this.readers.length = 0;
    this.loops.length = 0;
    // All at once: with Redis out of reach each waits for its retries, and shutdown has a deadline.
    const leaving = this.groups.splice(0).flatMap(({ consumer, streams }) =>
      streams.map((stream) =>
        this.deleteConsumerIfEmpty(stream, consumer.name, this.consumerId).catch((error: unknown) => {
          this.logger.warn(
            { err: error, consumer: consumer.name, stream },
            'could not leave the consumer group',
          );
        }),
      ),
    );
    await Promise.all(leaving);
  }

  private async deleteConsumerIfEmpty(stream: string, group: string, name: string): Promise<boolean> {
    return Number(await this.redis.eval(DELETE_IF_EMPTY, 1, stream, group, name)) >= 0;
  }

  private async ensureGroup(stream: string, group: string): Promise<void> {
    try {
      // From the stream's start: a new consumer also sees what was published before it existed.
      await this.redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
    } catch (error) {
      if (!(error instanceof Error && error.message.includes('BUSYGROUP'))) throw error;
    }
  }

  private async readLoop(consumer: Consumer, streams: string[], reader: Redis): Promise<void> {
    const signal = this.abort.signal;
    const batchSize = this.options.batchSize ?? 100;
    while (!signal.aborted) {
      try {
        const reply = (await reader.xreadgroup(
          'GROUP',
          consumer.name,
          this.consumerId,
          'COUNT',
          batchSize,
          'BLOCK',
          this.options.blockMs ?? 1000,
          'STREAMS',
          ...streams,
          ...streams.map(() => '>'),
        )) as ReadReply;
        // Stopping leaves the read pending, for this or another consumer to claim.
        if (reply && !signal.aborted) {
          const read = reply.flatMap(([stream, entries]) =>
            entries.map(([id]) => inFlightKey(consumer, stream, id)),
          );
          for (const key of read) this.inFlight.add(key);
          try {
            await this.processBatch(consumer, reply);
          } finally {
            for (const key of read) this.inFlight.delete(key);
          }
          const full = reply.some(([, entries]) => entries.length === batchSize);
          if (this.options.lingerMs && !full) await sleep(this.options.lingerMs, signal);
        }
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof Error && error.message.includes('NOGROUP')) {
          for (const stream of streams) await this.ensureGroup(stream, consumer.name).catch(() => undefined);
        } else {
          this.logger.error({ err: error, consumer: consumer.name }, 'stream read failed');
        }
        await sleep(500, signal);
      }
    }
  }

  private async claimLoop(consumer: Consumer, streams: string[]): Promise<void> {
    const signal = this.abort.signal;
    const base = this.options.retryBaseMs;
    const staleMs = this.options.staleConsumerMs ?? STALE_CONSUMER_MS;
    let lastSweep = 0;
    while (!signal.aborted) {
      await sleep(Math.max(50, Math.min(base, 5000)), signal);
      if (signal.aborted) return;
      // At most once a minute: XINFO lists every consumer of the group, and staleness takes an hour.
      const sweep = Date.now() - lastSweep >= Math.min(staleMs, 60_000);
      if (sweep) lastSweep = Date.now();
      for (const stream of streams) {
        if (sweep) {
          try {
            await this.sweepStaleConsumers(consumer, stream, staleMs);
          } catch (error) {
            if (!signal.aborted)
              this.logger.error({ err: error, consumer: consumer.name, stream }, 'consumer sweep failed');
          }
        }
        try {
          await this.retryPending(consumer, stream, base);
        } catch (error) {
          if (!signal.aborted)
            this.logger.error({ err: error, consumer: consumer.name, stream }, 'claim failed');
        }
      }
    }
  }

  /**
   * Deletes the consumers of the group that have long been idle with nothing pending: those of
   * processes that died without leaving it. One whose process is alive but saw no entry meanwhile
   * (Redis before 7.2 counts idleness from the last delivery) loses nothing: its next read or claim
   * creates it again.
   */
  private async sweepStaleConsumers(consumer: Consumer, stream: string, staleMs: number): Promise<void> {
    const rows = (await this.redis.xinfo('CONSUMERS', stream, consumer.name)) as ConsumerInfo[];
    for (const row of rows) {
      const info = new Map<string, string | number>();
      for (let i = 0; i + 1 < row.length; i += 2) info.set(String(row[i]), row[i + 1]!);
      const name = String(info.get('name'));
      if (name === this.consumerId || Number(info.get('pending')) > 0) continue;
      if (Number(info.get('idle')) < staleMs) continue;
      if (await this.deleteConsumerIfEmpty(stream, consumer.name, name))
        this.logger.info({ consumer: consumer.name, stream, stale: name }, 'deleted a stale stream consumer');
    }
  }

  private async retryPending(consumer: Consumer, stream: string, base: number): Promise<void> {
    const pending = (await this.redis.xpending(
      stream,
      consumer.name,
      'IDLE',
      base,
      '-',
      '+',
      100,
    )) as PendingEntry[];
    for (const [id, owner, idleMs, deliveries] of pending) {
      if (idleMs < base * 2 ** Math.max(0, deliveries - 1)) continue;
      if (owner === this.consumerId && this.inFlight.has(inFlightKey(consumer, stream, id))) continue;
      const claimed = (await this.redis.xclaim(
        stream,
        consumer.name,
        this.consumerId,
        base,
        id,
      )) as StreamEntry[];
      for (const [claimedId, fields] of claimed) {
        if (!fields) continue;
        if (deliveries >= this.options.maxAttempts) {
          const event = eventOf(fields);
          if (event) {
            await recordDeadLetter(
              this.db,
              this.deadLettered,
              consumer,
              stream.slice(this.key('').length),
              event,
              'exceeded delivery attempts',
              deliveries,
            );
            this.logger.error({ consumer: consumer.name, event_id: event.id }, 'event dead-lettered');
          }
          await this.redis.xack(stream, consumer.name, claimedId);
        } else {
          await this.process(consumer, stream, claimedId, fields);
        }
      }
    }
  }

  /**
   * Applies what one read returned, from all its streams at once (an order's events span the
   * commerce and inventory streams: one transaction for both, not one each), stream after stream as
   * read, and acknowledges every entry that took effect, in one round trip.
   */
  private async processBatch(consumer: Consumer, reply: NonNullable<ReadReply>): Promise<void> {
    const read = reply.flatMap(([stream, entries]) =>
      entries.map(([id, fields]) => ({ stream, id, event: eventOf(fields) })),
    );
    let failed: FailedDelivery[];
    try {
      failed = await applyBatch(
        this.db,
        consumer,
        read.flatMap(({ event }) => (event ? [event] : [])),
      );
    } catch (error) {
      this.logger.warn({ err: error, consumer: consumer.name }, 'consumer failed');
      return;
    }
    for (const { event, error } of failed) {
      // Left pending: the claim loop retries it after a backoff.
      this.logger.warn({ err: error, consumer: consumer.name, event_id: event.id }, 'consumer failed');
    }
    const failedIds = new Set(failed.map(({ event }) => event.id));
    const done = new Map<string, string[]>();
    for (const { stream, id, event } of read) {
      if (event && failedIds.has(event.id)) continue;
      const ids = done.get(stream) ?? [];
      ids.push(id);
      done.set(stream, ids);
    }
    const acks = this.redis.pipeline();
    for (const [stream, ids] of done) acks.xack(stream, consumer.name, ...ids);
    if (acks.length) await execAll(acks);
  }

  private async process(consumer: Consumer, stream: string, id: string, fields: string[]): Promise<void> {
    const event = eventOf(fields);
    try {
      if (event) await applyOnce(this.db, consumer, event);
      await this.redis.xack(stream, consumer.name, id);
    } catch (error) {
      // Left pending: the claim loop retries it after a backoff.
      this.logger.warn(
        { err: error, consumer: consumer.name, event_id: event?.id, entry: id },
        'consumer failed',
      );
    }
  }
}

/** Sends a pipeline and throws its first failed command's error. */
async function execAll(pipeline: ChainableCommander): Promise<void> {
  const results = (await pipeline.exec()) ?? [];
  const failure = results.find(([error]) => error)?.[0];
  if (failure) throw failure;
}

function streamsOf(consumer: Consumer): string[] {
  return [...new Set(consumer.types.map((type) => streamOf(type)))];
}
