import type { EventEnvelope } from '@tessera/contracts';
import { streamOf } from '@tessera/contracts';
import { sql, type Generated, type Insertable } from 'kysely';
import { PLAN_EACH_TIME } from '../../platform/db/pg-client';
import type { Json, Timestamp } from '../../platform/db/tables';
import type { Executor, Tx } from '../../platform/db/tenant';

export interface AnalyticsEventsTable {
  tenant_id: string;
  occurred_at: Timestamp;
  id: string;
  type: string;
  stream: string;
  version: number;
  actor_type: string;
  actor_id: string | null;
  data: Json<unknown>;
  stored_at: Generated<Date>;
}

interface SalesBucketsTable {
  tenant_id: string;
  currency: string;
  bucket: Timestamp;
  orders: Generated<number>;
  order_value: Generated<number>;
  items_sold: Generated<number>;
  revenue: Generated<number>;
  refunded: Generated<number>;
}

interface GatewayBucketsTable {
  tenant_id: string;
  currency: string;
  bucket: Timestamp;
  gateway: string;
  payments: Generated<number>;
  amount: Generated<number>;
}

interface GatewayDaysTable {
  tenant_id: string;
  currency: string;
  day: string;
  gateway: string;
  payments: Generated<number>;
  amount: Generated<number>;
}

interface ProductMonthsTable {
  tenant_id: string;
  currency: string;
  month: string;
  product_id: string;
  quantity: Generated<number>;
  revenue: Generated<number>;
}

interface ProductBucketsTable {
  tenant_id: string;
  currency: string;
  bucket: Timestamp;
  product_id: string;
  quantity: Generated<number>;
  revenue: Generated<number>;
}

interface ProductDaysTable {
  tenant_id: string;
  currency: string;
  day: string;
  product_id: string;
  quantity: Generated<number>;
  revenue: Generated<number>;
}

interface CurrenciesTable {
  tenant_id: string;
  currency: string;
  orders: Generated<number>;
}

export interface StoredOrderLine {
  product_id: string;
  quantity: number;
  line_total: number;
}

interface OrdersTable {
  tenant_id: string;
  order_id: string;
  currency: string | null;
  total: number | null;
  lines: Json<StoredOrderLine[]>;
  created_seen: Generated<boolean>;
  /** When the created event says the order was placed: the bucket its cancellation takes it out of. */
  placed_at: Timestamp | null;
  paid_at: Timestamp | null;
  cancelled_at: Timestamp | null;
}

interface PaymentsTable {
  tenant_id: string;
  payment_id: string;
  gateway: string;
  currency: string;
  captured: Generated<number>;
}

interface RefundsTable {
  tenant_id: string;
  refund_id: string;
  amount: number;
  currency: string;
  processed_at: Timestamp;
}

interface ProductsTable {
  tenant_id: string;
  product_id: string;
  sku: string | null;
  name: string | null;
  paid_orders: Generated<number>;
  quantity: Generated<number>;
}

interface ProductPairsTable {
  tenant_id: string;
  product_id: string;
  other_id: string;
  orders: Generated<number>;
}

export interface StockTable {
  tenant_id: string;
  product_id: string;
  sku: string;
  on_hand: number;
  reserved: number;
  available: number;
  low_stock_threshold: number;
  low_stock: boolean;
  updated_at: Timestamp;
  event_id: string;
}

declare module '../../platform/db/tables' {
  interface DB {
    analytics_events: AnalyticsEventsTable;
    analytics_sales_buckets: SalesBucketsTable;
    analytics_gateway_buckets: GatewayBucketsTable;
    analytics_gateway_days: GatewayDaysTable;
    analytics_product_buckets: ProductBucketsTable;
    analytics_product_days: ProductDaysTable;
    analytics_product_months: ProductMonthsTable;
    analytics_currencies: CurrenciesTable;
    analytics_orders: OrdersTable;
    analytics_payments: PaymentsTable;
    analytics_refunds: RefundsTable;
    analytics_products: ProductsTable;
    analytics_product_pairs: ProductPairsTable;
    analytics_stock: StockTable;
  }
}

export interface StoredEvent {
  id: string;
  position_at: string;
  tenant_id: string;
  type: string;
  stream: string;
  occurred_at: Date;
  version: number;
  actor_type: string;
  actor_id: string | null;
  data: unknown;
  stored_at: Date;
}

export interface EventFilter {
  type?: string;
  from?: Date;
  to?: Date;
}

/** Keyset position: the last row's (occurred_at, id). */
export interface EventPosition {
  occurred_at: string;
  id: string;
}

