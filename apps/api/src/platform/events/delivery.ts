import type { EventEnvelope } from '@tessera/contracts';
import type { Kysely } from 'kysely';
import type { DB } from '../db/tables';
import { withSystem, withTenant } from '../db/tenant';
import type { Consumer } from './bus';

export type DeliveryOutcome = 'applied' | 'duplicate' | 'skipped';

/**
 * Applies one event to one consumer exactly once: the processed_events row and the handler's
 * effects commit together, so a redelivery finds the row and does nothing.
 */
export async function applyOnce(
  db: Kysely<DB>,
  consumer: Consumer,
  event: EventEnvelope,
): Promise<DeliveryOutcome> {
  if (!consumer.types.includes(event.type)) return 'skipped';
  return withTenant(db, event.tenant_id, async (tx) => {
    const claimed = await tx
      .insertInto('processed_events')
      .values({ consumer: consumer.name, event_id: event.id })
      .onConflict((conflict) => conflict.doNothing())
      .returning('event_id')
      .executeTakeFirst();
    if (!claimed) return 'duplicate';
    await consumer.handle(event, tx);
    return 'applied';
  });
}

export async function recordDeadLetter(
  db: Kysely<DB>,
  consumer: Consumer,
  stream: string,
  event: EventEnvelope,
  error: unknown,
  attempts: number,
): Promise<void> {
  await withSystem(db, (tx) =>
    tx
      .insertInto('dead_letters')
      .values({
        consumer: consumer.name,
        event_id: event.id,
        stream,
        payload: JSON.stringify(event),
        error: error instanceof Error ? error.message : String(error),
        attempts,
      })
      .execute(),
  );
}

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    // The abort listener goes away with the timer, so loops that sleep often do not pile them up.
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
