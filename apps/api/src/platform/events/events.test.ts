import { randomBytes } from 'node:crypto';
import { uuidv7, type EventEnvelope, type EventType } from '@tessera/contracts';
import { sql } from 'kysely';
import pg from 'pg';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { serviceAvailable, TEST_REDIS_URL } from '../../../test/support/services';
import { createDatabase } from '../db/database';
import { withSystem, withTenant } from '../db/tenant';
import { createRedis } from '../redis';
import type { Consumer, EventBus } from './bus';
import { replayDeadLetters } from './dead-letters';
import { applyBatch, deadLetterCounter, pruneProcessedEvents } from './delivery';
import { InProcessBus } from './in-process-bus';
import { addEvents, OUTBOX_CHANNEL, SYSTEM_ACTOR, type NewEvent } from './outbox';
import { RedisStreamsBus, type RedisBusOptions } from './redis-bus';
import { OutboxRelay } from './relay';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const postgresUp = await serviceAvailable('postgres');
const redisUp = postgresUp && (await serviceAvailable('redis'));
const TYPES: EventType[] = ['commerce.order.created', 'inventory.stock.updated', 'payment.completed'];

async function waitFor(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe.runIf(postgresUp)('transactional outbox and consumers', () => {
  let testDatabase: TestDatabase;
  const tenantId = uuidv7();

  /** A consumer whose effect is a row per handled event; no unique key, so a double effect would show. */
  const recorder = (name: string, fail?: (event: EventEnvelope) => boolean): Consumer => ({
    name,
    types: TYPES,
    async handle(event, tx) {
      if (fail?.(event)) throw new Error(`refusing ${event.id}`);
      await sql`insert into consumed (consumer, event_id) values (${name}, ${event.id})`.execute(tx);
    },
  });

  const effects = async (consumer: string) => {
    const result = await sql<{ total: number; distinct_ids: number }>`
      select count(*)::int as total, count(distinct event_id)::int as distinct_ids from consumed where consumer = ${consumer}`.execute(
      testDatabase.database.db,
    );
    return result.rows[0]!;
  };

  /** A bus that only records the size of each batch the relay publishes. */
  const batchRecordingBus = () => {
    const published: number[] = [];
    const bus: EventBus = {
      kind: 'in-process',
      deadLettered: deadLetterCounter(),
      register: () => undefined,
      start: async () => undefined,
      stop: async () => undefined,
      publish: async (events) => void published.push(events.length),
    };
    return { bus, published };
  };

  /** An event for the machinery under test; its data is a counter, not a domain payload. */
  const probe = (type: EventType, n: number) =>
    ({ type, tenantId, actor: SYSTEM_ACTOR, data: { n } }) as unknown as NewEvent;

  /** Commits `count` events, 50 to a transaction, on `db` (this process's handle by default). */
  const emit = async (count: number, db = testDatabase.database.db) => {
    const ids: string[] = [];
    for (let i = 0; i < count; i += 50) {
      const batch = await withTenant(db, tenantId, (tx) =>
        addEvents(
          tx,
          Array.from({ length: Math.min(50, count - i) }, (_, j) =>
            probe(TYPES[(i + j) % TYPES.length]!, i + j),
          ),
        ),
      );
      ids.push(...batch.map((event) => event.id));
    }
    return ids;
  };

  beforeAll(async () => {
    testDatabase = await createTestDatabase();
    await withSystem(testDatabase.database.db, async (tx) => {
      await tx.insertInto('tenants').values({ id: tenantId, name: 'Events' }).execute();
      await sql`create table consumed (consumer text not null, event_id uuid not null)`.execute(tx);
    });
  });

  afterEach(async () => {
    await sql`update outbox_events set published_at = now() where published_at is null`.execute(
      testDatabase.database.db,
    );
  });

  afterAll(async () => {
    await testDatabase?.drop();
  });

  it('publishes only what committed', async () => {
    const bus = new InProcessBus(testDatabase.database.db, logger, { maxAttempts: 3, retryBaseMs: 1 });
    bus.register(recorder('committed-only'));
    const relay = new OutboxRelay(testDatabase.database, bus, logger, { batchSize: 100, pollMs: 50 });
    await expect(
      withTenant(testDatabase.database.db, tenantId, async (tx) => {
        addEvents(tx, [probe('commerce.order.created', 0)]);
        throw new Error('business rule failed');
      }),
    ).rejects.toThrow('business rule failed');
    const [kept] = await emit(1);
    expect(await relay.drain()).toBe(1);
    const handled = await sql<{
      event_id: string;
    }>`select event_id from consumed where consumer = 'committed-only'`.execute(testDatabase.database.db);
    expect(handled.rows).toEqual([{ event_id: kept }]);
  });

  it('applies a batch once per event: a duplicate takes effect once, a failing event holds back only itself', async () => {
    const ids = await emit(6);
    const envelopes = (
      await sql<{
        payload: EventEnvelope;
      }>`select payload from outbox_events where id = any(${ids}::uuid[]) order by seq`.execute(
        testDatabase.database.db,
      )
    ).rows.map((row) => row.payload);
    const poisoned = envelopes[2]!.id;
    const consumer = recorder('batched', (event) => event.id === poisoned);
    const failed = await applyBatch(testDatabase.database.db, consumer, [...envelopes, envelopes[0]!]);
    expect(failed.map(({ event }) => event.id)).toEqual([poisoned]);
    expect(await effects('batched')).toEqual({ total: 5, distinct_ids: 5 });
    // Delivered again (as after a crash before the acknowledgement), nothing takes effect twice.
    expect(await applyBatch(testDatabase.database.db, recorder('batched'), envelopes)).toEqual([]);
    expect(await effects('batched')).toEqual({ total: 6, distinct_ids: 6 });
  });

  it('skips, without a transaction or a record, the events a consumer does not accept', async () => {
    const ids = await emit(4);
    const envelopes = (
      await sql<{
        payload: EventEnvelope;
      }>`select payload from outbox_events where id = any(${ids}::uuid[]) order by seq`.execute(
        testDatabase.database.db,
      )
    ).rows.map((row) => row.payload);
    const accepted = new Set([envelopes[1]!.id, envelopes[3]!.id]);
    const choosy: Consumer = { ...recorder('choosy'), accepts: (event) => accepted.has(event.id) };
    expect(await applyBatch(testDatabase.database.db, choosy, envelopes)).toEqual([]);
    expect(await effects('choosy')).toEqual({ total: 2, distinct_ids: 2 });
    const recorded = await sql<{ event_id: string }>`
      select event_id from processed_events where consumer = 'choosy' order by event_id`.execute(
      testDatabase.database.db,
    );
    expect(recorded.rows.map((row) => row.event_id)).toEqual([...accepted].sort());
  });

  it('refuses events added in a transaction that cannot write them at its commit', async () => {
    await expect(
      testDatabase.database.db
        .transaction()
        .execute(async (tx) => addEvents(tx, [probe('commerce.order.created', 0)])),
    ).rejects.toThrow('not opened by withTenant or withSystem');
  });

  /**
   * Starts a relay that polls far less often than the test lasts, commits one event on `db`, and
   * answers the NOTIFYs sent on the outbox channel by the time the relay has published it: only a
   * wake-up can make it publish in time.
   */
  const wokenRelay = async (consumer: string, db: TestDatabase['database']['db']) => {
    const bus = new InProcessBus(testDatabase.database.db, logger, { maxAttempts: 3, retryBaseMs: 1 });
    bus.register(recorder(consumer));
    const relay = new OutboxRelay(testDatabase.database, bus, logger, { batchSize: 100, pollMs: 60_000 });
    await relay.drain();
    const observer = new pg.Client({ connectionString: testDatabase.url });
    await observer.connect();
    let notifications = 0;
    observer.on('notification', () => notifications++);
    await observer.query(`listen ${OUTBOX_CHANNEL}`);
    relay.start();
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const [id] = await emit(1, db);
      await waitFor(async () => (await effects(consumer)).total === 1, 5_000);
      const handled = await sql<{
        event_id: string;
      }>`select event_id from consumed where consumer = ${consumer}`.execute(testDatabase.database.db);
      expect(handled.rows).toEqual([{ event_id: id }]);
      // A NOTIFY reaches every listener about together: one sent would have arrived by now.
      await new Promise((resolve) => setTimeout(resolve, 100));
      return notifications;
    } finally {
      await relay.stop();
      await observer.end();
    }
  };

  it("wakes another process's relay with a NOTIFY once the events commit", async () => {
    const elsewhere = await createDatabase({ databaseUrl: testDatabase.url, dataDir: '', poolSize: 1 });
    try {
      expect(await wokenRelay('woken-elsewhere', elsewhere.db)).toBe(1);
    } finally {
      await elsewhere.close();
    }
  });

  it("wakes its own process's leading relay directly, without a NOTIFY", async () => {
    expect(await wokenRelay('woken-here', testDatabase.database.db)).toBe(0);
  });

  it('publishes a commit after a quiet spell at once, and the commits of its linger in one batch', async () => {
    const { bus, published } = batchRecordingBus();
    const relay = new OutboxRelay(testDatabase.database, bus, logger, {
      batchSize: 100,
      pollMs: 60_000,
      lingerMs: 600,
    });
    await relay.drain();
    relay.start();
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const startedAt = Date.now();
      await emit(1);
      await waitFor(async () => published.length === 1, 5_000);
      expect(Date.now() - startedAt).toBeLessThan(400);
      // Three commits while the relay lingers: one batch, not three.
      for (let i = 0; i < 3; i++) {
        await emit(1);
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
      await waitFor(async () => (await relay.backlog()) === 0, 5_000);
      expect(published).toEqual([1, 3]);
    } finally {
      await relay.stop();
    }
  });

  it('publishes a backlog batch after batch, without lingering between full batches', async () => {
    const { bus, published } = batchRecordingBus();
    const relay = new OutboxRelay(testDatabase.database, bus, logger, {
      batchSize: 2,
      pollMs: 60_000,
      lingerMs: 600,
    });
    await emit(5);
    const startedAt = Date.now();
    relay.start();
    try {
      await waitFor(async () => (await relay.backlog()) === 0, 5_000);
      expect(Date.now() - startedAt).toBeLessThan(500);
      expect(published).toEqual([2, 2, 1]);
    } finally {
      await relay.stop();
    }
  });

  it('publishes a row that commits long after later rows were published', async () => {
    const bus = new InProcessBus(testDatabase.database.db, logger, { maxAttempts: 3, retryBaseMs: 1 });
    bus.register(recorder('straggler'));
    const relay = new OutboxRelay(testDatabase.database, bus, logger, { batchSize: 500, pollMs: 20 });
    await relay.drain();
    let commit!: () => void;
    const held = new Promise<void>((resolve) => (commit = resolve));
    let numbered!: () => void;
    const isNumbered = new Promise<void>((resolve) => (numbered = resolve));
    const straggler = uuidv7();
    // Numbered first, committed last: far more rows than the relay's margin are published meanwhile.
    const slow = withTenant(testDatabase.database.db, tenantId, async (tx) => {
      const envelope = { ...probe('commerce.order.created', -1), id: straggler, tenant_id: tenantId };
      await sql`insert into outbox_events (id, tenant_id, type, stream, payload)
                values (${straggler}, ${tenantId}, 'commerce.order.created', 'commerce', ${JSON.stringify(envelope)})`.execute(
        tx,
      );
      numbered();
      await held;
    });
    await isNumbered;
    relay.start();
    try {
      const later = await emit(1_500);
      await waitFor(async () => (await effects('straggler')).total === later.length);
      commit();
      await slow;
      await waitFor(async () => (await effects('straggler')).total === later.length + 1, 5_000);
    } finally {
      commit();
      await relay.stop();
    }
  });

  it('prunes published rows past the retention, and nothing else', async () => {
    const { bus } = batchRecordingBus();
    const relay = new OutboxRelay(testDatabase.database, bus, logger, {
      batchSize: 500,
      pollMs: 20,
      retentionMs: 3_600_000,
    });
    const [old, recent] = [await emit(120), await emit(30)];
    await relay.drain();
    const stale = await emit(10);
    // Published two hours ago; the stale ones were written as long ago and are not published yet.
    await sql`update outbox_events set published_at = now() - interval '2 hours' where id = any(${old}::uuid[])`.execute(
      testDatabase.database.db,
    );
    await sql`update outbox_events set created_at = now() - interval '2 hours' where id = any(${stale}::uuid[])`.execute(
      testDatabase.database.db,
    );
    const left = async (ids: string[]) =>
      Number(
        (
          await sql<{
            n: number;
          }>`select count(*)::int as n from outbox_events where id = any(${ids}::uuid[])`.execute(
            testDatabase.database.db,
          )
        ).rows[0]!.n,
      );
    relay.start();
    try {
      await waitFor(async () => (await left(old)) === 0);
      expect(await left(recent)).toBe(recent.length);
      expect(await left(stale)).toBe(stale.length);
    } finally {
      await relay.stop();
    }
  });

  it('forgets the events consumers applied past the retention, but not a lagging one nor a dead letter', async () => {
    const db = testDatabase.database.db;
    const day = 86_400_000;
    const tenDaysAgo = Date.now() - 10 * day;
    // An event id made at `ms` (uuidv7 never goes back in time: it is monotonic within a process).
    const idAt = (ms: number) => {
      const time = ms.toString(16).padStart(12, '0');
      const random = randomBytes(8).toString('hex');
      return `${time.slice(0, 8)}-${time.slice(8)}-7${random.slice(0, 3)}-8${random.slice(3, 6)}-${random.slice(4, 16)}`;
    };
    const ids = {
      gone: idAt(tenDaysAgo),
      lagging: idAt(tenDaysAgo + 1),
      dead: idAt(tenDaysAgo + 2),
      recent: uuidv7(),
    };
    const rows = [
      { consumer: 'prune-a', event_id: ids.gone, processed_at: new Date(tenDaysAgo) },
      { consumer: 'prune-b', event_id: ids.gone, processed_at: new Date(tenDaysAgo) },
      // An old event a consumer that was down for days applied only now: a redelivery may follow.
      { consumer: 'prune-a', event_id: ids.lagging, processed_at: new Date() },
      // Applied long ago by one consumer, dead for another and not replayed yet: the replay goes to both.
      { consumer: 'prune-a', event_id: ids.dead, processed_at: new Date(tenDaysAgo) },
      { consumer: 'prune-a', event_id: ids.recent, processed_at: new Date() },
    ];
    await db.insertInto('processed_events').values(rows).execute();
    await db
      .insertInto('dead_letters')
      .values({
        consumer: 'prune-b',
        event_id: ids.dead,
        stream: 'events:commerce',
        payload: JSON.stringify({ id: ids.dead }),
        error: 'failed',
        attempts: 5,
      })
      .execute();
    const left = async () =>
      (
        await db
          .selectFrom('processed_events')
          .select(['consumer', 'event_id'])
          .where('consumer', 'in', ['prune-a', 'prune-b'])
          .orderBy('event_id')
          .orderBy('consumer')
          .execute()
      ).map((row) => `${row.consumer}:${row.event_id}`);
    // A batch of one row: the prune goes on, batch after batch, until no old row is left.
    expect(await pruneProcessedEvents(db, new Date(Date.now() - 7 * day), 1)).toBeGreaterThanOrEqual(2);
    expect(await left()).toEqual([`prune-a:${ids.lagging}`, `prune-a:${ids.dead}`, `prune-a:${ids.recent}`]);

    // The relay's prune, once a minute, is what calls it.
    const again = idAt(tenDaysAgo + 3);
    await db
      .insertInto('processed_events')
      .values({ consumer: 'prune-a', event_id: again, processed_at: new Date(tenDaysAgo) })
      .execute();
    const { bus } = batchRecordingBus();
    const relay = new OutboxRelay(testDatabase.database, bus, logger, {
      batchSize: 500,
      pollMs: 20,
      processedRetentionMs: 7 * day,
    });
    relay.start();
    try {
      await waitFor(async () => !(await left()).includes(`prune-a:${again}`));
    } finally {
      await relay.stop();
    }
  });

  it('in process: each event once, even when the relay republishes a batch', async () => {
    const real = new InProcessBus(testDatabase.database.db, logger, { maxAttempts: 3, retryBaseMs: 1 });
    real.register(recorder('in-process'));
    let crashes = 2;
    // A relay that dies after publishing but before marking: the batch goes out again.
    const crashing: EventBus = {
      kind: 'in-process',
      deadLettered: real.deadLettered,
      register: (consumer) => real.register(consumer),
      start: () => real.start(),
      stop: () => real.stop(),
      async publish(events) {
        await real.publish(events);
        if (crashes-- > 0) throw new Error('relay killed after publishing');
      },
    };
    const ids = await emit(120);
    const relay = new OutboxRelay(testDatabase.database, crashing, logger, { batchSize: 50, pollMs: 20 });
    relay.start();
    await waitFor(async () => (await relay.backlog()) === 0);
    await relay.stop();
    expect(await effects('in-process')).toEqual({ total: ids.length, distinct_ids: ids.length });
  });

  it('a failing consumer retries, then dead-letters, and the dead letter can be replayed', async () => {
    let refuse = true;
    const bus = new InProcessBus(testDatabase.database.db, logger, { maxAttempts: 3, retryBaseMs: 1 });
    bus.register(recorder('flaky', () => refuse));
    const relay = new OutboxRelay(testDatabase.database, bus, logger, { batchSize: 10, pollMs: 20 });
    const [id] = await emit(1);
    await relay.drain();
    const dead = await testDatabase.database.db
      .selectFrom('dead_letters')
      .selectAll()
      .where('consumer', '=', 'flaky')
      .execute();
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ event_id: id, attempts: 3 });
    expect((await bus.deadLettered.get()).values).toEqual([{ labels: { consumer: 'flaky' }, value: 1 }]);
    expect(await effects('flaky')).toEqual({ total: 0, distinct_ids: 0 });
    refuse = false;
    expect(await replayDeadLetters(testDatabase.database.db, bus, { consumer: 'flaky' })).toEqual({
      replayed: 1,
    });
    expect(await effects('flaky')).toEqual({ total: 1, distinct_ids: 1 });
    expect(await replayDeadLetters(testDatabase.database.db, bus, { consumer: 'flaky' })).toEqual({
      replayed: 0,
    });
  });

  describe.runIf(redisUp)('on Redis Streams', () => {
    const prefix = `test:${uuidv7()}:`;
    const redis = redisUp ? createRedis(TEST_REDIS_URL, logger) : null;

    afterAll(async () => {
      if (!redis) return;
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
    });

    const busFor = (
      consumerId: string,
      consumer: Consumer,
      keyPrefix = prefix,
      options: Partial<RedisBusOptions> = {},
    ) => {
      const bus = new RedisStreamsBus(redis!, testDatabase.database.db, logger, {
        maxAttempts: 4,
        retryBaseMs: 100,
        blockMs: 100,
        consumerId,
        keyPrefix,
        ...options,
      });
      bus.register(consumer);
      return bus;
    };

    /** A recorder that also keeps the event types of each batch it is handed. */
    const batchRecorder = (name: string) => {
      const batches: EventType[][] = [];
      const recording = recorder(name);
      const consumer: Consumer = {
        ...recording,
        async handleBatch(events, tx) {
          batches.push(events.map((event) => event.type));
          for (const event of events) await recording.handle(event, tx);
        },
      };
      return { consumer, batches, sizes: () => batches.map((batch) => batch.length) };
    };

    /** The consumers of a group on a stream, with how many entries each holds pending. */
    const consumersOf = async (stream: string, group: string) =>
      ((await redis!.xinfo('CONSUMERS', stream, group)) as (string | number)[][]).map((row) => {
        const field = (name: string) => row[row.indexOf(name) + 1];
        return { name: String(field('name')), pending: Number(field('pending')) };
      });

    it('each event once when the relay and the consumer are killed mid-stream', async () => {
      const ids = await emit(600);
      // The first consumer dies at its 151st event: that transaction rolls back, nothing more is
      // acknowledged, and what it had read stays pending.
      let handled = 0;
      const dying = recorder('streams');
      const first: RedisStreamsBus = busFor('first', {
        ...dying,
        async handle(event, tx) {
          if (++handled > 150) {
            void first.stop();
            throw new Error('consumer killed');
          }
          await dying.handle(event, tx);
        },
      });
      await first.start();

      let crashes = 3;
      const publisher = busFor('publisher', recorder('unused'));
      const crashingPublisher: EventBus = {
        kind: 'redis',
        deadLettered: publisher.deadLettered,
        register: () => undefined,
        start: async () => undefined,
        stop: async () => undefined,
        async publish(events) {
          await publisher.publish(events);
          if (crashes-- > 0) throw new Error('relay killed after XADD');
        },
      };
      const relay = new OutboxRelay(testDatabase.database, crashingPublisher, logger, {
        batchSize: 100,
        pollMs: 20,
      });
      relay.start();
      await waitFor(async () => handled > 150);

      // A second consumer takes over the first's pending entries and the rest of the stream.
      const second = busFor('second', recorder('streams'));
      await second.start();
      await waitFor(async () => (await relay.backlog()) === 0);
      await waitFor(async () => (await effects('streams')).distinct_ids === ids.length, 30_000);
      await new Promise((resolve) => setTimeout(resolve, 500));
      await relay.stop();
      await second.stop();
      expect(await effects('streams')).toEqual({ total: ids.length, distinct_ids: ids.length });
      const pending = await redis!.xpending(`${prefix}events:commerce`, 'streams');
      expect((pending as [number])[0]).toBe(0);
    });

    it("applies one read's entries of several streams together, in one transaction, and acknowledges them all", async () => {
      const keyPrefix = `${prefix}merged:`;
      const ids = await emit(6);
      // Published before the consumer starts, so that its first read finds all three streams full.
      await new OutboxRelay(
        testDatabase.database,
        busFor('merged-publisher', recorder('unused'), keyPrefix),
        logger,
        {
          batchSize: 10,
          pollMs: 20,
        },
      ).drain();
      const { consumer, batches } = batchRecorder('merged');
      const bus = busFor('merged', consumer, keyPrefix);
      await bus.start();
      await waitFor(async () => (await effects('merged')).distinct_ids === ids.length);
      await bus.stop();
      expect(batches).toHaveLength(1);
      expect(new Set(batches[0])).toEqual(new Set(TYPES));
      for (const stream of ['commerce', 'inventory', 'payment']) {
        const pending = await redis!.xpending(`${keyPrefix}events:${stream}`, 'merged');
        expect((pending as [number])[0]).toBe(0);
      }
    });

    it('reads an event after a quiet spell at once, and what arrives during its linger in one batch', async () => {
      const keyPrefix = `${prefix}linger:`;
      const publisher = busFor('linger-publisher', recorder('unused'), keyPrefix);
      const relay = new OutboxRelay(testDatabase.database, publisher, logger, { batchSize: 10, pollMs: 20 });
      const { consumer, sizes } = batchRecorder('lingering');
      const bus = busFor('lingering', consumer, keyPrefix, { lingerMs: 600 });
      await bus.start();
      try {
        const startedAt = Date.now();
        await emit(1);
        await relay.drain();
        await waitFor(async () => sizes().length === 1, 5_000);
        expect(Date.now() - startedAt).toBeLessThan(400);
        // Three events of one stream, published one by one while the consumer lingers.
        for (let i = 0; i < 3; i++) {
          await withTenant(testDatabase.database.db, tenantId, (tx) =>
            addEvents(tx, [probe('commerce.order.created', i)]),
          );
          await relay.drain();
          await new Promise((resolve) => setTimeout(resolve, 30));
        }
        await waitFor(async () => (await effects('lingering')).total === 4, 5_000);
        expect(sizes()).toEqual([1, 3]);
      } finally {
        await bus.stop();
      }
    });

    it('reads a backlog batch after batch, without lingering after full reads', async () => {
      const keyPrefix = `${prefix}backlog:`;
      await withTenant(testDatabase.database.db, tenantId, (tx) =>
        addEvents(
          tx,
          Array.from({ length: 5 }, (_, i) => probe('commerce.order.created', i)),
        ),
      );
      await new OutboxRelay(
        testDatabase.database,
        busFor('backlog-publisher', recorder('unused'), keyPrefix),
        logger,
        { batchSize: 10, pollMs: 20 },
      ).drain();
      const { consumer, sizes } = batchRecorder('draining');
      const bus = busFor('draining', consumer, keyPrefix, { batchSize: 2, lingerMs: 600 });
      const startedAt = Date.now();
      await bus.start();
      try {
        await waitFor(async () => (await effects('draining')).total === 5, 5_000);
        // Two full reads go on at once; only after the last, short one would it linger.
        expect(Date.now() - startedAt).toBeLessThan(500);
        expect(sizes()).toEqual([2, 2, 1]);
      } finally {
        await bus.stop();
      }
    });

    it('does not deliver again an entry it is still applying, however long that takes', async () => {
      const keyPrefix = `${prefix}slow:`;
      const stream = `${keyPrefix}events:commerce`;
      const deliveriesSeen: number[] = [];
      const slow = recorder('slow');
      // Each event takes five retry periods; meanwhile the claim loop runs about five times.
      const bus = busFor(
        'slow',
        {
          ...slow,
          types: ['commerce.order.created'],
          async handle(event, tx) {
            await new Promise((resolve) => setTimeout(resolve, 500));
            const pending = (await redis!.xpending(stream, 'slow', '-', '+', 10)) as [
              string,
              string,
              number,
              number,
            ][];
            deliveriesSeen.push(...pending.map(([, , , deliveries]) => deliveries));
            await slow.handle(event, tx);
          },
        },
        keyPrefix,
      );
      await bus.start();
      try {
        await withTenant(testDatabase.database.db, tenantId, (tx) =>
          addEvents(tx, [probe('commerce.order.created', 0)]),
        );
        await new OutboxRelay(testDatabase.database, bus, logger, { batchSize: 10, pollMs: 20 }).drain();
        await waitFor(async () => (await effects('slow')).total === 1, 5_000);
      } finally {
        await bus.stop();
      }
      expect(deliveriesSeen).toEqual([1]);
      expect(((await redis!.xpending(stream, 'slow')) as [number])[0]).toBe(0);
    });

    it('leaves its consumer groups when it stops', async () => {
      const keyPrefix = `${prefix}leave:`;
      const bus = busFor('leaving-process', recorder('leaving'), keyPrefix);
      await bus.start();
      try {
        // One event on each stream: Redis adds a consumer to a group when it first reads there.
        await emit(TYPES.length);
        await new OutboxRelay(testDatabase.database, bus, logger, { batchSize: 10, pollMs: 20 }).drain();
        await waitFor(async () => (await effects('leaving')).total === TYPES.length, 5_000);
      } finally {
        await bus.stop();
      }
      for (const stream of ['commerce', 'inventory', 'payment']) {
        // The group itself stays: it keeps the consumer's place in the stream for the next process.
        expect(await consumersOf(`${keyPrefix}events:${stream}`, 'leaving')).toEqual([]);
      }
    });

    it('sweeps the consumer a dead process left, once it has been idle long enough with nothing pending', async () => {
      const keyPrefix = `${prefix}sweep:`;
      const stream = `${keyPrefix}events:commerce`;
      await redis!.xgroup('CREATE', stream, 'sweeping', '0', 'MKSTREAM');
      await redis!.xgroup('CREATECONSUMER', stream, 'sweeping', 'crashed-process');
      const bus = busFor(
        'sweeping-process',
        { ...recorder('sweeping'), types: ['commerce.order.created'] },
        keyPrefix,
        { staleConsumerMs: 2_500 },
      );
      await bus.start();
      try {
        // Swept from the start, but not before it has been idle that long.
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        expect(await consumersOf(stream, 'sweeping')).toEqual([{ name: 'crashed-process', pending: 0 }]);
        await waitFor(async () => (await consumersOf(stream, 'sweeping')).length === 0, 5_000);
      } finally {
        await bus.stop();
      }
    });

    it('keeps a consumer that holds pending entries, on stop and in sweeps, until another process has applied them', async () => {
      const keyPrefix = `${prefix}holding:`;
      const stream = `${keyPrefix}events:commerce`;
      const types: EventType[] = ['commerce.order.created'];
      // This process fails on its event and stops before its own retry: the entry stays pending, its own.
      const stopped = busFor('stopped-process', { ...recorder('holding', () => true), types }, keyPrefix, {
        retryBaseMs: 60_000,
      });
      await stopped.start();
      await withTenant(testDatabase.database.db, tenantId, (tx) =>
        addEvents(tx, [probe('commerce.order.created', 0)]),
      );
      await new OutboxRelay(testDatabase.database, stopped, logger, { batchSize: 10, pollMs: 20 }).drain();
      await waitFor(async () => (await consumersOf(stream, 'holding')).some(({ pending }) => pending === 1));
      await stopped.stop();
      expect(await consumersOf(stream, 'holding')).toEqual([{ name: 'stopped-process', pending: 1 }]);

      // Another one sweeps before each claim, with the stopped consumer long past the idle time.
      const taker = busFor('taking-process', { ...recorder('holding'), types }, keyPrefix, {
        retryBaseMs: 100,
        staleConsumerMs: 50,
      });
      await taker.start();
      try {
        await waitFor(async () => (await effects('holding')).total === 1, 5_000);
        await waitFor(async () => (await consumersOf(stream, 'holding')).length === 1, 5_000);
        expect(await consumersOf(stream, 'holding')).toEqual([{ name: 'taking-process', pending: 0 }]);
      } finally {
        await taker.stop();
      }
      expect(await consumersOf(stream, 'holding')).toEqual([]);
    });

    it('dead-letters an event after the maximum deliveries', async () => {
      // Streams of their own, so that only this test's event is there to fail.
      const bus = busFor(
        'dead',
        recorder('always-fails', () => true),
        `${prefix}dead:`,
      );
      await bus.start();
      const [id] = await emit(1);
      const relay = new OutboxRelay(testDatabase.database, bus, logger, { batchSize: 10, pollMs: 20 });
      await relay.drain();
      await waitFor(
        async () =>
          (
            await testDatabase.database.db
              .selectFrom('dead_letters')
              .select('event_id')
              .where('consumer', '=', 'always-fails')
              .execute()
          ).length === 1,
      );
      await bus.stop();
      const dead = await testDatabase.database.db
        .selectFrom('dead_letters')
        .selectAll()
        .where('consumer', '=', 'always-fails')
        .execute();
      expect(dead[0]?.event_id).toBe(id);
      expect(dead[0]!.attempts).toBeGreaterThanOrEqual(4);
      expect((await bus.deadLettered.get()).values).toEqual([
        { labels: { consumer: 'always-fails' }, value: 1 },
      ]);
    });
  });
});
