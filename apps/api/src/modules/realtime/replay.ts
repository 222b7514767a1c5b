import type { EventEnvelope, RealtimeChannel } from '@tessera/contracts';
import type { Kysely } from 'kysely';
import type { DB } from '../../platform/db/tables';
import { withTenantRead } from '../../platform/db/tenant';
import { CHANNEL_EVENT_TYPES } from './channels';

export type ReplayResult =
  { kind: 'events'; events: EventEnvelope[]; unpublished: string[] } | { kind: 'gap'; reason: string };

/**
 * The events of a channel committed after `lastEventId`, read from the outbox: it holds every
 * committed event in commit order (seq) for its retention period, in one place every API process
 * sees, and row-level security keeps it to the caller's tenant. An id that is unknown (another
 * tenant's, or pruned) or more than `limit` events behind is a gap: the client must refetch.
 */
export async function missedEvents(
  db: Kysely<DB>,
  tenantId: string,
  channel: Exclude<RealtimeChannel, 'dashboard'>,
  lastEventId: string,
  limit: number,
): Promise<ReplayResult> {
  return withTenantRead(db, tenantId, async (tx) => {
    const from = await tx
      .selectFrom('outbox_events')
      .select('seq')
      .where('id', '=', lastEventId)
      .executeTakeFirst();
    if (!from) return { kind: 'gap', reason: 'The event is unknown or older than the replay window' };
    const rows = await tx
      .selectFrom('outbox_events')
      .select(['payload', 'published_at'])
      .where('seq', '>', from.seq)
      .where('type', 'in', [...CHANNEL_EVENT_TYPES[channel]])
      .orderBy('seq')
      .limit(limit + 1)
      .execute();
    if (rows.length > limit) return { kind: 'gap', reason: `More than ${limit} events were missed; refetch` };
    return {
      kind: 'events',
      events: rows.map((row) => row.payload as EventEnvelope),
      unpublished: rows
        .filter((row) => row.published_at === null)
        .map((row) => (row.payload as EventEnvelope).id),
    };
  });
}
