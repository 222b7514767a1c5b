import { streamOf, type EventEnvelope } from '@tessera/contracts';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { DB } from '../db/tables';
import type { Consumer, EventBus } from './bus';
import { applyBatch, applyOnce, deadLetterCounter, recordDeadLetter, sleep } from './delivery';

export interface InProcessBusOptions {
  maxAttempts: number;
  retryBaseMs: number;
}

/**
 * The embedded default's bus: publish delivers to every consumer before it returns, and the relay
 * marks events published only after that, so a crash redelivers and processed_events dedupes.
 */
export class InProcessBus implements EventBus {
  readonly kind = 'in-process' as const;
  private readonly consumers: Consumer[] = [];
  readonly deadLettered = deadLetterCounter();

  constructor(
    private readonly db: Kysely<DB>,
    private readonly logger: Logger,
    private readonly options: InProcessBusOptions,
  ) {}

  register(consumer: Consumer): void {
    this.consumers.push(consumer);
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  async publish(events: EventEnvelope[]): Promise<void> {
    for (const consumer of this.consumers) {
      for (const { event } of await applyBatch(this.db, consumer, events))
        await this.deliver(consumer, event);
    }
  }

  private async deliver(consumer: Consumer, event: EventEnvelope): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await applyOnce(this.db, consumer, event);
        return;
      } catch (error) {
        this.logger.warn(
          { err: error, consumer: consumer.name, event_id: event.id, attempt },
          'consumer failed',
        );
        if (attempt >= this.options.maxAttempts) {
          await recordDeadLetter(
            this.db,
            this.deadLettered,
            consumer,
            streamOf(event.type),
            event,
            error,
            attempt,
          );
          return;
        }
        await sleep(this.options.retryBaseMs * 2 ** (attempt - 1));
      }
    }
  }
}
