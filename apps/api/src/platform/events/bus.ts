import type { EventEnvelope, EventType } from '@tessera/contracts';
import type { Counter } from 'prom-client';
import type { Tx } from '../db/tenant';

/**
 * A consumer of domain events. Its handler runs in a transaction of the event's tenant, in which
 * the framework also records the event id in processed_events: a redelivered event is skipped,
 * so the handler's database effects happen exactly once.
 */
export interface Consumer {
  /** Stable name: the consumer group, and the key of its processed_events rows. */
  name: string;
  /** The event types it wants; others on the same streams are acknowledged and skipped. */
  types: readonly EventType[];
  /**
   * Whether it has anything to do with an event of its types, told from the event alone: one it
   * does not accept is skipped without a transaction. The answer must depend on the event only,
   * so that a redelivery is skipped alike.
   */
  accepts?(event: EventEnvelope): boolean;
  handle(event: EventEnvelope, tx: Tx): Promise<void>;
  /** Several events of one tenant at once, in order, when the consumer can do better than one by one. */
  handleBatch?(events: EventEnvelope[], tx: Tx): Promise<void>;
}

/** Where the relay publishes committed events and consumers read them. */
export interface EventBus {
  readonly kind: 'redis' | 'in-process';
  /** Events dead-lettered by this process, by consumer (tessera_events_dead_lettered_total). */
  readonly deadLettered: Counter<'consumer'>;
  /**
   * `replay`: the events went out before and come again for a consumer that failed on them (dead
   * letters); the stream entries say so, and what only fans events out (WebSockets) skips them.
   */
  publish(events: EventEnvelope[], options?: { replay?: boolean }): Promise<void>;
  register(consumer: Consumer): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}