export interface SalesIncrement {
  orders?: number;
  order_value?: number;
  items_sold?: number;
  revenue?: number;
  refunded?: number;
}

export interface SalesBump extends SalesIncrement {
  currency: string;
  bucket: Date;
}

export interface SalesTotals {
  orders: number;
  order_value: number;
  items_sold: number;
  revenue: number;
  refunded: number;
}

export interface SeriesRow extends SalesTotals {
  bucket: Date;
}

export interface ProductTotal {
  product_id: string;
  quantity: number;
  revenue: number;
}

export interface GatewayTotal {
  gateway: string;
  count: number;
  amount: number;
}

export interface PairScore {
  product_id: string;
  score: number;
}

export interface ProductSnapshot {
  product_id: string;
  sku: string | null;
  name: string | null;
}

/** A product's row of the dashboard's product table: its latest name and what its paid orders add. */
export interface ProductBump extends ProductSnapshot {
  paid_orders: number;
  quantity: number;
}

/** The additive rollups of paid products and captured payments, by bucket, UTC day or month. */
export type RollupName =
  | 'analytics_product_buckets'
  | 'analytics_product_days'
  | 'analytics_product_months'
  | 'analytics_gateway_buckets'
  | 'analytics_gateway_days';

/** What to add to one rollup row: its currency, time (bucket, UTC day or month) and key, two sums. */
export interface RollupBump {
  currency: string;
  at: Date | string;
  key: string;
  sums: [number, number];
}

export interface PairBump {
  product_id: string;
  other_id: string;
  orders: number;
}

export interface StockRow {
  product_id: string;
  sku: string;
  on_hand: number;
  reserved: number;
  available: number;
  low_stock_threshold: number;
  updated_at: Date;
}

const DAY_MS = 86_400_000;

/** A time's UTC day, as the day rollups key it. */
export const utcDay = (time: Date): string => time.toISOString().slice(0, 10);

/** A half-open range of a rollup's time column: ISO timestamps for buckets, dates for days and months. */
interface Span {
  from: string;
  to: string;
}

/**
 * A range as a day rollup reads it: the whole UTC days within it (null if it holds none), and its
 * ragged ends (the whole range, if it holds no whole day) to read from the 15-minute buckets, as
 * two index ranges rather than one range with a filter.
 */
function splitIntoDays(from: Date, to: Date): { days: Span | null; head: Span; tail: Span } {
  const firstDay = new Date(Math.ceil(from.getTime() / DAY_MS) * DAY_MS);
  const endDay = new Date(Math.floor(to.getTime() / DAY_MS) * DAY_MS);
  const span = (start: Date, end: Date) => ({ from: start.toISOString(), to: end.toISOString() });
  if (!(firstDay < endDay)) return { days: null, head: span(from, to), tail: span(to, to) };
  return {
    days: { from: utcDay(firstDay), to: utcDay(endDay) },
    head: span(from, firstDay),
    tail: span(endDay, to),
  };
}

/**
 * The whole UTC days of a range as a month rollup reads them: the whole months within (null if
 * none), and the days before and after them (null where there are none; a span may be empty).
 */
function splitIntoMonths(days: Span | null) {
  if (!days) return { months: null, before: null, after: null };
  const first = new Date(`${days.from}T00:00:00Z`);
  const end = new Date(`${days.to}T00:00:00Z`);
  const firstMonth = new Date(
    Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + (first.getUTCDate() === 1 ? 0 : 1), 1),
  );
  const endMonth = new Date(Date.UTC(end.getUTCFullYear(), end.getUTCMonth(), 1));
  if (!(firstMonth < endMonth)) return { months: null, before: days, after: null };
  return {
    months: { from: utcDay(firstMonth), to: utcDay(endMonth) },
    before: { from: days.from, to: utcDay(firstMonth) },
    after: { from: utcDay(endMonth), to: days.to },
  };
}

const PRODUCT_TOTALS = ['product_id', 'quantity', 'revenue'];
const GATEWAY_TOTALS = ['gateway', 'payments', 'amount'];

/**
 * The `columns` of a rollup's rows in one currency within a span of its time column (`bucket`,
 * `day` or `month`); none for a null span, in the same statement text so that it stays prepared.
 */
