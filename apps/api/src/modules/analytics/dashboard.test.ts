import { uuidv7, type Gateway, type OrderLineData } from '@tessera/contracts';
import fc from 'fast-check';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/support/app';
import { serviceAvailable } from '../../../test/support/services';
import type { DB } from '../../platform/db/tables';
import { tenantReader, withTenant } from '../../platform/db/tenant';
import { AnalyticsService } from './service';
import { emitDated, insertTenant, type DatedEvent } from './testing';

const postgresUp = await serviceAvailable('postgres');

const PRODUCTS = Array.from({ length: 6 }, (_, i) => ({
  product_id: uuidv7(),
  sku: `SKU-${i}`,
  name: `Product ${i}`,
}));
const GATEWAYS: Gateway[] = ['stripe', 'square', 'paypal', 'manual'];
const ZONES = ['UTC', 'Asia/Kolkata', 'Asia/Kathmandu', 'America/New_York', 'Australia/Adelaide'];
// Spans the 2026 US DST change (8 March), so local days of 23 hours are in play.
const START = Date.parse('2026-03-06T00:00:00Z');
const WINDOW_MINUTES = 5 * 24 * 60;
// Spans the 2026 autumn changes of Europe (25 October) and the US (1 November): local days of 25
// hours, whose 01:00 hour happens twice.
const AUTUMN_START = Date.parse('2026-10-23T00:00:00Z');
const AUTUMN_WINDOW_MINUTES = 10 * 24 * 60;
const AUTUMN_ZONES = ['Europe/London', 'America/New_York', 'America/Los_Angeles', 'Asia/Kolkata'];
// Long enough to hold whole months, read from the month rollups with the days around them.
const LONG_WINDOW_MINUTES = 100 * 24 * 60;

/** An order placed within `window` minutes of the start, maybe paid, captured and refunded. */
const orderWithin = (window: number) =>
  fc.record({
    currency: fc.constantFrom<string>('EUR', 'EUR', 'USD'),
    lines: fc.array(
      fc.record({
        product: fc.integer({ min: 0, max: PRODUCTS.length - 1 }),
        quantity: fc.integer({ min: 1, max: 5 }),
        unit_price: fc.integer({ min: 50, max: 5_000 }),
      }),
      { minLength: 1, maxLength: 4 },
    ),
    created: fc.integer({ min: 0, max: window }),
    paidAfter: fc.option(fc.integer({ min: 1, max: 600 }), { nil: null }),
    // An order never paid may be cancelled, up to two days after it was placed.
    cancelledAfter: fc.option(fc.integer({ min: 1, max: 2 * 24 * 60 }), { nil: null }),
    gateway: fc.constantFrom(...GATEWAYS),
    // Captures in one or two steps: the first as a share of the total in percent.
    firstCapture: fc.integer({ min: 0, max: 100 }),
    refund: fc.option(
      fc.record({
        percent: fc.integer({ min: 1, max: 100 }),
        after: fc.integer({ min: 1, max: 3_000 }),
        failed: fc.boolean(),
      }),
      { nil: null },
    ),
  });

type OrderModel = ReturnType<typeof orderWithin> extends fc.Arbitrary<infer T> ? T : never;

