import type { AddressInfo } from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import { EVENT_DOMAINS, EVENT_TYPES, uuidv7, type EventType } from '@tessera/contracts';
import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/support/app';
import { registerTenant, type TestTenant } from '../../../test/support/auth';
import { serviceAvailable } from '../../../test/support/services';
import { withSystem, withTenant } from '../../platform/db/tenant';
import { RedisStreamsBus } from '../../platform/events/redis-bus';
import { createAnalyticsModule } from './index';
import { emitDated, insertTenant, type DatedEvent } from './testing';

const postgresUp = await serviceAvailable('postgres');
const redisUp = postgresUp && (await serviceAvailable('redis'));

async function waitFor(check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A well-formed event of every type in turn, spread over two months so that partitions roll. */
function eventOfEachType(n: number): DatedEvent {
  const type: EventType = EVENT_TYPES[n % EVENT_TYPES.length]!;
  const at = new Date(Date.parse('2026-01-31T20:00:00Z') + n * 60_000);
  const payment = {
    payment_id: uuidv7(),
    order_id: uuidv7(),
    gateway: 'stripe' as const,
    status: 'completed' as const,
    amount: 100 + n,
    amount_captured: 100 + n,
    amount_refunded: 0,
    currency: 'EUR',
    failure_code: null,
    failure_message: null,
  };
  const refund = {
    refund_id: uuidv7(),
    payment_id: uuidv7(),
    order_id: uuidv7(),
    gateway: 'stripe' as const,
    status: 'processed' as const,
    amount: 10,
    currency: 'EUR',
    reason: null,
  };
  switch (type) {
    case 'auth.user.created':
      return {
        type,
        at,
        data: { user_id: uuidv7(), email: `u${n}@example.test`, name: 'U', roles: ['user'] },
      };
    case 'auth.user.login':
      return { type, at, data: { user_id: uuidv7(), session_id: uuidv7() } };
    case 'commerce.order.created':
      return {
        type,
        at,
        data: {
          order_id: uuidv7(),
          number: n,
          status: 'pending',
          payment_status: 'unpaid',
          currency: 'EUR',
          subtotal: 500,
          total: 500,
          customer_email: null,
          lines: [
            { product_id: uuidv7(), sku: 'S', name: 'S', quantity: 1, unit_price: 500, line_total: 500 },
          ],
        },
      };
    case 'commerce.order.status_changed':
      return {
        type,
        at,
        data: {
          order_id: uuidv7(),
          number: n,
          from: 'pending',
          to: 'cancelled',
          payment_status: 'unpaid',
          total: 500,
          currency: 'EUR',
        },
      };
    case 'inventory.stock.updated':
      return {
        type,
        at,
        data: {
          product_id: uuidv7(),
          sku: `S${n}`,
          on_hand: 3,
          reserved: 1,
          available: 2,
          low_stock_threshold: 5,
          reason: 'reservation',
          delta_on_hand: 0,
          delta_reserved: 1,
          low_stock: true,
        },
      };
    case 'payment.created':
    case 'payment.captured':
    case 'payment.completed':
    case 'payment.failed':
    case 'commerce.payment.processed':
      return { type, at, data: payment };
    case 'refund.created':
    case 'refund.processed':
      return { type, at, data: refund };
    case 'payment.disputed':
      return {
        type,
        at,
        data: {
          dispute_id: uuidv7(),
          payment_id: uuidv7(),
          order_id: uuidv7(),
          gateway: 'stripe',
          status: 'needs_response',
          amount: 10,
          currency: 'EUR',
          reason: 'fraudulent',
          evidence_due_by: null,
        },
      };
    case 'analytics.event.tracked':
      return {
        type,
        at,
        data: {
          name: 'viewed',
          properties: { n },
          anonymous_id: null,
          user_id: null,
          occurred_at: at.toISOString(),
        },
      };
  }
}

describe.runIf(redisUp)('historical store over Redis Streams', () => {
  let testApp: TestApp;

  beforeAll(async () => {
    testApp = await createTestApp({ redis: true });
  });

  afterAll(async () => {
    await testApp?.close();
  });

  it('holds every domain event exactly once across restarts, a second process and a full redelivery', async () => {
    const db = testApp.platform.db;
    const redis = testApp.platform.redis!;
    const prefix = testApp.config.REDIS_KEY_PREFIX;
    const tenantId = await insertTenant(db);
    const total = 650;
    const emitted = await emitDated(
      db,
      tenantId,
      Array.from({ length: total }, (_, n) => eventOfEachType(n)),
    );
    await testApp.flushEvents();
    const stored = async () => {
      const result = await withTenant(db, tenantId, (tx) =>
        sql<{ rows: number; ids: number }>`
          select count(*)::int as rows, count(distinct id)::int as ids from analytics_events`.execute(tx),
      );
      return result.rows[0]!;
    };

    // A second worker process: its own bus on the same streams and groups.
    const secondProcess = new RedisStreamsBus(redis, db, pino({ level: 'silent' }), {
      maxAttempts: 5,
      retryBaseMs: 50,
      batchSize: 10,
      keyPrefix: prefix,
    });
    for (const consumer of createAnalyticsModule(testApp.platform).module.consumers!)
      secondProcess.register(consumer);

    await testApp.platform.bus.start();
    await waitFor(async () => (await stored()).rows >= 100);
    // Stopped mid-stream: whatever it held unacknowledged is claimed again later.
    await testApp.platform.bus.stop();
    const midway = (await stored()).rows;
    expect(midway).toBeLessThan(total);
    await secondProcess.start();
    await waitFor(async () => (await stored()).rows >= Math.min(total, midway + 100));
    await testApp.platform.bus.start();
    await waitFor(async () => (await stored()).rows === total);
    await secondProcess.stop();

    // Every entry delivered again from the start: the store must not change.
    for (const domain of EVENT_DOMAINS) {
      await redis.xgroup('SETID', `${prefix}events:${domain}`, 'analytics-store', '0');
    }
    await waitFor(async () => {
      const groups = await Promise.all(
        EVENT_DOMAINS.map(async (domain) => {
          const key = `${prefix}events:${domain}`;
          const info = (await redis.xinfo('GROUPS', key)) as unknown[][];
          const group = info
            .map((fields) => Object.fromEntries(chunk(fields)))
            .find((g) => g.name === 'analytics-store');
          const last = (await redis.xrevrange(key, '+', '-', 'COUNT', 1))[0]?.[0];
          return group?.pending === 0 && group['last-delivered-id'] === last;
        }),
      );
      return groups.every(Boolean);
    });
    const after = await stored();
    expect(after).toEqual({ rows: total, ids: total });
    const ids = await withTenant(db, tenantId, (tx) =>
      tx.selectFrom('analytics_events').select('id').orderBy('id').execute(),
    );
    expect(ids.map((row) => row.id)).toEqual(emitted.map((event) => event.id).sort());
    // The two months each got their partition, and every row sits in one.
    const partitions = await withSystem(db, (tx) =>
      sql<{ partition: string; rows: number }>`
        select tableoid::regclass::text as partition, count(*)::int as rows
        from analytics_events where tenant_id = ${tenantId} group by 1 order by 1`.execute(tx),
    );
    expect(partitions.rows.map((row) => row.partition)).toEqual([
      'analytics_events_p202601',
      'analytics_events_p202602',
    ]);
  }, 120_000);
});

function chunk(fields: unknown[]): [string, unknown][] {
  const pairs: [string, unknown][] = [];
  for (let i = 0; i < fields.length; i += 2) pairs.push([String(fields[i]), fields[i + 1]]);
  return pairs;
}

describe.runIf(postgresUp)('export', () => {
  let testApp: TestApp;
  let shop: TestTenant;
  let other: TestTenant;
  let baseUrl: string;
  const rows = 100_000;

  beforeAll(async () => {
    testApp = await createTestApp();
    shop = await registerTenant(testApp);
    other = await registerTenant(testApp);
    const db = testApp.platform.db;
    // 100,000 stored events of about 1 kB each, over March 2026 (straight into the store).
    await withSystem(db, async (tx) => {
      await sql`select analytics_ensure_partition('2026-03-01T00:00:00Z')`.execute(tx);
      await sql`
        insert into analytics_events (tenant_id, occurred_at, id, type, stream, version, actor_type, actor_id, data)
        select ${shop.tenant.id}::uuid, timestamptz '2026-03-01T00:00:00Z' + n * interval '20 seconds', gen_random_uuid(),
               'analytics.event.tracked', 'events:analytics', 1, 'system', null,
               jsonb_build_object('name', 'page_viewed', 'properties', jsonb_build_object('n', n, 'pad', repeat('x', 900)),
                                  'anonymous_id', null, 'user_id', null, 'occurred_at', '2026-03-01T00:00:00.000Z')
        from generate_series(1, ${rows}) as n`.execute(tx);
    });
    await testApp.app.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = `http://127.0.0.1:${(testApp.app.server.address() as AddressInfo).port}`;
  }, 120_000);

  afterAll(async () => {
    await testApp?.close();
  });

  it('streams 100,000 events as NDJSON in order, with flat memory', async () => {
    // A full collection before each sample, so that what is measured is what is held, not garbage.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    gc();
    const from = '2026-03-01T00:00:00Z';
    const to = '2026-04-01T00:00:00Z';
    const baseline = process.memoryUsage();
    const response = await fetch(`${baseUrl}/api/analytics/export?from=${from}&to=${to}`, {
      headers: shop.auth,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/x-ndjson');
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let pending = '';
    let lines = 0;
    let bytes = 0;
    let previous = '';
    let peakHeap = 0;
    let peakRss = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      pending += decoder.decode(value, { stream: true });
      const complete = pending.split('\n');
      pending = complete.pop()!;
      for (const line of complete) {
        const row = JSON.parse(line) as { occurred_at: string; id: string; tenant_id: string };
        const key = `${row.occurred_at} ${row.id}`;
        if (key <= previous || row.tenant_id !== shop.tenant.id)
          throw new Error(`out of order or foreign: ${line}`);
        previous = key;
        lines++;
      }
      if (lines % 10_000 < 100) {
        gc();
        const usage = process.memoryUsage();
        peakHeap = Math.max(peakHeap, usage.heapUsed - baseline.heapUsed);
        peakRss = Math.max(peakRss, usage.rss - baseline.rss);
      }
    }
    expect(pending).toBe('');
    expect(lines).toBe(rows);
    expect(bytes).toBeGreaterThan(100_000_000);
    // Over 100 MB went through; server and client together held a small, bounded part of it.
    expect(peakHeap).toBeLessThan(24_000_000);
    expect(peakRss).toBeLessThan(64_000_000);
  }, 180_000);

  it("exports nothing of another tenant's", async () => {
    const response = await fetch(
      `${baseUrl}/api/analytics/export?from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z`,
      {
        headers: other.auth,
      },
    );
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('');
  });
});
