import type { EventEnvelope, RealtimeChannel } from '@tessera/contracts';
import { sql, type Kysely } from 'kysely';
import type { DB } from '../../platform/db/tables';
import { withTenantRead } from '../../platform/db/tenant';
import { CHANNEL_EVENT_TYPES } from './channels';

export type ReplayResult =
  { kind: 'events'; events: EventEnvelope[]; unpublished: string[] } | { kind: 'gap'; reason: string };

interface ReplayRow {
  payload: EventEnvelope;
  published: boolean;
}

/**
 * The events of a channel that went out after `lastEventId`, read from the outbox: it holds every
 * committed event for its retention period, in one place every API process sees, and row-level
 * security keeps it to the caller's tenant. They are read in the order the relay published them
 * (its batch number, then seq), the order live sockets receive them in, and not in seq order: a row
 * numbered before `lastEventId` can commit, and go out, after it. Then come the rows not published
 * yet. An id that is unknown (another tenant's, or pruned) or more than `limit` events behind is a
 * gap: the client must refetch.
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
      .select(['seq', 'published_at', 'published_batch'])
      .where('id', '=', lastEventId)
      .executeTakeFirst();
    if (!from) return { kind: 'gap', reason: 'The event is unknown or older than the replay window' };
    const types = [...CHANNEL_EVENT_TYPES[channel]];
    // Three parts, in the order they went out: rows published before migration 0018 (no batch;
    // only when the resume point is one of them), numbered batches, then the rows not published
    // yet. A resume point not marked yet (its batch is on its way, or its relay stopped before
    // marking it) follows everything marked, and no unmarked row can be told apart as seen.
    const published = from.published_at !== null;
    const unnumberedAfter =
      published && from.published_batch === null
        ? sql`published_batch is null and published_at is not null and seq > ${from.seq}`
        : sql`false`;
    const numberedAfter = !published
      ? sql`false`
      : from.published_batch === null
        ? sql`published_batch is not null`
        : sql`published_batch is not null and (published_batch, seq) > (${from.published_batch}, ${from.seq})`;
    const { rows } = await sql<ReplayRow>`
      select payload, part < 2 as published from (
        (select payload, 0 as part, published_batch, seq from outbox_events
         where ${unnumberedAfter} and type = any(${types}::text[])
         order by seq limit ${limit + 1})
        union all
        (select payload, 1, published_batch, seq from outbox_events
         where ${numberedAfter} and type = any(${types}::text[])
         order by published_batch, seq limit ${limit + 1})
        union all
        (select payload, 2, null, seq from outbox_events
         where published_at is null and id <> ${lastEventId} and type = any(${types}::text[])
         order by seq limit ${limit + 1})
      ) missed
      order by part, published_batch, seq`.execute(tx);
    if (rows.length > limit) return { kind: 'gap', reason: `More than ${limit} events were missed; refetch` };
    return {
      kind: 'events',
      events: rows.map((row) => row.payload),
      unpublished: rows.filter((row) => !row.published).map((row) => row.payload.id),
    };
  });
}
