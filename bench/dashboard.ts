/**
 * Analytics: dashboard latency (p50/p99) with 1,000,000 stored events and 100,000 orders in the
 * tenant, beside a from-scratch scan of the same store; and the consumers' events/s into the
 * historical store and the rollups, beside bare single-row insert transactions: for orders placed,
 * and for cash sales (placed, payment processed, paid), whose paid orders also write the product
 * and payment rollups.
 *
 * The history is bulk-loaded with SQL in the shape the consumers write (the rollups are the
 * aggregation of the same generated orders); the consumer rates go through the real path
 * (applyOnce: processed_events dedupe + the handler, one transaction per event).
 */
import { uuidv7 } from '@tessera/contracts';
import { sql } from 'kysely';
import { createAnalyticsModule } from '../apps/api/src/modules/analytics';
import { envelopeAt } from '../apps/api/src/modules/analytics/testing';
import { tenantReader, withSystem, withTenant } from '../apps/api/src/platform/db/tenant';
import { applyOnce } from '../apps/api/src/platform/events/delivery';
import type { Platform } from '../apps/api/src/platform/platform';
import { createTestDatabase } from '../apps/api/test/support/database';
import { percentile, report } from './lib';

const ORDERS = 100_000;
const EVENTS = 1_000_000;
const PRODUCTS = 500;
const DAYS = 90;