/** The events a real order, its payment or cancellation, and its refund would raise, in time order. */
function eventsOf(order: OrderModel, start = START): DatedEvent[] {
  const orderId = uuidv7();
  const lines: OrderLineData[] = order.lines.map((line) => ({
    ...PRODUCTS[line.product]!,
    quantity: line.quantity,
    unit_price: line.unit_price,
    line_total: line.quantity * line.unit_price,
  }));
  const total = lines.reduce((sum, line) => sum + line.line_total, 0);
  const at = (minute: number) => new Date(start + minute * 60_000);
  const events: DatedEvent[] = [
    {
      type: 'commerce.order.created',
      at: at(order.created),
      data: {
        order_id: orderId,
        number: 1,
        status: 'pending',
        payment_status: 'unpaid',
        currency: order.currency,
        subtotal: total,
        total,
        customer_email: null,
        lines,
      },
    },
  ];
  if (order.paidAfter === null) {
    if (order.cancelledAfter !== null)
      events.push({
        type: 'commerce.order.status_changed',
        at: at(order.created + order.cancelledAfter),
        data: {
          order_id: orderId,
          number: 1,
          from: 'pending',
          to: 'cancelled',
          payment_status: 'unpaid',
          total,
          currency: order.currency,
        },
      });
    return events;
  }
  const paymentId = uuidv7();
  const payment = (amountCaptured: number, status: 'pending' | 'authorized' | 'completed') => ({
    payment_id: paymentId,
    order_id: orderId,
    gateway: order.gateway,
    status,
    amount: total,
    amount_captured: amountCaptured,
    amount_refunded: 0,
    currency: order.currency,
    failure_code: null,
    failure_message: null,
  });
  const first = Math.floor((total * order.firstCapture) / 100);
  const paidAt = order.created + order.paidAfter;
  events.push(
    { type: 'payment.created', at: at(order.created), data: payment(0, 'pending') },
    {
      type: 'payment.captured',
      at: at(paidAt - 1),
      data: payment(first, first === total ? 'completed' : 'authorized'),
    },
    { type: 'payment.completed', at: at(paidAt), data: payment(total, 'completed') },
    // Orders' listener and a redelivered-looking repeat: neither may count the capture again.
    { type: 'commerce.payment.processed', at: at(paidAt), data: payment(total, 'completed') },
    {
      type: 'commerce.order.status_changed',
      at: at(paidAt),
      data: {
        order_id: orderId,
        number: 1,
        from: 'pending',
        to: 'paid',
        payment_status: 'paid',
        total,
        currency: order.currency,
      },
    },
  );
  if (order.refund) {
    const refund = {
      refund_id: uuidv7(),
      payment_id: paymentId,
      order_id: orderId,
      gateway: order.gateway,
      status: order.refund.failed ? ('failed' as const) : ('processed' as const),
      amount: Math.max(1, Math.floor((total * order.refund.percent) / 100)),
      currency: order.currency,
      reason: null,
    };
    events.push(
      {
        type: 'refund.created',
        at: at(paidAt + order.refund.after - 1),
        data: { ...refund, status: 'pending' },
      },
      { type: 'refund.processed', at: at(paidAt + order.refund.after), data: refund },
    );
  }
  return events;
}

