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

/** The envelope addEvents would make for an event of the tenant's, dated `at`. */
export function envelopeAt<T extends EventType>(
  tenantId: string,
  type: T,
  at: Date,
  data: EventDataMap[T],
): EventEnvelope {
  return {
    id: uuidv7(at.getTime()),
    type,
    tenant_id: tenantId,
    occurred_at: at.toISOString(),
    version: 1,
    actor: SYSTEM_ACTOR,
    data,
  };
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
  const envelopes = events.map((event) => envelopeAt(tenantId, event.type, event.at, event.data));
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