async function timed<T>(work: () => Promise<T>): Promise<number> {
  const started = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

export async function benchDashboard(iterations = 300, consumerEvents = 5_000): Promise<void> {
  const scratch = await createTestDatabase({ poolSize: 8 });
  const db = scratch.database.db;
  try {
    const tenantId = uuidv7();
    const { service, module } = createAnalyticsModule({ db } as Platform);
    const now = new Date();
    await withSystem(db, async (tx) => {
      await tx
        .insertInto('tenants')
        .values({ id: tenantId, name: 'Bench', time_zone: 'Europe/Berlin' })
        .execute();
      for (let month = -4; month <= 1; month++)
        await sql`select analytics_ensure_partition(${new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + month, 1)).toISOString()}::timestamptz)`.execute(
          tx,
        );
    });
    const loadStarted = Date.now();
    await withTenant(db, tenantId, async (tx) => {
      await sql`create temp table bench_products on commit drop as
        select n, gen_random_uuid() as id from generate_series(1, ${PRODUCTS}) as n`.execute(tx);
      await sql`create temp table bench_orders on commit drop as
        select n, gen_random_uuid() as id,
               ${now.toISOString()}::timestamptz - random() * ${`${DAYS} days`}::interval as created_at,
               case when n % 10 = 0 then 'USD' else 'EUR' end as currency,
               n % 5 <> 0 as paid, n % 20 = 0 as refunded,
               (array['stripe', 'square', 'paypal', 'manual'])[1 + n % 4] as gateway
        from generate_series(1, ${ORDERS}) as n`.execute(tx);
      await sql`create temp table bench_lines on commit drop as
        select o.id as order_id, o.created_at, o.currency, o.paid, p.id as product_id,
               1 + (o.n + k) % 3 as quantity, 500 + ((o.n * 7 + k) % 40) * 100 as unit_price
        from bench_orders o
        cross join generate_series(1, 1 + o.n % 3) as k
        join bench_products p on p.n = 1 + (o.n * 13 + k * 101) % ${PRODUCTS}`.execute(tx);
      await sql`create temp table bench_totals on commit drop as
        select o.*, t.total, t.units from bench_orders o
        join (select order_id, sum(quantity * unit_price) as total, sum(quantity) as units from bench_lines group by 1) t
          on t.order_id = o.id`.execute(tx);
      const bucket = (column: string) =>
        sql.raw(`to_timestamp(floor(extract(epoch from ${column}) / 900) * 900)`);
      // The history: each order's created event, and tracked events up to a million in all.
      await sql`
        insert into analytics_events (tenant_id, occurred_at, id, type, stream, version, actor_type, actor_id, data)
        select ${tenantId}::uuid, created_at, gen_random_uuid(), 'commerce.order.created', 'events:commerce', 1, 'system', null,
               jsonb_build_object('order_id', id, 'number', n, 'status', 'pending', 'payment_status', 'unpaid',
                 'currency', currency, 'subtotal', total, 'total', total, 'customer_email', null, 'lines', '[]'::jsonb)
        from bench_totals`.execute(tx);
      await sql`
        insert into analytics_events (tenant_id, occurred_at, id, type, stream, version, actor_type, actor_id, data)
        select ${tenantId}::uuid, ${now.toISOString()}::timestamptz - random() * ${`${DAYS} days`}::interval, gen_random_uuid(),
               'analytics.event.tracked', 'events:analytics', 1, 'user', gen_random_uuid(),
               jsonb_build_object('name', 'product_viewed', 'properties', jsonb_build_object('n', n),
                 'anonymous_id', null, 'user_id', null, 'occurred_at', now())
        from generate_series(1, ${EVENTS - ORDERS}) as n`.execute(tx);
      // The rollups the consumers would have kept for those orders: placed at created_at,
      // captured and paid five minutes later, refunded (in full) a day after that.
      await sql`
        insert into analytics_sales_buckets (tenant_id, currency, bucket, orders, order_value, items_sold, revenue, refunded)
        select ${tenantId}::uuid, currency, bucket, sum(orders), sum(order_value), sum(items_sold), sum(revenue), sum(refunded)
        from (
          select currency, ${bucket('created_at')} as bucket, 1 as orders, total as order_value, 0 as items_sold, 0 as revenue, 0 as refunded from bench_totals
          union all
          select currency, ${bucket("created_at + interval '5 minutes'")}, 0, 0, units, total, 0 from bench_totals where paid
          union all
          select currency, ${bucket("created_at + interval '1 day 5 minutes'")}, 0, 0, 0, 0, total from bench_totals where paid and refunded
        ) as facts
        group by currency, bucket`.execute(tx);
      await sql`
        insert into analytics_gateway_buckets (tenant_id, currency, bucket, gateway, payments, amount)
        select ${tenantId}::uuid, currency, ${bucket("created_at + interval '5 minutes'")}, gateway, count(*), sum(total)
        from bench_totals where paid group by 2, 3, 4`.execute(tx);
      await sql`
        insert into analytics_gateway_days (tenant_id, currency, day, gateway, payments, amount)
        select ${tenantId}::uuid, currency, ((created_at + interval '5 minutes') at time zone 'UTC')::date, gateway, count(*), sum(total)
        from bench_totals where paid group by 2, 3, 4`.execute(tx);
      await sql`
        insert into analytics_product_buckets (tenant_id, currency, bucket, product_id, quantity, revenue)
        select ${tenantId}::uuid, currency, ${bucket("created_at + interval '5 minutes'")}, product_id, sum(quantity), sum(quantity * unit_price)
        from bench_lines where paid group by 2, 3, 4`.execute(tx);
      await sql`
        insert into analytics_product_days (tenant_id, currency, day, product_id, quantity, revenue)
        select ${tenantId}::uuid, currency, ((created_at + interval '5 minutes') at time zone 'UTC')::date, product_id, sum(quantity), sum(quantity * unit_price)
        from bench_lines where paid group by 2, 3, 4`.execute(tx);
      await sql`
        insert into analytics_product_months (tenant_id, currency, month, product_id, quantity, revenue)
        select tenant_id, currency, date_trunc('month', day)::date, product_id, sum(quantity), sum(revenue)
        from analytics_product_days group by 1, 2, 3, 4`.execute(tx);
      await sql`
        insert into analytics_currencies (tenant_id, currency, orders)
        select ${tenantId}::uuid, currency, count(*) from bench_orders group by 2`.execute(tx);
      await sql`
        insert into analytics_products (tenant_id, product_id, sku, name, paid_orders, quantity)
        select ${tenantId}::uuid, p.id, 'SKU-' || p.n, 'Product ' || p.n,
               (select count(distinct order_id) from bench_lines l where l.product_id = p.id and l.paid),
               (select coalesce(sum(quantity), 0) from bench_lines l where l.product_id = p.id and l.paid)
        from bench_products p`.execute(tx);
      await sql`
        insert into analytics_stock (tenant_id, product_id, sku, on_hand, reserved, available, low_stock_threshold, low_stock, updated_at, event_id)
        select ${tenantId}::uuid, id, 'SKU-' || n, n % 40, 0, n % 40, 5, n % 40 <= 5, now(), gen_random_uuid()
        from bench_products`.execute(tx);
    });
    await sql`analyze`.execute(db);
    console.log(
      `loaded ${EVENTS.toLocaleString('en-US')} events and ${ORDERS.toLocaleString('en-US')} orders in ${((Date.now() - loadStarted) / 1000).toFixed(1)} s`,
    );

    const day = 86_400_000;
    const scenarios: { name: string; query: Parameters<typeof service.dashboard>[1] }[] = [
      { name: '30 days by day', query: {} },
      {
        name: '7 days by hour',
        query: {
          interval: 'hour',
          from: new Date(now.getTime() - 7 * day).toISOString(),
          to: now.toISOString(),
        },
      },
      {
        name: '90 days by day',
        query: {
          interval: 'day',
          from: new Date(now.getTime() - DAYS * day).toISOString(),
          to: now.toISOString(),
        },
      },
    ];
    const scratchScan = async () => {
      const from = new Date(now.getTime() - 30 * day).toISOString();
      await withTenant(db, tenantId, (tx) =>
        sql`select date_trunc('day', occurred_at at time zone 'Europe/Berlin') as day, count(*), sum((data->>'total')::bigint)
            from analytics_events where type = 'commerce.order.created' and data->>'currency' = 'EUR'
              and occurred_at >= ${from}::timestamptz and occurred_at < ${now.toISOString()}::timestamptz
            group by 1`.execute(tx),
      );
    };
    const scanTimes: number[] = [];
    for (let i = 0; i < 20; i++) scanTimes.push(await timed(scratchScan));
    scanTimes.sort((a, b) => a - b);
    for (const scenario of scenarios) {
      for (let i = 0; i < 20; i++) await service.dashboard(tenantReader(db, tenantId), scenario.query, now);
      const times: number[] = [];
      for (let i = 0; i < iterations; i++)
        times.push(await timed(() => service.dashboard(tenantReader(db, tenantId), scenario.query, now)));
      times.sort((a, b) => a - b);
      const baseline = {
        name: 'from-scratch scan of 30 days (p50)',
        value: percentile(scanTimes, 50),
        unit: 'ms',
      };
      report({
        benchmark: 'dashboard',
        metric: `${scenario.name} p50`,
        value: percentile(times, 50),
        unit: 'ms',
        baseline,
      });
      report({
        benchmark: 'dashboard',
        metric: `${scenario.name} p99`,
        value: percentile(times, 99),
        unit: 'ms',
        baseline,
        goal: '<= 50 ms',
      });
    }

    // Consumers: the real exactly-once path, one transaction per event, sequentially.
    const [storeConsumer, metricsConsumer] = module.consumers!;
    const placed = (n: number, at: Date, orderId: string, productId: string) =>
      envelopeAt(tenantId, 'commerce.order.created', at, {
        order_id: orderId,
        number: n,
        status: 'pending',
        payment_status: 'unpaid',
        currency: 'EUR',
        subtotal: 1_000,
        total: 1_000,
        customer_email: null,
        lines: [
          { product_id: productId, sku: 'B', name: 'B', quantity: 1, unit_price: 1_000, line_total: 1_000 },
        ],
      });
    const events = Array.from({ length: consumerEvents }, (_, n) =>
      placed(n, new Date(now.getTime() - n * 1000), uuidv7(), uuidv7()),
    );
    // An order's whole life as a cash sale: placed, its payment processed, then paid; over a
    // catalog of 300 products, so that the paid orders' product rollups update rows they made.
    const catalog = Array.from({ length: 300 }, () => uuidv7());
    const sales = Array.from({ length: Math.floor(consumerEvents / 3) }, (_, n) => {
      const at = new Date(now.getTime() - n * 1000);
      const orderId = uuidv7();
      return [
        placed(n, at, orderId, catalog[n % catalog.length]!),
        envelopeAt(tenantId, 'commerce.payment.processed', at, {
          payment_id: uuidv7(),
          order_id: orderId,
          gateway: 'manual',
          status: 'completed',
          amount: 1_000,
          amount_captured: 1_000,
          amount_refunded: 0,
          currency: 'EUR',
          failure_code: null,
          failure_message: null,
        }),
        envelopeAt(tenantId, 'commerce.order.status_changed', at, {
          order_id: orderId,
          number: n,
          from: 'pending',
          to: 'paid',
          payment_status: 'paid',
          total: 1_000,
          currency: 'EUR',
        }),
      ];
    }).flat();
    const bare = Math.min(2_000, consumerEvents);
    const bareMs = await timed(async () => {
      for (let n = 0; n < bare; n++)
        await withTenant(db, tenantId, (tx) =>
          sql`insert into analytics_events (tenant_id, occurred_at, id, type, stream, version, actor_type, actor_id, data)
              values (${tenantId}::uuid, now(), gen_random_uuid(), 'bench', 'events:bench', 1, 'system', null, '{}'::jsonb)`.execute(
            tx,
          ),
        );
    });
    const bareRate = {
      name: 'bare single-row insert transactions',
      value: bare / (bareMs / 1000),
      unit: 'events/s',
    };
    for (const [mix, fed] of [
      ['orders placed', events],
      ['cash sales', sales],
    ] as const) {
      for (const consumer of [storeConsumer!, metricsConsumer!]) {
        const ms = await timed(async () => {
          for (const event of fed) await applyOnce(db, consumer, event);
        });
        report({
          benchmark: 'dashboard',
          metric: `${consumer.name} events/s, ${mix} (1 worker)`,
          value: fed.length / (ms / 1000),
          unit: 'events/s',
          baseline: bareRate,
        });
      }
    }
  } finally {
    await scratch.drop();
  }
}
