import type { EventEnvelope } from '@tessera/contracts';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import { Counter } from 'prom-client';
import type { Database, Leadership } from '../db/database';
import type { EventBus } from './bus';
import { PLAN_EACH_TIME } from '../db/pg-client';
import { pruneProcessedEvents, sleep } from './delivery';
import { OUTBOX_CHANNEL, wakeLocally } from './outbox';

export interface RelayOptions {
  batchSize: number;
  pollMs: number;
  /**
   * After a batch short of batchSize, wait this long before the next: under load the next batch
   * then takes every commit of that time at once (one read, one publish, one update) instead of
   * one per commit. A commit after a quiet spell is published at once, and a backlog without pause.
   */
  lingerMs?: number;
  /** Published rows older than this are deleted. */
  retentionMs?: number;
  /** Consumers' processed_events rows older than this are deleted (pruneProcessedEvents). */
  processedRetentionMs?: number;
}

/**
 * How far below the highest published seq the relay still looks on its frequent reads. Rows are
 * numbered just before their transaction commits, so a row numbered this far behind is rare; the
 * periodic full read (FULL_READ_MS) publishes it all the same.
 */
const SEQ_MARGIN = 1_000;
const FULL_READ_MS = 2_000;

/**
 * Publishes committed outbox rows to the bus in seq order and marks them published, each batch with
 * its number. One relay leads at a time (a session advisory lock), which keeps the order; the
 * others wait to take over.
 * A crash between publishing and marking republishes the batch: delivery is at least once.
 */
export class OutboxRelay {
  private abort = new AbortController();
  private running: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  /** A NOTIFY that arrived while a batch was being published: the next idle() returns at once. */
  private notified = false;
  private lastPrune = 0;
  /**
   * Published rows stay in the table (for replay) and their index entries stay until a vacuum:
   * reading from a floor skips them, where a read from the start would walk them all.
   */
  private floor = 0;
  private lastFullRead = 0;
  /** Registered by the app's metrics; counted here, as batches go out. */
  readonly published = new Counter({
    name: 'tessera_outbox_published_total',
    help: 'Outbox events this process has published',
    registers: [],
  });

  constructor(
    private readonly database: Database,
    private readonly bus: EventBus,
    private readonly logger: Logger,
    private readonly options: RelayOptions,
  ) {}

  start(): void {
    if (this.running) return;
    this.abort = new AbortController();
    this.running = this.run(this.abort.signal).catch((error: unknown) => {
      this.logger.fatal({ err: error }, 'outbox relay stopped');
    });
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.nudge();
    await this.running;
    this.running = null;
  }

  /** Publishes everything committed so far; for tests and for the CLI. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const published = await this.publishBatch(true);
      total += published;
      if (published === 0) return total;
    }
  }

  /** Rows committed but not yet published: the relay's lag. */
  async backlog(): Promise<number> {
    const row = await this.database.db
      .selectFrom('outbox_events')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('published_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  /**
   * Seconds since the first event waiting to be published was written, 0 when none waits: how far
   * behind the relay is, whichever process leads it. One probe of outbox_events_unpublished; planned
   * each time, since a plan cached while the outbox was small could scan the whole table later.
   */
  async oldestUnpublishedAge(): Promise<number> {
    const result = await sql<{ age: number }>`${sql.raw(PLAN_EACH_TIME)}
      select extract(epoch from now() - created_at)::float8 as age
      from outbox_events where published_at is null order by seq limit 1`.execute(this.database.db);
    return Math.max(0, result.rows[0]?.age ?? 0);
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let leadership: Leadership | null = null;
      try {
        leadership = await this.database.tryLeadership('tessera.outbox-relay');
      } catch (error) {
        this.logger.error({ err: error }, 'outbox relay could not reach the database');
      }
      if (!leadership) {
        await sleep(this.options.pollMs, signal);
        continue;
      }
      try {
        await this.lead(leadership, signal);
      } finally {
        await leadership.release();
      }
    }
  }

  private async lead(leadership: Leadership, signal: AbortSignal): Promise<void> {
    let lost = false;
    void leadership.lost.then(() => {
      lost = true;
      this.nudge();
    });
    const unlisten = await this.database
      .listen(OUTBOX_CHANNEL, () => this.nudge())
      .catch((error: unknown) => {
        this.logger.warn({ err: error }, 'outbox LISTEN failed; polling only');
        return null;
      });
    const stopWakingLocally = wakeLocally(this.database.db, () => this.nudge());
    try {
      while (!signal.aborted && !lost) {
        let published = 0;
        try {
          published = await this.publishBatch();
          await this.pruneIfDue();
        } catch (error) {
          this.logger.error({ err: error }, 'outbox publish failed; retrying');
        }
        if (published === this.options.batchSize) continue;
        if (published > 0 && this.options.lingerMs) await sleep(this.options.lingerMs, signal);
        await this.idle(signal);
      }
    } finally {
      stopWakingLocally();
      await unlisten?.();
    }
  }

  private nudge(): void {
    if (this.wake) this.wake();
    else this.notified = true;
  }

  private idle(signal: AbortSignal): Promise<void> {
    if (this.notified) {
      this.notified = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, this.options.pollMs);
      this.wake = done;
      if (signal.aborted) done();
    });
  }

  private async publishBatch(full = false): Promise<number> {
    const now = Date.now();
    const fromFloor = !full && this.floor > 0 && now - this.lastFullRead < FULL_READ_MS;
    if (!fromFloor) this.lastFullRead = now;
    let query = this.database.db
      .selectFrom('outbox_events')
      .select(['seq', 'payload'])
      .where('published_at', 'is', null)
      .orderBy('seq')
      .limit(this.options.batchSize);
    if (fromFloor) query = query.where('seq', '>', this.floor);
    const rows = await query.execute();
    if (rows.length === 0) return 0;
    this.floor = Math.max(this.floor, Number(rows.at(-1)!.seq) - SEQ_MARGIN);
    await this.bus.publish(rows.map((row) => row.payload as EventEnvelope));
    const seqs = rows.map((row) => row.seq);
    // Planned for its parameters each time (an index scan of the primary key): the outbox starts
    // empty, and a generic plan made then would scan the whole table on every batch. The batch
    // number (one per batch: the subquery runs once) is the order replay reads in.
    await sql`${sql.raw(PLAN_EACH_TIME)}
      update outbox_events
      set published_at = now(), published_batch = (select nextval('outbox_publication_batches'))
      where seq = any(${sql.val(seqs)}::bigint[])`.execute(this.database.db);
    this.published.inc(rows.length);
    return rows.length;
  }

  private async pruneIfDue(): Promise<void> {
    const now = Date.now();
    if (now - this.lastPrune < 60_000) return;
    this.lastPrune = now;
    const cutoff = new Date(now - (this.options.retentionMs ?? 86_400_000));
    await this.database.db.deleteFrom('outbox_events').where('published_at', '<', cutoff).execute();
    const processedCutoff = new Date(now - (this.options.processedRetentionMs ?? 7 * 86_400_000));
    const pruned = await pruneProcessedEvents(this.database.db, processedCutoff);
    if (pruned > 0) this.logger.info({ pruned }, 'pruned processed_events rows past their retention');
  }
}