/** Time order, every instant distinct, so that "before" means the same to every computation. */
function chronological(events: DatedEvent[]): DatedEvent[] {
  const sorted = [...events].sort((a, b) => a.at.getTime() - b.at.getTime());
  let last = 0;
  return sorted.map((event) => {
    const ms = Math.max(event.at.getTime(), last + 1);
    last = ms;
    return { ...event, at: new Date(ms) };
  });
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const BUCKET_MS = 900_000;
const clocks = new Map<string, Intl.DateTimeFormat>();

/**
 * What the wall clock shows in `timeZone` at `ms`, as the UTC timestamp of the same fields: from
 * ICU, independently of PostgreSQL.
 */
function wallClock(ms: number, timeZone: string): number {
  let clock = clocks.get(timeZone);
  if (!clock) {
    clock = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    clocks.set(timeZone, clock);
  }
  const field = Object.fromEntries(
    clock.formatToParts(new Date(ms)).map((part) => [part.type, Number(part.value)]),
  ) as Record<'year' | 'month' | 'day' | 'hour' | 'minute' | 'second', number>;
  return (
    Date.UTC(field.year, field.month - 1, field.day, field.hour, field.minute, field.second) +
    (((ms % 1_000) + 1_000) % 1_000)
  );
}

/** The real hour holding `ms`: it began when the local clock last showed minute 0. */
const hourStart = (ms: number, timeZone: string) => ms - (wallClock(ms, timeZone) % HOUR_MS);

/** When the local calendar day holding `ms` began (its midnight exists in the zones tested). */
function dayStart(ms: number, timeZone: string): number {
  const wall = wallClock(ms, timeZone);
  const midnight = wall - (wall % DAY_MS);
  // The midnight's offset may differ from `ms`'s (a change that day): settle it in two steps.
  let start = midnight - (wall - ms);
  start = midnight - (wallClock(start, timeZone) - start);
  expect(wallClock(start, timeZone)).toBe(midnight);
  return start;
}

interface Fact {
  occurred_at: Date;
  orders: number;
  order_value: number;
  items_sold: number;
  revenue: number;
  refunded: number;
}

/**
 * The series in JavaScript from the facts of [from, to): one point per real hour or local day of
 * the range (every 15-minute bucket's), each keyed by its start instant, zero when empty.
 */
function seriesOf(facts: Fact[], from: string, to: string, unit: 'hour' | 'day', timeZone: string) {
  const startOf = (ms: number) => (unit === 'hour' ? hourStart(ms, timeZone) : dayStart(ms, timeZone));
  const points = new Map<number, { revenue: number; orders: number }>();
  for (let ms = Date.parse(from); ms < Date.parse(to); ms += BUCKET_MS)
    if (!points.has(startOf(ms))) points.set(startOf(ms), { revenue: 0, orders: 0 });
  for (const fact of facts) {
    const point = points.get(startOf(fact.occurred_at.getTime()))!;
    point.revenue += Number(fact.revenue);
    point.orders += Number(fact.orders);
  }
  return [...points]
    .sort(([a], [b]) => a - b)
    .map(([start, point]) => ({ bucket: new Date(start).toISOString(), ...point }));
}

interface Scratch {
  totals: { orders: number; order_value: number; items_sold: number; revenue: number; refunded: number };
  currencies: string[];
  series: { bucket: string; revenue: number; orders: number }[];
  top: { product_id: string; quantity: number; revenue: number }[];
  mix: { gateway: string; count: number; amount: number }[];
}

/**
 * The dashboard computed from scratch: straight from the raw events in the historical store, with
 * none of the rollups, counters or snapshots; the series grouped in JavaScript.
 */
async function fromScratch(
  db: Kysely<DB>,
  tenantId: string,
  q: { currency: string; from: string; to: string; unit: 'hour' | 'day'; tz: string },
): Promise<Scratch> {
  return withTenant(db, tenantId, async (tx) => {
    const facts = sql`
      with payment_steps as (
        select occurred_at, data->>'gateway' as gateway, data->>'currency' as currency,
               (data->>'amount_captured')::bigint as captured,
               coalesce(max((data->>'amount_captured')::bigint) over (
                 partition by data->>'payment_id' order by occurred_at, id
                 rows between unbounded preceding and 1 preceding), 0) as before
        from analytics_events
        where type in ('payment.created', 'payment.captured', 'payment.completed', 'payment.failed', 'commerce.payment.processed')
      ),
      refunds as (
        select distinct on (data->>'refund_id') occurred_at, data->>'currency' as currency, (data->>'amount')::bigint as amount
        from analytics_events where type = 'refund.processed' and data->>'status' = 'processed'
        order by data->>'refund_id', occurred_at
      ),
      paid as (
        select distinct on (data->>'order_id') data->>'order_id' as order_id, occurred_at
        from analytics_events where type = 'commerce.order.status_changed' and data->>'to' = 'paid'
        order by data->>'order_id', occurred_at
      ),
      paid_lines as (
        select paid.occurred_at, created.data->>'currency' as currency, line->>'product_id' as product_id,
               (line->>'quantity')::bigint as quantity, (line->>'line_total')::bigint as line_total
        from paid
        join analytics_events created on created.type = 'commerce.order.created' and created.data->>'order_id' = paid.order_id
        cross join jsonb_array_elements(created.data->'lines') as line
      ),
      cancelled as (
        select distinct data->>'order_id' as order_id
        from analytics_events where type = 'commerce.order.status_changed' and data->>'to' = 'cancelled'
      ),
      facts as (
        select occurred_at, 1 as orders, (data->>'total')::bigint as order_value, 0::bigint as items_sold,
               0::bigint as revenue, 0::bigint as refunded, data->>'currency' as currency
        from analytics_events
        where type = 'commerce.order.created' and data->>'order_id' not in (select order_id from cancelled)
        union all
        select occurred_at, 0, 0, 0, greatest(captured - before, 0), 0, currency from payment_steps
        union all
        select occurred_at, 0, 0, 0, 0, amount, currency from refunds
        union all
        select occurred_at, 0, 0, quantity, 0, 0, currency from paid_lines
      )`;
    const inPeriod = sql`occurred_at >= ${q.from}::timestamptz and occurred_at < ${q.to}::timestamptz`;
    const inRange = sql`currency = ${q.currency} and ${inPeriod}`;
    const currencies = await sql<{ currency: string }>`
      ${facts}
      select distinct currency from facts
      where ${inPeriod} and (orders <> 0 or items_sold <> 0 or revenue <> 0 or refunded <> 0)
      order by currency`.execute(tx);
    const inRangeFacts = await sql<Fact>`
      ${facts}
      select occurred_at, orders, order_value, items_sold, revenue, refunded
      from facts where ${inRange}`.execute(tx);
    const top = await sql<Scratch['top'][number]>`
      ${facts}
      select product_id::uuid as product_id, sum(quantity)::bigint as quantity, sum(line_total)::bigint as revenue
      from paid_lines where ${inRange}
      group by product_id order by revenue desc, quantity desc, product_id limit 10`.execute(tx);
    const mix = await sql<Scratch['mix'][number]>`
      ${facts}
      select gateway, count(*) filter (where before = 0 and captured > 0)::bigint as count,
             sum(greatest(captured - before, 0))::bigint as amount
      from payment_steps where ${inRange} and captured > before
      group by gateway order by amount desc, gateway`.execute(tx);
    const sum = (key: 'orders' | 'order_value' | 'items_sold' | 'revenue' | 'refunded') =>
      inRangeFacts.rows.reduce((total, row) => total + Number(row[key]), 0);
    return {
      totals: {
        orders: sum('orders'),
        order_value: sum('order_value'),
        items_sold: sum('items_sold'),
        revenue: sum('revenue'),
        refunded: sum('refunded'),
      },
      currencies: currencies.rows.map((row) => row.currency),
      series: seriesOf(inRangeFacts.rows, q.from, q.to, q.unit, q.tz),
      top: top.rows,
      mix: mix.rows,
    };
  });
}

describe.runIf(postgresUp)('dashboard', () => {
  let testApp: TestApp;
  let db: Kysely<DB>;
  const service = new AnalyticsService();

  beforeAll(async () => {
    testApp = await createTestApp();
    db = testApp.platform.db;
  });

  afterAll(async () => {
    await testApp?.close();
  });

  /** Orders and a requested range within `window` minutes of `start`. */
  const equalsFromScratch = (start: number, window: number, numRuns: number, zones = ZONES) =>
    fc.assert(
      fc.asyncProperty(
        fc.array(orderWithin(window), { minLength: 1, maxLength: 10 }),
        fc.constantFrom(...zones),
        fc.constantFrom('hour' as const, 'day' as const),
        fc.integer({ min: 0, max: window }),
        fc.integer({ min: 1, max: window }),
        fc.constantFrom('EUR', 'USD', undefined),
        async (orders, tz, interval, fromMinute, span, currency) => {
          const tenantId = await insertTenant(db, tz);
          await emitDated(db, tenantId, chronological(orders.flatMap((order) => eventsOf(order, start))));
          await testApp.flushEvents();
          const requested = {
            from: new Date(start + fromMinute * 60_000 + 7_000).toISOString(),
            to: new Date(start + (fromMinute + span) * 60_000 + 13_000).toISOString(),
            interval,
            ...(currency ? { currency } : {}),
          };
          const dashboard = await service.dashboard(tenantReader(db, tenantId), requested);

          // The default currency is the one with most orders (ties: alphabetical).
          const counts = new Map<string, number>();
          for (const order of orders) counts.set(order.currency, (counts.get(order.currency) ?? 0) + 1);
          const mostUsed = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]![0];
          expect(dashboard.currency).toBe(currency ?? mostUsed);
          // The range widens to whole 15-minute buckets.
          expect(Date.parse(dashboard.from) % 900_000).toBe(0);
          expect(Date.parse(dashboard.to) % 900_000).toBe(0);
          expect(Date.parse(dashboard.from)).toBeLessThanOrEqual(Date.parse(requested.from));
          expect(Date.parse(dashboard.to)).toBeGreaterThanOrEqual(Date.parse(requested.to));

          const scratch = await fromScratch(db, tenantId, {
            currency: dashboard.currency!,
            from: dashboard.from,
            to: dashboard.to,
            unit: interval,
            tz,
          });
          expect({
            revenue: dashboard.revenue,
            orders: dashboard.orders,
            items_sold: dashboard.items_sold,
            refunded: dashboard.refunded,
            average_order_value: dashboard.average_order_value,
          }).toEqual({
            revenue: scratch.totals.revenue,
            orders: scratch.totals.orders,
            items_sold: scratch.totals.items_sold,
            refunded: scratch.totals.refunded,
            average_order_value:
              scratch.totals.orders === 0
                ? 0
                : Math.round(scratch.totals.order_value / scratch.totals.orders),
          });
          // Every currency with sales in the range is named, whichever one the figures are in.
          expect(dashboard.currencies).toEqual(scratch.currencies);
          // Every real hour or local day of the range is present once, in order, empty ones too.
          expect(dashboard.series).toEqual(scratch.series);
          const buckets = dashboard.series.map((point) => Date.parse(point.bucket));
          expect([...buckets].sort((a, b) => a - b)).toEqual(buckets);
          expect(new Set(buckets).size).toBe(buckets.length);
          // Real hours follow one another an hour apart, whatever the clocks do.
          if (interval === 'hour')
            for (let i = 1; i < buckets.length; i++) expect(buckets[i]! - buckets[i - 1]!).toBe(HOUR_MS);
          expect(
            dashboard.top_products.map(({ product_id, quantity, revenue }) => ({
              product_id,
              quantity,
              revenue,
            })),
          ).toEqual(scratch.top);
          for (const product of dashboard.top_products)
            expect(product.name).toBe(
              PRODUCTS.find((known) => known.product_id === product.product_id)!.name,
            );
          expect(dashboard.payment_mix).toEqual(scratch.mix);
          expect(dashboard.payment_mix.reduce((sum, gateway) => sum + gateway.amount, 0)).toBe(
            dashboard.revenue,
          );
        },
      ),
      { numRuns },
    );

  it('equals a from-scratch computation over the raw events, for random orders, payments, cancellations and refunds', async () => {
    await equalsFromScratch(START, WINDOW_MINUTES, 25);
  }, 240_000);

  it('equals it too over ranges of months', async () => {
    await equalsFromScratch(START, LONG_WINDOW_MINUTES, 15);
  }, 240_000);

  it('equals it too across the autumn clock changes, when an hour happens twice', async () => {
    await equalsFromScratch(AUTUMN_START, AUTUMN_WINDOW_MINUTES, 25, AUTUMN_ZONES);
  }, 240_000);

  it('gives each real hour its own point on the day clocks go back, and that day one point', async () => {
    const tenantId = await insertTenant(db, 'America/New_York');
    // 01:30 EDT and 01:30 EST: the same local time, an hour apart.
    const order = (created: number) =>
      eventsOf(
        {
          currency: 'EUR',
          lines: [{ product: 2, quantity: 1, unit_price: created === 0 ? 1_000 : 2_000 }],
          created,
          paidAfter: 1,
          gateway: 'manual',
          firstCapture: 100,
          refund: null,
          cancelledAfter: null,
        },
        Date.parse('2026-11-01T05:30:00Z'),
      );
    await emitDated(db, tenantId, chronological([...order(0), ...order(60)]));
    await testApp.flushEvents();
    // The local day of 1 November: 25 hours from midnight EDT to midnight EST.
    const day = { from: '2026-11-01T04:00:00.000Z', to: '2026-11-02T05:00:00.000Z', currency: 'EUR' };
    const hours = await service.dashboard(tenantReader(db, tenantId), { ...day, interval: 'hour' });
    expect(hours.series).toHaveLength(25);
    expect(hours.series.map((point) => Date.parse(point.bucket) - Date.parse(day.from))).toEqual(
      Array.from({ length: 25 }, (_, i) => i * HOUR_MS),
    );
    expect(hours.series.filter((point) => point.orders > 0)).toEqual([
      { bucket: '2026-11-01T05:00:00.000Z', revenue: 1_000, orders: 1 },
      { bucket: '2026-11-01T06:00:00.000Z', revenue: 2_000, orders: 1 },
    ]);
    const days = await service.dashboard(tenantReader(db, tenantId), { ...day, interval: 'day' });
    expect(days.series).toEqual([{ bucket: day.from, revenue: 3_000, orders: 2 }]);
  });

  it('counts in UTC for a tenant holding a time zone PostgreSQL does not know', async () => {
    // Saved before settings checked zones against PostgreSQL: Node's ICU knows it, PostgreSQL not.
    const tenantId = await insertTenant(db, 'US/Pacific-New');
    await emitDated(
      db,
      tenantId,
      chronological(
        eventsOf({
          currency: 'EUR',
          lines: [{ product: 3, quantity: 2, unit_price: 500 }],
          created: 90,
          paidAfter: 5,
          gateway: 'manual',
          firstCapture: 100,
          refund: null,
          cancelledAfter: null,
        }),
      ),
    );
    await testApp.flushEvents();
    const range = { from: new Date(START).toISOString(), to: new Date(START + DAY_MS).toISOString() };
    const dashboard = await service.dashboard(tenantReader(db, tenantId), { ...range, interval: 'hour' });
    expect(dashboard).toMatchObject({ time_zone: 'UTC', currency: 'EUR', orders: 1, revenue: 1_000 });
    expect(dashboard.series).toHaveLength(24);
    expect(dashboard.series.find((point) => point.orders > 0)!.bucket).toBe(
      new Date(START + HOUR_MS).toISOString(),
    );
    const today = await withTenant(db, tenantId, (tx) => service.todayMetrics(tx));
    expect(today.time_zone).toBe('UTC');
  });

  it('takes ranges up to the last bucket of year 9999 and from 1970, in any time zone', async () => {
    for (const zone of ['Pacific/Kiritimati', 'Pacific/Pago_Pago']) {
      const tenantId = await insertTenant(db, zone);
      const read = tenantReader(db, tenantId);
      for (const interval of ['hour', 'day'] as const) {
        const last = await service.dashboard(read, {
          currency: 'EUR',
          from: '9999-12-30T00:00:00Z',
          to: '9999-12-31T23:45:00Z',
          interval,
        });
        expect(last.to).toBe('9999-12-31T23:45:00.000Z');
        expect(last.series.length).toBeGreaterThan(0);
        const first = await service.dashboard(read, {
          currency: 'EUR',
          from: '1970-01-01T00:00:00Z',
          to: '1970-01-02T00:00:00Z',
          interval,
        });
        expect(first.from).toBe('1970-01-01T00:00:00.000Z');
        expect(first.series.length).toBeGreaterThan(0);
      }
      for (const [query, path] of [
        [{ from: '9999-12-30T00:00:00Z', to: '9999-12-31T23:59:59Z' }, 'to'],
        [{ from: '1969-12-31T23:59:59Z', to: '1970-01-02T00:00:00Z' }, 'from'],
        [{ to: '1970-01-01T00:00:00Z' }, 'to'],
      ] as const)
        await expect(service.dashboard(read, { currency: 'EUR', ...query })).rejects.toMatchObject({
          code: 'validation_failed',
          errors: [{ path }],
        });
      // Without a from, the default 30 days stop at 1970.
      const early = await service.dashboard(read, { currency: 'EUR', to: '1970-01-05T00:00:00Z' });
      expect(early.from).toBe('1970-01-01T00:00:00.000Z');
    }
  });

  it('counts a paid order whose paid event arrives before its created event', async () => {
    const tenantId = await insertTenant(db);
    const [event] = chronological(
      eventsOf({
        currency: 'EUR',
        lines: [{ product: 0, quantity: 3, unit_price: 1_000 }],
        created: 60,
        paidAfter: 30,
        gateway: 'stripe',
        firstCapture: 100,
        refund: null,
        cancelledAfter: null,
      }),
    );
    const paid = chronological(
      eventsOf({
        currency: 'EUR',
        lines: [{ product: 0, quantity: 3, unit_price: 1_000 }],
        created: 60,
        paidAfter: 30,
        gateway: 'stripe',
        firstCapture: 100,
        refund: null,
        cancelledAfter: null,
      }),
    ).find((candidate) => candidate.type === 'commerce.order.status_changed')!;
    // The paid event of the created event's order, delivered first.
    const created = event as Extract<DatedEvent, { type: 'commerce.order.created' }>;
    const paidForCreated = {
      ...paid,
      data: { ...paid.data, order_id: created.data.order_id },
    } as DatedEvent;
    await emitDated(db, tenantId, [paidForCreated, created]);
    await testApp.flushEvents();
    const dashboard = await service.dashboard(tenantReader(db, tenantId), {
      from: new Date(START).toISOString(),
      to: new Date(START + 86_400_000).toISOString(),
    });
    expect(dashboard).toMatchObject({ orders: 1, items_sold: 3, average_order_value: 3_000 });
    expect(dashboard.top_products).toEqual([
      { product_id: PRODUCTS[0]!.product_id, name: PRODUCTS[0]!.name, quantity: 3, revenue: 3_000 },
    ]);
  });

  it('takes a cancelled order out of the orders and the average where it was placed, once, whichever event comes first', async () => {
    const tenantId = await insertTenant(db);
    const unpaid = (unitPrice: number, created: number, cancelledAfter: number | null) =>
      eventsOf({
        currency: 'EUR',
        lines: [{ product: 4, quantity: 1, unit_price: unitPrice }],
        created,
        paidAfter: null,
        gateway: 'manual',
        firstCapture: 100,
        refund: null,
        cancelledAfter,
      });
    // Cancelled two days after it was placed, and told twice (a second event, not a redelivery).
    const [placedA, cancelledA] = unpaid(1_000, 60, 2 * 24 * 60);
    const [placedB] = unpaid(3_000, 90, null);
    // Its cancellation is delivered before it is placed.
    const [placedC, cancelledC] = unpaid(2_000, 120, 5);
    // Placed and cancelled in one batch.
    const [placedD, cancelledD] = unpaid(4_000, 150, 1);
    await emitDated(db, tenantId, [placedA!, placedB!, cancelledC!]);
    await testApp.flushEvents();
    await emitDated(db, tenantId, [placedC!, placedD!, cancelledD!, cancelledA!]);
    await testApp.flushEvents();
    await emitDated(db, tenantId, [{ ...cancelledA!, at: new Date(cancelledA!.at.getTime() + 60_000) }]);
    await testApp.flushEvents();

    const read = tenantReader(db, tenantId);
    const placedDay = await service.dashboard(read, {
      from: new Date(START).toISOString(),
      to: new Date(START + DAY_MS).toISOString(),
      interval: 'hour',
    });
    expect(placedDay).toMatchObject({
      currency: 'EUR',
      currencies: ['EUR'],
      orders: 1,
      average_order_value: 3_000,
    });
    expect(placedDay.series.filter((point) => point.orders !== 0)).toEqual([
      { bucket: new Date(START + HOUR_MS).toISOString(), revenue: 0, orders: 1 },
    ]);
    // The day of the cancellations counts nothing, rather than less than nothing.
    const cancelledDay = await service.dashboard(read, {
      from: new Date(START + 2 * DAY_MS).toISOString(),
      to: new Date(START + 3 * DAY_MS).toISOString(),
    });
    expect(cancelledDay).toMatchObject({ currencies: [], orders: 0, average_order_value: 0 });
    const rows = await withTenant(db, tenantId, (tx) =>
      tx.selectFrom('analytics_sales_buckets').select(['orders', 'order_value']).execute(),
    );
    expect(rows.every((row) => row.orders >= 0 && row.order_value >= 0)).toBe(true);
  });

  it('names every currency with sales in the range, whichever one it shows', async () => {
    const tenantId = await insertTenant(db);
    const order = (currency: string, created: number, paid: boolean) =>
      eventsOf({
        currency,
        lines: [{ product: 5, quantity: 1, unit_price: 900 }],
        created,
        paidAfter: paid ? 5 : null,
        gateway: 'manual',
        firstCapture: 100,
        refund: null,
        cancelledAfter: null,
      });
    // GBP sold only before the range; CHF's only order is cancelled; USD was only paid in it.
    await emitDated(
      db,
      tenantId,
      chronological([
        ...order('EUR', 60, false),
        ...order('EUR', 70, false),
        ...order('GBP', -600, false),
        ...eventsOf({
          currency: 'CHF',
          lines: [{ product: 5, quantity: 1, unit_price: 900 }],
          created: 80,
          paidAfter: null,
          gateway: 'manual',
          firstCapture: 100,
          refund: null,
          cancelledAfter: 10,
        }),
        ...order('USD', -10, true).map((event) =>
          event.type === 'commerce.order.created'
            ? event
            : { ...event, at: new Date(event.at.getTime() + 20 * 60_000) },
        ),
      ]),
    );
    await testApp.flushEvents();
    const range = { from: new Date(START).toISOString(), to: new Date(START + DAY_MS).toISOString() };
    const read = tenantReader(db, tenantId);
    expect(await service.dashboard(read, range)).toMatchObject({
      currency: 'EUR',
      currencies: ['EUR', 'USD'],
    });
    expect(await service.dashboard(read, { ...range, currency: 'GBP' })).toMatchObject({
      currency: 'GBP',
      currencies: ['EUR', 'USD'],
      orders: 0,
    });
  });

  it("gives today's figures per currency in the tenant's time zone", async () => {
    const tenantId = await insertTenant(db, 'Asia/Kathmandu');
    const now = new Date();
    const order = (currency: 'EUR' | 'USD', minutesAgo: number) =>
      eventsOf({
        currency,
        lines: [{ product: 1, quantity: 1, unit_price: 700 }],
        created: 0,
        paidAfter: 1,
        gateway: 'manual',
        firstCapture: 100,
        refund: null,
        cancelledAfter: null,
      }).map((event) => ({
        ...event,
        at: new Date(now.getTime() - minutesAgo * 60_000 + (event.at.getTime() - START)),
      }));
    const startOfDay = await withTenant(
      db,
      tenantId,
      async (tx) =>
        (
          await sql<{
            start: Date;
          }>`select date_trunc('day', now() at time zone 'Asia/Kathmandu') at time zone 'Asia/Kathmandu' as start`.execute(
            tx,
          )
        ).rows[0]!.start,
    );
    const minutesToday = Math.floor((now.getTime() - startOfDay.getTime()) / 60_000);
    const events = [...order('EUR', Math.min(5, minutesToday)), ...order('USD', Math.min(5, minutesToday))];
    // One from before the local midnight: not today.
    events.push(
      ...order('EUR', minutesToday + 20).filter((event) => event.at.getTime() < startOfDay.getTime()),
    );
    await emitDated(
      db,
      tenantId,
      chronological(events).filter((event) => event.at <= now),
    );
    await testApp.flushEvents();
    const today = await withTenant(db, tenantId, (tx) => service.todayMetrics(tx, now));
    expect(today.time_zone).toBe('Asia/Kathmandu');
    expect(today.from).toBe(startOfDay.toISOString());
    expect(today.orders).toBe(2);
    expect(today.revenue).toEqual([
      { currency: 'EUR', amount: 700 },
      { currency: 'USD', amount: 700 },
    ]);
  });
});
