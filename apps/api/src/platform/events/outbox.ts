import { sql, type Kysely } from 'kysely';
import {
  streamOf,
  uuidv7,
  type EventActor,
  type EventDataMap,
  type EventEnvelope,
  type EventType,
} from '@tessera/contracts';
import { COMMITS_TRANSACTION } from '../db/pg-client';
import type { DB } from '../db/tables';
import { transactionHooks, type Tx } from '../db/tenant';

export const OUTBOX_CHANNEL = 'tessera_outbox';

/** An event to add; `data` is checked against the type's shape in the contracts. */
export type NewEvent = {
  [T in EventType]: { type: T; tenantId: string; actor: EventActor; data: EventDataMap[T]; version?: number };
}[EventType];

export const SYSTEM_ACTOR: EventActor = { type: 'system', id: null };
export const userActor = (userId: string): EventActor => ({ type: 'user', id: userId });

/** Events added in a transaction, written to the outbox in one statement just before it commits. */
const pendingOf = new WeakMap<Tx, EventEnvelope[]>();

/**
 * Adds events to the outbox of the caller's transaction (opened by withTenant or withSystem): they
 * are published if and only if the business rows commit. They are written in one insert at the
 * end of the transaction, whatever the number of calls, so that row locks the transaction took
 * (an order counter, stock rows) are held for as few round trips as possible; once it commits,
 * the relay is woken.
 */
export function addEvents(tx: Tx, events: NewEvent[]): EventEnvelope[] {
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
  let pending = pendingOf.get(tx);
  if (!pending) {
    const hooks = transactionHooks(tx);
    const rows: EventEnvelope[] = [];
    pendingOf.set(tx, rows);
    hooks.beforeCommit.push((tx, final) => writeOutbox(tx, rows, final));
    hooks.afterCommit.push(wakeRelay);
    pending = rows;
  }
  pending.push(...envelopes);
  return envelopes;
}

export function addEvent(tx: Tx, event: NewEvent): EventEnvelope {
  return addEvents(tx, [event])[0]!;
}

async function writeOutbox(tx: Tx, envelopes: EventEnvelope[], final: boolean): Promise<void> {
  const insert = tx.insertInto('outbox_events').values(
    envelopes.map((envelope) => ({
      id: envelope.id,
      tenant_id: envelope.tenant_id,
      type: envelope.type,
      stream: streamOf(envelope.type),
      payload: JSON.stringify(envelope),
      created_at: new Date(envelope.occurred_at),
    })),
  );
  await (final ? insert.modifyEnd(sql.raw(COMMITS_TRANSACTION)) : insert).execute();
}

/** Whether a NOTIFY is on its way, and whether another commit asked for one meanwhile. */
interface Wakeup {
  sending: boolean;
  again: boolean;
}
const wakeupOf = new WeakMap<Kysely<DB>, Wakeup>();

/** The relay leading in this process, on this database handle: woken by a call, not a NOTIFY. */
const localRelayOf = new WeakMap<Kysely<DB>, () => void>();

/**
 * For the relay while it leads: commits on `db` in this process wake it directly, which spares each
 * a NOTIFY and its round trip. Answers the call that ends this.
 */
export function wakeLocally(db: Kysely<DB>, wake: () => void): () => void {
  localRelayOf.set(db, wake);
  return () => {
    if (localRelayOf.get(db) === wake) localRelayOf.delete(db);
  };
}

/**
 * Wakes the relay: directly when it leads in this process, otherwise (it leads in another) with a
 * NOTIFY sent after the commit, outside the transaction: a NOTIFY inside one would make PostgreSQL
 * serialize every notifying commit behind one database-wide lock. Commits arriving while a NOTIFY
 * is on its way share the next one. A lost NOTIFY only delays publishing until the relay's next poll.
 */
function wakeRelay(db: Kysely<DB>): void {
  const local = localRelayOf.get(db);
  if (local) {
    local();
    return;
  }
  let wakeup = wakeupOf.get(db);
  if (!wakeup) {
    wakeup = { sending: false, again: false };
    wakeupOf.set(db, wakeup);
  }
  if (wakeup.sending) {
    wakeup.again = true;
    return;
  }
  wakeup.sending = true;
  const state = wakeup;
  void (async () => {
    do {
      state.again = false;
      await sql`select pg_notify(${OUTBOX_CHANNEL}, '')`.execute(db).catch(() => undefined);
    } while (state.again);
    state.sending = false;
  })();
}
