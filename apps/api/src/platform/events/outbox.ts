import { sql } from 'kysely';
import {
  streamOf,
  uuidv7,
  type EventActor,
  type EventDataMap,
  type EventEnvelope,
  type EventType,
} from '@tessera/contracts';
import type { Tx } from '../db/tenant';

export const OUTBOX_CHANNEL = 'tessera_outbox';

/** An event to add; `data` is checked against the type's shape in the contracts. */
export type NewEvent = {
  [T in EventType]: { type: T; tenantId: string; actor: EventActor; data: EventDataMap[T]; version?: number };
}[EventType];

export const SYSTEM_ACTOR: EventActor = { type: 'system', id: null };
export const userActor = (userId: string): EventActor => ({ type: 'user', id: userId });

/**
 * Adds events to the outbox inside the caller's transaction: they are published if and only if
 * the business rows commit. The NOTIFY, too, is delivered only on commit, and wakes the relay.
 */
export async function addEvents(tx: Tx, events: NewEvent[]): Promise<EventEnvelope[]> {
  if (events.length === 0) return [];
  const now = new Date();
  const envelopes: EventEnvelope[] = events.map((event) => ({
    id: uuidv7(now.getTime()),
    type: event.type,
    tenant_id: event.tenantId,
    occurred_at: now.toISOString(),
    version: event.version ?? 1,
    actor: event.actor,
    data: event.data,
  }));
  await tx
    .insertInto('outbox_events')
    .values(
      envelopes.map((envelope) => ({
        id: envelope.id,
        tenant_id: envelope.tenant_id,
        type: envelope.type,
        stream: streamOf(envelope.type),
        payload: JSON.stringify(envelope),
        created_at: now,
      })),
    )
    .execute();
  await sql`select pg_notify(${OUTBOX_CHANNEL}, '')`.execute(tx);
  return envelopes;
}

export async function addEvent(tx: Tx, event: NewEvent): Promise<EventEnvelope> {
  const [envelope] = await addEvents(tx, [event]);
  return envelope!;
}
