import { streamOf, uuidv7, type EventDataMap, type EventEnvelope, type EventType } from '@tessera/contracts';
import type { Kysely } from 'kysely';
import type { DB } from '../../platform/db/tables';
import { withSystem, withTenant } from '../../platform/db/tenant';
import { SYSTEM_ACTOR } from '../../platform/events/outbox';

/** For tests: an event of a given type and data, dated when it happened. */
export type DatedEvent = {
  [T in EventType]: { type: T; data: EventDataMap[T]; at: Date };
}[EventType];

export async function insertTenant(db: Kysely<DB>, timeZone = 'UTC'): Promise<string> {
  const id = uuidv7();
  await withSystem(db, (tx) =>
    tx.insertInto('tenants').values({ id, name: 'Analytics test', time_zone: timeZone }).execute(),
  );
  return id;
}

/**
 * Writes events to the outbox exactly as addEvents does (same columns, same envelope), but dated
 * in the past, so that tests can spread them over hours and days. The relay publishes them in
 * the order given.
 */
export async function emitDated(
  db: Kysely<DB>,
  tenantId: string,
  events: DatedEvent[],
): Promise<EventEnvelope[]> {
  const envelopes: EventEnvelope[] = events.map((event) => ({
    id: uuidv7(event.at.getTime()),
    type: event.type,
    tenant_id: tenantId,
    occurred_at: event.at.toISOString(),
    version: 1,
    actor: SYSTEM_ACTOR,
    data: event.data,
  }));
  for (let i = 0; i < envelopes.length; i += 500) {
    const batch = envelopes.slice(i, i + 500);
    await withTenant(db, tenantId, (tx) =>
      tx
        .insertInto('outbox_events')
        .values(
          batch.map((envelope) => ({
            id: envelope.id,
            tenant_id: tenantId,
            type: envelope.type,
            stream: streamOf(envelope.type),
            payload: JSON.stringify(envelope),
          })),
        )
        .execute(),
    );
  }
  return envelopes;
}
