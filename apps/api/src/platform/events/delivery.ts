import { firstUuidv7At, type EventEnvelope } from '@tessera/contracts';
import { sql, type Kysely } from 'kysely';
import { Counter } from 'prom-client';
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
  if (!wants(consumer, event)) return 'skipped';
  return (await applyRun(db, consumer, [event])) ? 'applied' : 'duplicate';
}

function wants(consumer: Consumer, event: EventEnvelope): boolean {
  return consumer.types.includes(event.type) && (consumer.accepts?.(event) ?? true);
}

export interface FailedDelivery {
  event: EventEnvelope;
  error: unknown;
}

/**
 * Applies a batch of events to one consumer, each exactly once, in order: a run of consecutive
 * events of one tenant shares one transaction (one commit instead of one per event). When a run
 * fails, its events are applied one at a time, so that one bad event holds back only itself.
 * Resolves to the events that could not be applied; the caller retries them.
 */
export async function applyBatch(
  db: Kysely<DB>,
  consumer: Consumer,
  events: readonly EventEnvelope[],
): Promise<FailedDelivery[]> {
  const failed: FailedDelivery[] = [];
  // A republished event can arrive twice in one batch; it takes effect once.
  const wanted = [...new Map(events.map((event) => [event.id, event])).values()].filter((event) =>
    wants(consumer, event),
  );
  for (const run of tenantRuns(wanted)) {
    try {
      await applyRun(db, consumer, run);
    } catch (error) {
      if (run.length === 1) {
        failed.push({ event: run[0]!, error });
        continue;
      }
      for (const event of run) {
        try {
          await applyOnce(db, consumer, event);
        } catch (error) {
          failed.push({ event, error });
        }
      }
    }
  }
  return failed;
}

/**
 * Applies events of one tenant in one transaction, with their processed_events rows: those already
 * recorded are skipped. Resolves to how many took effect.
 */
async function applyRun(db: Kysely<DB>, consumer: Consumer, run: EventEnvelope[]): Promise<number> {
  return withTenant(db, run[0]!.tenant_id, async (tx) => {
    const claimed = await tx
      .insertInto('processed_events')
      .values(run.map((event) => ({ consumer: consumer.name, event_id: event.id })))
      .onConflict((conflict) => conflict.doNothing())
      .returning('event_id')
      .execute();
    const fresh = new Set(claimed.map((row) => row.event_id));
    const todo = run.filter((event) => fresh.has(event.id));
    if (todo.length === 0) return 0;
    if (consumer.handleBatch) await consumer.handleBatch(todo, tx);
    else for (const event of todo) await consumer.handle(event, tx);
    return todo.length;
  });
}

/**
 * Deletes processed_events rows recorded before `before`, a consumer and a batch at a time, and
 * resolves to how many went. No delivery of such an event can come any more: the bus redelivers
 * an unacknowledged event within minutes. A dead letter not replayed yet keeps its rows, since its
 * replay goes to every consumer of the stream and those that applied it must skip it.
 * Event ids are version 7 UUIDs, made before the event is processed: the primary key finds the
 * old rows by id, and `processed_at` keeps those a lagging consumer recorded lately.
 */
export async function pruneProcessedEvents(db: Kysely<DB>, before: Date, batchSize = 5_000): Promise<number> {
  // The consumers, by a walk down the primary key: one index probe each, not a scan of the table.
  const consumers = await sql<{ consumer: string }>`
    with recursive consumers as (
      (select consumer from processed_events order by consumer limit 1)
      union all
      select (select p.consumer from processed_events p where p.consumer > c.consumer order by p.consumer limit 1)
      from consumers c where c.consumer is not null
    )
    select consumer from consumers where consumer is not null`.execute(db);
  const below = firstUuidv7At(before.getTime());
  let pruned = 0;
  for (const { consumer } of consumers.rows) {
    for (;;) {
      const result = await sql`
        delete from processed_events
        where consumer = ${consumer} and event_id in (
          select p.event_id from processed_events p
          where p.consumer = ${consumer} and p.event_id < ${below}::uuid and p.processed_at < ${before}
            and not exists (
              select 1 from dead_letters d where d.event_id = p.event_id and d.replayed_at is null
            )
          order by p.event_id
          limit ${batchSize}
        )`.execute(db);
      const deleted = Number(result.numAffectedRows ?? 0);
      pruned += deleted;
      if (deleted < batchSize) break;
    }
  }
  return pruned;
}

function tenantRuns(events: EventEnvelope[]): EventEnvelope[][] {
  const runs: EventEnvelope[][] = [];
  for (const event of events) {
    const last = runs.at(-1);
    if (last && last[0]!.tenant_id === event.tenant_id) last.push(event);
    else runs.push([event]);
  }
  return runs;
}

/**
 * The events a bus gave up on, by consumer: each bus counts its own, and the app's metrics
 * registry exposes it.
 */
export function deadLetterCounter(): Counter<'consumer'> {
  return new Counter({
    name: 'tessera_events_dead_lettered_total',
    help: 'Events this process dead-lettered after their last failed delivery, by consumer',
    labelNames: ['consumer'],
    registers: [],
  });
}

export async function recordDeadLetter(
  db: Kysely<DB>,
  deadLettered: Counter<'consumer'>,
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
  deadLettered.inc({ consumer: consumer.name });
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