function rollupRows(table: string, time: 'bucket' | 'day' | 'month', columns: string[]) {
  return (currency: string, span: Span | null) => {
    const type = sql.raw(time === 'bucket' ? 'timestamptz' : 'date');
    const column = sql.ref(time);
    return sql`
        select ${sql.join(columns.map((name) => sql.ref(name)))} from ${sql.table(table)}
        where ${span !== null} and currency = ${currency}
          and ${column} >= ${span?.from ?? null}::${type} and ${column} < ${span?.to ?? null}::${type}`;
  };
}

const productMonths = rollupRows('analytics_product_months', 'month', PRODUCT_TOTALS);
const productDays = rollupRows('analytics_product_days', 'day', PRODUCT_TOTALS);
const productBuckets = rollupRows('analytics_product_buckets', 'bucket', PRODUCT_TOTALS);
const gatewayDays = rollupRows('analytics_gateway_days', 'day', GATEWAY_TOTALS);
const gatewayBuckets = rollupRows('analytics_gateway_buckets', 'bucket', GATEWAY_TOTALS);

/** An additive rollup's columns: per tenant, currency, time and key, two sums. */
interface Rollup {
  time: 'bucket' | 'day' | 'month';
  key: 'product_id' | 'gateway';
  keyType: 'uuid' | 'text';
  sums: readonly [string, string];
}

const product = (time: Rollup['time']): Rollup => ({
  time,
  key: 'product_id',
  keyType: 'uuid',
  sums: ['quantity', 'revenue'],
});
const gateway = (time: Rollup['time']): Rollup => ({
  time,
  key: 'gateway',
  keyType: 'text',
  sums: ['payments', 'amount'],
});

const ROLLUPS: Record<RollupName, Rollup> = {
  analytics_product_buckets: product('bucket'),
  analytics_product_days: product('day'),
  analytics_product_months: product('month'),
  analytics_gateway_buckets: gateway('bucket'),
  analytics_gateway_days: gateway('day'),
};

/** Adds to one rollup's rows, one statement for all of them. */
async function bumpRollup(tx: Tx, name: RollupName, tenantId: string, rows: RollupBump[]): Promise<void> {
  if (rows.length === 0) return;
  const rollup = ROLLUPS[name];
  const keyType = sql.raw(rollup.keyType);
  const values = rows.map(
    (row) =>
      sql`(${tenantId}::uuid, ${row.currency}, ${row.at}, ${row.key}::${keyType}, ${row.sums[0]}::bigint, ${row.sums[1]}::bigint)`,
  );
  const [time, key] = [sql.ref(rollup.time), sql.ref(rollup.key)];
  const [first, second] = rollup.sums.map((name) => sql.ref(name));
  await sql`
    insert into ${sql.table(name)} as rollup (tenant_id, currency, ${time}, ${key}, ${first}, ${second})
    values ${sql.join(values)}
    on conflict (tenant_id, currency, ${time}, ${key}) do update
      set ${first} = rollup.${first} + excluded.${first}, ${second} = rollup.${second} + excluded.${second}`.execute(
    tx,
  );
}

/** The SQL of the analytics module; every function takes the caller's tenant transaction. */
/**
 * A row for each order, blank where none was yet: a paid or cancelled event may come before the
 * order's created event, and marks the row that event fills in later.
 */
async function ensureOrderRows(tx: Tx, tenantId: string, orders: { order_id: string }[]): Promise<void> {
  await tx
    .insertInto('analytics_orders')
    .values(
      orders.map((order) => ({
        tenant_id: tenantId,
        order_id: order.order_id,
        currency: null,
        total: null,
        lines: '[]',
      })),
    )
    .onConflict((conflict) => conflict.doNothing())
    .execute();
}

