import type { EventEnvelope } from '@tessera/contracts';
import type { Kysely } from 'kysely';
import type { DB } from '../db/tables';
import type { EventBus } from './bus';

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
    await bus.publish(rows.map((row) => row.payload as EventEnvelope));
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
