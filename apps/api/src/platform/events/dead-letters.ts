import type { EventEnvelope } from '@tessera/contracts';
import type { Kysely } from 'kysely';
import type { DB } from '../db/tables';
import type { EventBus } from './bus';

/** Dead letters not replayed yet, by consumer (the partial index dead_letters_pending holds just these). */
export async function countUnreplayedDeadLetters(
  db: Kysely<DB>,
): Promise<{ consumer: string; count: number }[]> {
  const rows = await db
    .selectFrom('dead_letters')
    .select((eb) => ['consumer', eb.fn.countAll<string>().as('count')])
    .where('replayed_at', 'is', null)
    .groupBy('consumer')
    .execute();
  return rows.map((row) => ({ consumer: row.consumer, count: Number(row.count) }));
}

export interface DeadLetterReplay {
  replayed: number;
}

/**
 * Republishes the dead letters not yet replayed (of one consumer, or all) and marks them. Every
 * consumer of the stream sees the event again; those that had applied it skip it (processed_events).
 */
export async function replayDeadLetters(
  db: Kysely<DB>,
  bus: EventBus,
  options: { consumer?: string; batchSize?: number } = {},
): Promise<DeadLetterReplay> {
  let replayed = 0;
  for (;;) {
    let query = db
      .selectFrom('dead_letters')
      .select(['id', 'payload'])
      .where('replayed_at', 'is', null)
      .orderBy('id')
      .limit(options.batchSize ?? 200);
    if (options.consumer) query = query.where('consumer', '=', options.consumer);
    const rows = await query.execute();
    if (rows.length === 0) return { replayed };
    await bus.publish(
      rows.map((row) => row.payload as EventEnvelope),
      { replay: true },
    );
    await db
      .updateTable('dead_letters')
      .set({ replayed_at: new Date() })
      .where(
        'id',
        'in',
        rows.map((row) => row.id),
      )
      .execute();
    replayed += rows.length;
  }
}