export const analyticsRepository = {
  async ensurePartition(tx: Tx, at: Date): Promise<void> {
    await sql`select analytics_ensure_partition(${at.toISOString()}::timestamptz)`.execute(tx);
  },

  async storeEvents(tx: Tx, events: EventEnvelope[]): Promise<void> {
    await tx
      .insertInto('analytics_events')
      .values(
        events.map((event) => ({
          tenant_id: event.tenant_id,
          occurred_at: event.occurred_at,
          id: event.id,
          type: event.type,
          stream: streamOf(event.type),
          version: event.version,
          actor_type: event.actor.type,
          actor_id: event.actor.id,
          data: JSON.stringify(event.data),
        })),
      )
      .onConflict((conflict) => conflict.doNothing())
      .execute();
  },

  /** Events in (occurred_at, id) order after `after`, ascending or descending. */
  async listEvents(
    db: Executor,
    filter: EventFilter,
    after: EventPosition | null,
    limit: number,
    direction: 'asc' | 'desc',
  ): Promise<StoredEvent[]> {
    let query = db.selectFrom('analytics_events').select([
      'id',
      'tenant_id',
      'type',
      'stream',
      'occurred_at',
      'version',
      'actor_type',
      'actor_id',
      'data',
      'stored_at',
      // The exact stored instant (microseconds), so that the next page starts right after it.
      sql<string>`to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('position_at'),
    ]);
    if (filter.type) query = query.where('type', '=', filter.type);
    if (filter.from) query = query.where('occurred_at', '>=', filter.from);
    if (filter.to) query = query.where('occurred_at', '<', filter.to);
    if (after) {
      const position = sql<boolean>`(occurred_at, id) ${sql.raw(direction === 'asc' ? '>' : '<')} (${after.occurred_at}::timestamptz, ${after.id}::uuid)`;
      query = query.where(position);
    }
    const rows = await query
      .orderBy('occurred_at', direction)
      .orderBy('id', direction)
      .limit(limit)
      .execute();
    return rows;
  },

  /** Adds to the sales rollups, one row per (currency, bucket): all in one statement. */
  async bumpSales(tx: Tx, tenantId: string, rows: SalesBump[]): Promise<void> {
    if (rows.length === 0) return;
    await tx
      .insertInto('analytics_sales_buckets')
      .values(
        rows.map((row) => ({
          tenant_id: tenantId,
          currency: row.currency,
          bucket: row.bucket,
          orders: row.orders ?? 0,
          order_value: row.order_value ?? 0,
          items_sold: row.items_sold ?? 0,
          revenue: row.revenue ?? 0,
          refunded: row.refunded ?? 0,
        })),
      )
      .onConflict((conflict) =>
        conflict.columns(['tenant_id', 'currency', 'bucket']).doUpdateSet({
          orders: sql`analytics_sales_buckets.orders + excluded.orders`,
          order_value: sql`analytics_sales_buckets.order_value + excluded.order_value`,
          items_sold: sql`analytics_sales_buckets.items_sold + excluded.items_sold`,
          revenue: sql`analytics_sales_buckets.revenue + excluded.revenue`,
          refunded: sql`analytics_sales_buckets.refunded + excluded.refunded`,
        }),
      )
      .execute();
  },

  /** Counts orders per currency, one row per currency. */
  async bumpCurrencies(
    tx: Tx,
    tenantId: string,
    rows: { currency: string; orders: number }[],
  ): Promise<void> {
    if (rows.length === 0) return;
    await tx
      .insertInto('analytics_currencies')
      .values(rows.map((row) => ({ tenant_id: tenantId, currency: row.currency, orders: row.orders })))
      .onConflict((conflict) =>
        conflict
          .columns(['tenant_id', 'currency'])
          .doUpdateSet({ orders: sql`analytics_currencies.orders + excluded.orders` }),
      )
      .execute();
  },

  /** Adds to the product and payment-mix rollups, one statement per rollup (its rows in key order). */
  async bumpRollups(tx: Tx, tenantId: string, rollups: [RollupName, RollupBump[]][]): Promise<void> {
    for (const [name, rows] of rollups) await bumpRollup(tx, name, tenantId, rows);
  },

  /** Adds to the counts of paid orders that held both products of a pair (rows in key order). */
  async bumpPairs(tx: Tx, tenantId: string, rows: PairBump[]): Promise<void> {
    if (rows.length === 0) return;
    await sql`
      insert into analytics_product_pairs (tenant_id, product_id, other_id, orders)
      select ${tenantId}::uuid, pair.product_id, pair.other_id, pair.orders
      from unnest(${rows.map((row) => row.product_id)}::uuid[], ${rows.map((row) => row.other_id)}::uuid[],
                  ${rows.map((row) => row.orders)}::int[]) as pair(product_id, other_id, orders)
      on conflict (tenant_id, product_id, other_id)
      do update set orders = analytics_product_pairs.orders + excluded.orders`.execute(tx);
  },

  /**
   * Takes the tenant's metrics lock until the transaction ends. A batch writes rollup rows as its
   * events come (a paid order's product rows) and then the gathered ones in key order (sales,
   * products, stock), so two workers applying one tenant's events could lock shared rows in
   * opposite orders and deadlock; one batch of a tenant at a time cannot.
   */
  async lockTenantMetrics(tx: Tx, tenantId: string): Promise<void> {
    await sql`select pg_advisory_xact_lock(hashtextextended(${`analytics-metrics:${tenantId}`}, 0))`.execute(
      tx,
    );
  },

  /**
   * Products, at most one row each: a name or SKU replaces the known one (a null keeps it), and
   * the paid orders and units add up.
   */
  async bumpProducts(tx: Tx, tenantId: string, products: ProductBump[]): Promise<void> {
    if (products.length === 0) return;
    await tx
      .insertInto('analytics_products')
      .values(products.map((product) => ({ tenant_id: tenantId, ...product })))
      .onConflict((conflict) =>
        conflict.columns(['tenant_id', 'product_id']).doUpdateSet({
          sku: sql`coalesce(excluded.sku, analytics_products.sku)`,
          name: sql`coalesce(excluded.name, analytics_products.name)`,
          paid_orders: sql`analytics_products.paid_orders + excluded.paid_orders`,
          quantity: sql`analytics_products.quantity + excluded.quantity`,
        }),
      )
      .execute();
  },

  /**
   * Records placed orders (their lines, for when they are paid, and when they were placed, for when
   * they are cancelled); resolves to when each was already paid or cancelled (its event came
   * first), by order id.
   */
  async recordOrdersCreated(
    tx: Tx,
    tenantId: string,
    orders: {
      order_id: string;
      currency: string;
      total: number;
      lines: StoredOrderLine[];
      placed_at: Date;
    }[],
  ): Promise<Map<string, { paid_at: Date | null; cancelled_at: Date | null }>> {
    // One row per order: a statement may not upsert the same row twice.
    const rows = [...new Map(orders.map((order) => [order.order_id, order])).values()].map((order) => ({
      tenant_id: tenantId,
      order_id: order.order_id,
      currency: order.currency,
      total: order.total,
      lines: JSON.stringify(order.lines),
      created_seen: true,
      placed_at: order.placed_at,
    }));
    const recorded = await tx
      .insertInto('analytics_orders')
      .values(rows)
      .onConflict((conflict) =>
        conflict.columns(['tenant_id', 'order_id']).doUpdateSet((eb) => ({
          currency: eb.ref('excluded.currency'),
          total: eb.ref('excluded.total'),
          lines: eb.ref('excluded.lines'),
          created_seen: true,
          placed_at: eb.ref('excluded.placed_at'),
        })),
      )
      .returning(['order_id', 'paid_at', 'cancelled_at'])
      .execute();
    return new Map(
      recorded.map((row) => [row.order_id, { paid_at: row.paid_at, cancelled_at: row.cancelled_at }]),
    );
  },

  /**
   * Marks orders paid, each once (at most one entry per order). Resolves to those newly paid whose
   * lines are known (their created event came first); the others are counted when it comes.
   */
  async recordOrdersPaid(
    tx: Tx,
    tenantId: string,
    paid: { order_id: string; paid_at: Date }[],
  ): Promise<{ order_id: string; currency: string; lines: StoredOrderLine[]; paid_at: Date }[]> {
    if (paid.length === 0) return [];
    await ensureOrderRows(tx, tenantId, paid);
    const rows = await sql<{
      order_id: string;
      currency: string | null;
      lines: StoredOrderLine[];
      created_seen: boolean;
      paid_at: Date;
    }>`${sql.raw(PLAN_EACH_TIME)}
      update analytics_orders as o set paid_at = v.paid_at
      from unnest(${paid.map((order) => order.order_id)}::uuid[], ${paid.map((order) => order.paid_at)}::timestamptz[])
        as v(order_id, paid_at)
      where o.order_id = v.order_id and o.paid_at is null
      returning o.order_id, o.currency, o.lines, o.created_seen, o.paid_at`.execute(tx);
    return rows.rows.flatMap((row) =>
      row.created_seen && row.currency
        ? [{ order_id: row.order_id, currency: row.currency, lines: row.lines, paid_at: row.paid_at }]
        : [],
    );
  },

  /**
   * Marks orders cancelled, each once (at most one entry per order). Resolves to those newly
   * cancelled whose placement was counted (their created event came first), with what it added to
   * which bucket; an order whose created event comes later is not counted then.
   */
  async recordOrdersCancelled(
    tx: Tx,
    tenantId: string,
    cancelled: { order_id: string; cancelled_at: Date }[],
  ): Promise<{ order_id: string; currency: string; total: number; placed_at: Date }[]> {
    if (cancelled.length === 0) return [];
    await ensureOrderRows(tx, tenantId, cancelled);
    const rows = await sql<{
      order_id: string;
      currency: string | null;
      total: number | null;
      placed_at: Date | null;
    }>`${sql.raw(PLAN_EACH_TIME)}
      update analytics_orders as o set cancelled_at = v.cancelled_at
      from unnest(${cancelled.map((order) => order.order_id)}::uuid[], ${cancelled.map((order) => order.cancelled_at)}::timestamptz[])
        as v(order_id, cancelled_at)
      where o.order_id = v.order_id and o.cancelled_at is null
      returning o.order_id, o.currency, o.total, o.placed_at`.execute(tx);
    return rows.rows.flatMap((row) =>
      row.currency !== null && row.total !== null && row.placed_at !== null
        ? [{ order_id: row.order_id, currency: row.currency, total: row.total, placed_at: row.placed_at }]
        : [],
    );
  },

  /**
   * Locks the payments' counter rows (creating them at zero), in key order, and resolves to what
   * was counted of each so far.
   */
  async lockPayments(
    tx: Tx,
    tenantId: string,
    payments: { payment_id: string; gateway: string; currency: string }[],
  ): Promise<Map<string, number>> {
    if (payments.length === 0) return new Map();
    const inKeyOrder = [...payments].sort((a, b) => (a.payment_id < b.payment_id ? -1 : 1));
    await tx
      .insertInto('analytics_payments')
      .values(inKeyOrder.map((payment) => ({ tenant_id: tenantId, ...payment })))
      .onConflict((conflict) => conflict.doNothing())
      .execute();
    const { rows } = await sql<{ payment_id: string; captured: number }>`${sql.raw(PLAN_EACH_TIME)}
      select payment_id, captured from analytics_payments
      where payment_id = any(${inKeyOrder.map((payment) => payment.payment_id)}::uuid[])
      order by payment_id for update`.execute(tx);
    return new Map(rows.map((row) => [row.payment_id, row.captured]));
  },

  async setPaymentsCaptured(tx: Tx, rows: { payment_id: string; captured: number }[]): Promise<void> {
    if (rows.length === 0) return;
    await sql`${sql.raw(PLAN_EACH_TIME)}
      update analytics_payments as p set captured = v.captured
      from unnest(${rows.map((row) => row.payment_id)}::uuid[], ${rows.map((row) => row.captured)}::bigint[])
        as v(payment_id, captured)
      where p.payment_id = v.payment_id`.execute(tx);
  },

  /** True when the refund was not counted before. */
  async recordRefund(
    tx: Tx,
    tenantId: string,
    refundId: string,
    amount: number,
    currency: string,
    processedAt: Date,
  ): Promise<boolean> {
    const row = await tx
      .insertInto('analytics_refunds')
      .values({ tenant_id: tenantId, refund_id: refundId, amount, currency, processed_at: processedAt })
      .onConflict((conflict) => conflict.doNothing())
      .returning('refund_id')
      .executeTakeFirst();
    return row !== undefined;
  },

  /** Stock snapshots, at most one per product; an older event never overwrites a newer one. */
  async upsertStock(tx: Tx, rows: Insertable<StockTable>[]): Promise<void> {
    if (rows.length === 0) return;
    await tx
      .insertInto('analytics_stock')
      .values(rows)
      .onConflict((conflict) =>
        conflict
          .columns(['tenant_id', 'product_id'])
          .doUpdateSet({
            sku: sql`excluded.sku`,
            on_hand: sql`excluded.on_hand`,
            reserved: sql`excluded.reserved`,
            available: sql`excluded.available`,
            low_stock_threshold: sql`excluded.low_stock_threshold`,
            low_stock: sql`excluded.low_stock`,
            updated_at: sql`excluded.updated_at`,
            event_id: sql`excluded.event_id`,
          })
          .where(sql<boolean>`analytics_stock.event_id < excluded.event_id`),
      )
      .execute();
  },

  /** When the local day holding `at` began in `timeZone` (DST-aware). */
  async startOfLocalDay(db: Executor, at: Date, timeZone: string): Promise<Date> {
    const result = await sql<{ start: Date }>`
      select date_trunc('day', ${at.toISOString()}::timestamptz at time zone ${timeZone}) at time zone ${timeZone} as start`.execute(
      db,
    );
    return result.rows[0]!.start;
  },

  async localDate(db: Executor, at: Date, timeZone: string): Promise<string> {
    const result = await sql<{ date: string }>`
      select to_char(${at.toISOString()}::timestamptz at time zone ${timeZone}, 'YYYY-MM-DD') as date`.execute(
      db,
    );
    return result.rows[0]!.date;
  },

  async mostUsedCurrency(db: Executor): Promise<string | null> {
    const row = await db
      .selectFrom('analytics_currencies')
      .select('currency')
      .orderBy('orders', 'desc')
      .orderBy('currency')
      .limit(1)
      .executeTakeFirst();
    return row?.currency ?? null;
  },

  /**
   * The currencies with something to show in [from, to): orders placed and not cancelled, money
   * captured or refunded, units sold. One index probe per currency the tenant ever sold in.
   */
  async currenciesWithSales(db: Executor, from: Date, to: Date): Promise<string[]> {
    const rows = await db
      .selectFrom('analytics_currencies as c')
      .select('c.currency')
      .where((eb) =>
        eb.exists(
          eb
            .selectFrom('analytics_sales_buckets as b')
            .select(sql`1`.as('one'))
            .whereRef('b.currency', '=', 'c.currency')
            .where('b.bucket', '>=', from)
            .where('b.bucket', '<', to)
            .where((eb) =>
              eb.or([
                eb('b.orders', '<>', 0),
                eb('b.revenue', '<>', 0),
                eb('b.refunded', '<>', 0),
                eb('b.items_sold', '<>', 0),
              ]),
            ),
        ),
      )
      .orderBy('c.currency')
      .execute();
    return rows.map((row) => row.currency);
  },

  /**
   * The sales rollup of [from, to) grouped into the tenant's hours or local days, every bucket of
   * the range present (zero when empty). A bucket's key is its start as an instant.
   *
   * Hours are real hours: each 15-minute bucket belongs to the hour that starts where its local
   * time's minutes do (the bucket's instant less its local minutes), so the hour that repeats when
   * clocks go back is two points an hour apart, and every zone's :30 or :45 offset is respected.
   * Days are local calendar days, 23 or 25 hours long on the days clocks change.
   */
  async salesSeries(
    db: Executor,
    currency: string,
    from: Date,
    to: Date,
    unit: 'hour' | 'day',
    timeZone: string,
  ): Promise<SeriesRow[]> {
    const sums = sql`
      sum(orders)::bigint as orders, sum(order_value)::bigint as order_value,
      sum(items_sold)::bigint as items_sold, sum(revenue)::bigint as revenue,
      sum(refunded)::bigint as refunded`;
    const inRange = sql`
      currency = ${currency}
      and bucket >= ${from.toISOString()}::timestamptz and bucket < ${to.toISOString()}::timestamptz`;
    const values = sql`
      coalesce(data.orders, 0) as orders, coalesce(data.order_value, 0) as order_value,
      coalesce(data.items_sold, 0) as items_sold, coalesce(data.revenue, 0) as revenue,
      coalesce(data.refunded, 0) as refunded`;
    if (unit === 'hour') {
      const hourOf = (instant: string) => {
        const ref = sql.ref(instant);
        return sql`${ref} - ((${ref} at time zone ${timeZone}) - date_trunc('hour', ${ref} at time zone ${timeZone}))`;
      };
      const result = await sql<SeriesRow>`
        with keys as (
          select distinct ${hourOf('b')} as hour
          -- Every 15-minute bucket of the range (the service's BUCKET_MS).
          from generate_series(
            ${from.toISOString()}::timestamptz,
            ${to.toISOString()}::timestamptz - interval '15 minutes',
            interval '15 minutes'
          ) as b
        ),
        data as (
          select ${hourOf('bucket')} as hour, ${sums}
          from analytics_sales_buckets
          where ${inRange}
          group by 1
        )
        select keys.hour as bucket, ${values}
        from keys left join data using (hour)
        order by keys.hour`.execute(db);
      return result.rows;
    }
    const result = await sql<SeriesRow>`
      with keys as (
        -- Distinct round trips drop local times that do not exist (a DST gap) as their own bucket.
        select distinct date_trunc('day', (l at time zone ${timeZone}) at time zone ${timeZone}) as local_bucket
        from generate_series(
          date_trunc('day', ${from.toISOString()}::timestamptz at time zone ${timeZone}),
          (${to.toISOString()}::timestamptz - interval '1 microsecond') at time zone ${timeZone},
          interval '1 day'
        ) as l
      ),
      data as (
        select date_trunc('day', bucket at time zone ${timeZone}) as local_bucket, ${sums}
        from analytics_sales_buckets
        where ${inRange}
        group by 1
      )
      select keys.local_bucket at time zone ${timeZone} as bucket, ${values}
      from keys left join data using (local_bucket)
      order by keys.local_bucket`.execute(db);
    return result.rows;
  },

  /** Sales totals of [from, to) per currency, straight from the buckets. */
  async salesTotalsByCurrency(
    db: Executor,
    from: Date,
    to: Date,
  ): Promise<(SalesTotals & { currency: string })[]> {
    return db
      .selectFrom('analytics_sales_buckets')
      .select([
        'currency',
        sql<number>`sum(orders)::bigint`.as('orders'),
        sql<number>`sum(order_value)::bigint`.as('order_value'),
        sql<number>`sum(items_sold)::bigint`.as('items_sold'),
        sql<number>`sum(revenue)::bigint`.as('revenue'),
        sql<number>`sum(refunded)::bigint`.as('refunded'),
      ])
      .where('bucket', '>=', from)
      .where('bucket', '<', to)
      .groupBy('currency')
      .orderBy('currency')
      .execute();
  },

  /**
   * Products by revenue over [from, to): whole UTC months inside the range from the monthly
   * rollup, the other whole days from the daily one, the ragged ends from the 15-minute one.
   */
  async topProducts(
    db: Executor,
    currency: string,
    from: Date,
    to: Date,
    limit: number,
  ): Promise<ProductTotal[]> {
    const { days, head, tail } = splitIntoDays(from, to);
    const { months, before, after } = splitIntoMonths(days);
    const result = await sql<ProductTotal>`
      select product_id, sum(quantity)::bigint as quantity, sum(revenue)::bigint as revenue
      from (
        ${productMonths(currency, months)}
        union all
        ${productDays(currency, before)}
        union all
        ${productDays(currency, after)}
        union all
        ${productBuckets(currency, head)}
        union all
        ${productBuckets(currency, tail)}
      ) as sold
      group by product_id
      order by revenue desc, quantity desc, product_id
      limit ${limit}`.execute(db);
    return result.rows;
  },

  /** The payment mix over [from, to): whole UTC days from the daily rollup, the ends from buckets. */
  async gatewayTotals(db: Executor, currency: string, from: Date, to: Date): Promise<GatewayTotal[]> {
    const { days, head, tail } = splitIntoDays(from, to);
    const result = await sql<GatewayTotal>`
      select gateway, sum(payments)::bigint as count, sum(amount)::bigint as amount
      from (
        ${gatewayDays(currency, days)}
        union all
        ${gatewayBuckets(currency, head)}
        union all
        ${gatewayBuckets(currency, tail)}
      ) as paid
      group by gateway
      order by amount desc, gateway`.execute(db);
    return result.rows;
  },

  async productSnapshots(db: Executor, productIds: string[]): Promise<ProductSnapshot[]> {
    if (productIds.length === 0) return [];
    return db
      .selectFrom('analytics_products')
      .select(['product_id', 'sku', 'name'])
      .where('product_id', 'in', productIds)
      .execute();
  },

  async lowStock(db: Executor, limit: number): Promise<StockRow[]> {
    return db
      .selectFrom('analytics_stock')
      .select(['product_id', 'sku', 'on_hand', 'reserved', 'available', 'low_stock_threshold', 'updated_at'])
      .where('low_stock', '=', true)
      .orderBy('available')
      .orderBy('product_id')
      .limit(limit)
      .execute();
  },

  /**
   * Products bought with `productId` in paid orders, by cosine similarity of their order sets:
   * together / sqrt(orders with A × orders with B), so a best seller's sheer volume does not win.
   */
  async boughtTogether(db: Executor, productId: string, limit: number, offset: number): Promise<PairScore[]> {
    const result = await sql<PairScore>`
      select pairs.other_id as product_id,
             pairs.orders / sqrt(mine.paid_orders::float8 * theirs.paid_orders::float8) as score
      from analytics_product_pairs as pairs
      join analytics_products as mine on mine.product_id = pairs.product_id
      join analytics_products as theirs on theirs.product_id = pairs.other_id
      where pairs.product_id = ${productId}::uuid
        and mine.paid_orders > 0 and theirs.paid_orders > 0
      order by score desc, pairs.orders desc, pairs.other_id
      limit ${limit} offset ${offset}`.execute(db);
    return result.rows;
  },

  /** Best sellers by paid orders holding them; the score is relative to the best seller's (1). */
  async popular(db: Executor, limit: number, offset: number): Promise<PairScore[]> {
    const result = await sql<PairScore>`
      select product_id,
             paid_orders::float8 / (select max(paid_orders) from analytics_products)::float8 as score
      from analytics_products
      where paid_orders > 0
      order by paid_orders desc, quantity desc, product_id
      limit ${limit} offset ${offset}`.execute(db);
    return result.rows;
  },
};
