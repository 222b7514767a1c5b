import { Type } from '@sinclair/typebox';
import {
  isEventType,
  type Dashboard,
  type DashboardInterval,
  type EventDataMap,
  type EventEnvelope,
  type EventType,
  type PaymentEventData,
  type Recommendations,
  type StoredEventDto,
  type TodayMetrics,
  type WarehouseEventRow,
} from '@tessera/contracts';
import type { Kysely } from 'kysely';
import type { DB } from '../../platform/db/tables';
import { transactionHooks, withTenant, type TenantReader, type Tx } from '../../platform/db/tenant';
import { PostgresTimeZones, tenantTimeZone } from '../../platform/db/time-zones';
import { AppError } from '../../platform/errors';
import { addEvents, userActor } from '../../platform/events/outbox';
import { PendingMetrics } from './pending-metrics';
import type { Principal } from '../../platform/http/auth-guard';
import { decodeCursor, encodeCursor, Uuid } from '../../platform/http/schemas';
import {
  analyticsRepository as repo,
  type EventFilter,
  type EventPosition,
  type SalesTotals,
  type StockRow,
  type StoredEvent,
  type StoredOrderLine,
} from './repository';

/** The rollups' granularity: every real time zone's offset is a whole number of these. */
export const BUCKET_MS = 15 * 60_000;
const DAY_MS = 86_400_000;
/** A dashboard's range when `from` is not given, and the most points its series may hold. */
export const DEFAULT_RANGE_MS = 30 * DAY_MS;
export const MAX_SERIES_BUCKETS = 5_000;
const TOP_PRODUCTS = 10;
const LOW_STOCK_ITEMS = 20;
const EXPORT_CHUNK = 1_000;
const EXPORT_SLICE = 100;
export const MAX_TRACK_BATCH = 100;
const MAX_PROPERTIES_BYTES = 16_384;
const CLOCK_SKEW_MS = 5 * 60_000;
/**
 * The instants the dashboard and tracking accept: years 1970 to 9999. Later ones round up into
 * year 10000, which neither ISO 8601's four-digit years nor PostgreSQL's input take; earlier
 * ones are no sales nor client events of this platform (and year 0 is no year to PostgreSQL).
 */
const MIN_INSTANT = new Date('1970-01-01T00:00:00Z');
/** The last bucket start of year 9999: a range's end rounds up to at most this. */
const MAX_INSTANT = new Date('9999-12-31T23:45:00Z');

/** The catalog's view of products (CatalogService.findProductsByIds), when the catalog is wired in. */
export interface ProductDirectory {
  findProductsByIds(
    tx: Tx,
    ids: string[],
  ): Promise<{ id: string; sku: string; name: string; active: boolean }[]>;
}

/** Inventory's low-stock list (InventoryService.listLowStock), when inventory is wired in. */
export interface LowStockSource {
  listLowStock(
    tx: Tx,
    limit: number,
  ): Promise<
    {
      product_id: string;
      sku: string;
      on_hand: number;
      reserved: number;
      available: number;
      low_stock_threshold: number;
      updated_at: string | Date;
    }[]
  >;
}

export interface AnalyticsDeps {
  products?: ProductDirectory;
  lowStock?: LowStockSource;
}

export interface TrackInput {
  name: string;
  properties?: Record<string, unknown>;
  occurred_at?: string;
  anonymous_id?: string;
}

export interface DashboardQuery {
  from?: string;
  to?: string;
  interval?: DashboardInterval;
  currency?: string;
}

export interface EventsQuery {
  type?: string;
  from?: string;
  to?: string;
  limit?: number;
  cursor?: string;
}

export const floorToBucket = (ms: number): number => Math.floor(ms / BUCKET_MS) * BUCKET_MS;
const ceilToBucket = (ms: number): number => Math.ceil(ms / BUCKET_MS) * BUCKET_MS;

const invalid = (path: string, message: string) =>
  new AppError('validation_failed', message, { errors: [{ path, message }] });

function parseInstant(value: string | undefined, path: string): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw invalid(path, 'must be an ISO 8601 date-time');
  return date;
}

/** What the tenant's dashboards count in when its stored time zone is unusable. */
const FALLBACK_TIME_ZONE = 'UTC';

/**
 * The events list's cursor: the last row's exact stored instant, as listEvents writes it
 * (to_char, microseconds, UTC), and its id. Both are cast in SQL, so both are checked here.
 */
const EventCursor = Type.Object({
  occurred_at: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,6})?Z$' }),
  id: Uuid,
});

/** Whether a cursor's instant (of EventCursor's shape) is real: year 1 on, real dates and times. */
function isCursorInstant(value: string): boolean {
  const seconds = value.slice(0, 19);
  const date = new Date(`${seconds}Z`);
  return (
    !Number.isNaN(date.getTime()) &&
    date.getUTCFullYear() >= 1 &&
    // JavaScript rolls 2026-02-30 over into March; the round trip tells it apart.
    date.toISOString().slice(0, 19) === seconds
  );
}

const average = (sum: number, count: number) => (count === 0 ? 0 : Math.round(sum / count));

function data<T extends EventType>(event: EventEnvelope, _type: T): EventDataMap[T] {
  return event.data as EventDataMap[T];
}

/** What one batch of metric events gathers before writing it. */
interface MetricsBatch {
  pending: PendingMetrics;
  /** Orders that became paid, by id: the first time each did. */
  paid: Map<string, { order_id: string; paid_at: Date }>;
  /** Orders that were cancelled, by id: the first time each was. */
  cancelled: Map<string, { order_id: string; cancelled_at: Date }>;
  payments: { bucket: Date; payment: PaymentEventData }[];
}

const bucketOf = (at: Date) => new Date(floorToBucket(at.getTime()));

/** Sums an order's lines per product: one rollup row and one pair per product. */
function linesByProduct(lines: StoredOrderLine[]): StoredOrderLine[] {
  const byProduct = new Map<string, StoredOrderLine>();
  for (const line of lines) {
    const seen = byProduct.get(line.product_id);
    if (seen) {
      seen.quantity += line.quantity;
      seen.line_total += line.line_total;
    } else {
      byProduct.set(line.product_id, { ...line });
    }
  }
  return [...byProduct.values()];
}

function toDto(row: StoredEvent): StoredEventDto {
  return {
    id: row.id,
    type: row.type as EventType,
    stream: row.stream,
    occurred_at: row.occurred_at.toISOString(),
    version: row.version,
    actor: { type: row.actor_type as 'user' | 'system', id: row.actor_id },
    data: row.data,
    stored_at: row.stored_at.toISOString(),
  };
}

/** The warehouse row: the stored columns as they are (docs/analytics.md gives its BigQuery schema). */
export function toWarehouseRow(row: StoredEvent): WarehouseEventRow {
  return {
    id: row.id,
    tenant_id: row.tenant_id,
    type: row.type,
    stream: row.stream,
    occurred_at: row.position_at,
    version: row.version,
    actor_type: row.actor_type,
    actor_id: row.actor_id,
    data: row.data,
    stored_at: row.stored_at.toISOString(),
  };
}

function stockDto(row: StockRow | Awaited<ReturnType<LowStockSource['listLowStock']>>[number]) {
  return {
    product_id: row.product_id,
    sku: row.sku,
    on_hand: row.on_hand,
    reserved: row.reserved,
    available: row.available,
    low_stock_threshold: row.low_stock_threshold,
    updated_at: row.updated_at instanceof Date ? row.updated_at.toISOString() : row.updated_at,
  };
}

/**
 * Analytics: keeps the historical store and the rollups from domain events, and answers the
 * dashboard, recommendations, event listing and export from them.
 */
export class AnalyticsService {
  /** Months whose store partition is known to exist (creating one takes a lock: do it rarely). */
  private readonly partitions = new Set<string>();
  private readonly postgresZones = new PostgresTimeZones();

  constructor(private readonly deps: AnalyticsDeps = {}) {}

  /** Stores events of one tenant in the historical store, in one insert (the consumer's exactly-once makes each once). */
  async storeEvents(tx: Tx, events: EventEnvelope[]): Promise<void> {
    const months = new Set(events.map((event) => event.occurred_at.slice(0, 7)));
    for (const month of months) {
      if (this.partitions.has(month)) continue;
      const at = new Date(`${month}-01T00:00:00Z`);
      await repo.ensurePartition(tx, at);
      // The next month too, so that the first event of a month rarely has to create it.
      await repo.ensurePartition(tx, new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1)));
      // Remembered once it has committed: a rolled-back partition must be created again.
      transactionHooks(tx).afterCommit.push(() => this.partitions.add(month));
    }
    await repo.storeEvents(tx, events);
  }

  /**
   * Applies domain events of one tenant to the rollups, counters and snapshots. Paid orders and
   * payments are gathered and applied after the others, in a few statements for the whole batch:
   * what they add does not depend on the order of events, and an order's payment comes after its
   * creation on the commerce stream (when it does not, the later creation counts it).
   */
  async applyMetrics(tx: Tx, events: EventEnvelope[]): Promise<void> {
    if (events.length === 0) return;
    const tenantId = events[0]!.tenant_id;
    await repo.lockTenantMetrics(tx, tenantId);
    const batch: MetricsBatch = {
      pending: new PendingMetrics(),
      paid: new Map(),
      cancelled: new Map(),
      payments: [],
    };
    for (let start = 0; start < events.length;) {
      // Orders placed one after another are recorded in one statement.
      let end = start;
      while (events[end]?.type === 'commerce.order.created') end++;
      if (end > start) {
        await this.applyOrdersCreated(tx, events.slice(start, end), batch.pending);
        start = end;
      } else {
        await this.applyEventMetrics(tx, events[start]!, batch);
        start++;
      }
    }
    for (const order of await repo.recordOrdersPaid(tx, tenantId, [...batch.paid.values()])) {
      batch.pending.addPaidOrder(order.currency, bucketOf(order.paid_at), linesByProduct(order.lines));
    }
    // A cancelled order is no longer an order placed: it leaves the bucket it was placed in.
    for (const order of await repo.recordOrdersCancelled(tx, tenantId, [...batch.cancelled.values()])) {
      batch.pending.addSales(order.currency, bucketOf(order.placed_at), {
        orders: -1,
        order_value: -order.total,
      });
    }
    await this.applyPayments(tx, tenantId, batch);
    await batch.pending.write(tx, tenantId);
  }

  private async applyOrdersCreated(tx: Tx, events: EventEnvelope[], pending: PendingMetrics): Promise<void> {
    const orders = events.map((event) => {
      const order = data(event, 'commerce.order.created');
      const lines = order.lines.map((line) => ({
        product_id: line.product_id,
        quantity: line.quantity,
        line_total: line.line_total,
      }));
      pending.countOrder(order.currency);
      pending.rememberProducts(
        linesByProduct(lines).map((line) => {
          const named = order.lines.find((candidate) => candidate.product_id === line.product_id)!;
          return { product_id: line.product_id, sku: named.sku, name: named.name };
        }),
      );
      return {
        order_id: order.order_id,
        currency: order.currency,
        total: order.total,
        lines,
        placed_at: new Date(event.occurred_at),
      };
    });
    const seen = await repo.recordOrdersCreated(tx, events[0]!.tenant_id, orders);
    for (const order of orders) {
      const { paid_at, cancelled_at } = seen.get(order.order_id)!;
      // Its cancellation came first: it is no order placed.
      if (!cancelled_at)
        pending.addSales(order.currency, bucketOf(order.placed_at), { orders: 1, order_value: order.total });
      if (paid_at) pending.addPaidOrder(order.currency, bucketOf(paid_at), linesByProduct(order.lines));
    }
  }

  private async applyEventMetrics(tx: Tx, event: EventEnvelope, batch: MetricsBatch): Promise<void> {
    const tenantId = event.tenant_id;
    const at = new Date(event.occurred_at);
    switch (event.type) {
      case 'payment.created':
      case 'payment.captured':
      case 'payment.completed':
      case 'payment.failed':
      case 'commerce.payment.processed':
        batch.payments.push({ bucket: bucketOf(at), payment: event.data as PaymentEventData });
        return;
      case 'commerce.order.created':
        await this.applyOrdersCreated(tx, [event], batch.pending);
        return;
      case 'commerce.order.status_changed': {
        const change = data(event, 'commerce.order.status_changed');
        if (change.to === 'paid' && !batch.paid.has(change.order_id)) {
          batch.paid.set(change.order_id, { order_id: change.order_id, paid_at: at });
        }
        if (change.to === 'cancelled' && !batch.cancelled.has(change.order_id)) {
          batch.cancelled.set(change.order_id, { order_id: change.order_id, cancelled_at: at });
        }
        return;
      }
      case 'refund.processed': {
        const refund = data(event, 'refund.processed');
        if (refund.status !== 'processed') return;
        const counted = await repo.recordRefund(
          tx,
          tenantId,
          refund.refund_id,
          refund.amount,
          refund.currency,
          at,
        );
        if (counted) batch.pending.addSales(refund.currency, bucketOf(at), { refunded: refund.amount });
        return;
      }
      case 'inventory.stock.updated': {
        const stock = data(event, 'inventory.stock.updated');
        batch.pending.snapshotStock({
          tenant_id: tenantId,
          product_id: stock.product_id,
          sku: stock.sku,
          on_hand: stock.on_hand,
          reserved: stock.reserved,
          available: stock.available,
          low_stock_threshold: stock.low_stock_threshold,
          low_stock: stock.low_stock,
          updated_at: at,
          event_id: event.id,
        });
        batch.pending.rememberProducts([{ product_id: stock.product_id, sku: stock.sku, name: null }]);
        return;
      }
      case 'refund.created':
      case 'payment.disputed':
      case 'auth.user.created':
      case 'auth.user.login':
      case 'analytics.event.tracked':
        return;
    }
  }

  /**
   * Revenue is money captured: each payment event adds what its captured amount grew by beyond
   * what was counted (the counters of the batch's payments are locked together, in key order), in
   * the event's bucket; a payment joins the payment mix when it first captures.
   */
  private async applyPayments(tx: Tx, tenantId: string, batch: MetricsBatch): Promise<void> {
    if (batch.payments.length === 0) return;
    const counted = await repo.lockPayments(
      tx,
      tenantId,
      [...new Map(batch.payments.map(({ payment }) => [payment.payment_id, payment])).values()].map(
        (payment) => ({
          payment_id: payment.payment_id,
          gateway: payment.gateway,
          currency: payment.currency,
        }),
      ),
    );
    const captured = new Map<string, number>();
    for (const { bucket, payment } of batch.payments) {
      const before = captured.get(payment.payment_id) ?? counted.get(payment.payment_id) ?? 0;
      const grown = payment.amount_captured - before;
      if (grown <= 0) continue;
      captured.set(payment.payment_id, payment.amount_captured);
      batch.pending.addSales(payment.currency, bucket, { revenue: grown });
      batch.pending.addGatewayPayment(payment.currency, bucket, payment.gateway, {
        payments: before === 0 ? 1 : 0,
        amount: grown,
      });
    }
    await repo.setPaymentsCaptured(
      tx,
      [...captured].map(([payment_id, amount]) => ({ payment_id, captured: amount })),
    );
  }

  /** Publishes client events as analytics.event.tracked through the outbox. */
  async track(tx: Tx, principal: Principal, inputs: TrackInput[]): Promise<string[]> {
    if (inputs.length === 0) throw invalid('events', 'must hold at least one event');
    if (inputs.length > MAX_TRACK_BATCH)
      throw invalid('events', `must hold at most ${MAX_TRACK_BATCH} events`);
    const now = Date.now();
    const events = inputs.map((input, index) => {
      const path = inputs.length > 1 ? `/events/${index}` : '';
      const occurredAt = parseInstant(input.occurred_at, `${path}/occurred_at`);
      if (occurredAt && occurredAt.getTime() > now + CLOCK_SKEW_MS)
        throw invalid(`${path}/occurred_at`, 'must not be in the future');
      // The store could not take it (year 0), and the consumer would retry it into a dead letter.
      if (occurredAt && occurredAt < MIN_INSTANT)
        throw invalid(`${path}/occurred_at`, `must not be before ${MIN_INSTANT.toISOString()}`);
      const properties = input.properties ?? {};
      if (Buffer.byteLength(JSON.stringify(properties)) > MAX_PROPERTIES_BYTES)
        throw invalid(`${path}/properties`, `must be at most ${MAX_PROPERTIES_BYTES} bytes as JSON`);
      return {
        type: 'analytics.event.tracked' as const,
        tenantId: principal.tenantId,
        actor: userActor(principal.userId),
        data: {
          name: input.name,
          properties,
          anonymous_id: input.anonymous_id ?? null,
          user_id: principal.userId,
          occurred_at: (occurredAt ?? new Date(now)).toISOString(),
        },
      };
    });
    const envelopes = addEvents(tx, events);
    return envelopes.map((envelope) => envelope.id);
  }

  private eventFilter(query: { type?: string; from?: string; to?: string }): EventFilter {
    if (query.type !== undefined && !isEventType(query.type)) throw invalid('type', 'is not an event type');
    const from = parseInstant(query.from, 'from');
    const to = parseInstant(query.to, 'to');
    if (from && to && from >= to) throw invalid('to', 'must be after from');
    return {
      ...(query.type ? { type: query.type } : {}),
      ...(from ? { from } : {}),
      ...(to ? { to } : {}),
    };
  }

  /** The historical store, newest first, keyset-paginated. */
  async listEvents(
    tx: Tx,
    query: EventsQuery,
  ): Promise<{ data: StoredEventDto[]; next_cursor: string | null }> {
    const filter = this.eventFilter(query);
    const limit = query.limit ?? 50;
    const after = decodeCursor(query.cursor, EventCursor, (cursor) => isCursorInstant(cursor.occurred_at));
    const rows = await repo.listEvents(tx, filter, after, limit + 1, 'desc');
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      data: page.map(toDto),
      next_cursor:
        rows.length > limit && last ? encodeCursor({ occurred_at: last.position_at, id: last.id }) : null,
    };
  }

  /** Validates an export's range before the response starts (errors after that cannot be told). */
  exportFilter(query: { type?: string; from?: string; to?: string }): EventFilter {
    return this.eventFilter(query);
  }

  /**
   * The store as NDJSON, oldest first, one chunk per keyset page: each page is its own short
   * transaction, and the next is read only when the consumer asks for more (backpressure).
   */
  async *exportLines(db: Kysely<DB>, tenantId: string, filter: EventFilter): AsyncGenerator<string> {
    let after: EventPosition | null = null;
    for (;;) {
      const rows = await withTenant(db, tenantId, (tx) =>
        repo.listEvents(tx, filter, after, EXPORT_CHUNK, 'asc'),
      );
      if (rows.length === 0) return;
      // Slices of ~100 kB: large strings would go straight to V8's large-object space.
      for (let start = 0; start < rows.length; start += EXPORT_SLICE)
        yield rows
          .slice(start, start + EXPORT_SLICE)
          .map((row) => JSON.stringify(toWarehouseRow(row)) + '\n')
          .join('');
      if (rows.length < EXPORT_CHUNK) return;
      const last = rows.at(-1)!;
      after = { occurred_at: last.position_at, id: last.id };
    }
  }

  /**
   * The dashboard. Its three large reads (series, top products, payment mix) are independent, so
   * they run in parallel, each in a read transaction of its own (`read`); under READ COMMITTED each
   * statement has its own snapshot anyway.
   */
  async dashboard(read: TenantReader, query: DashboardQuery, now = new Date()): Promise<Dashboard> {
    const interval = query.interval ?? 'day';
    const requestedTo = parseInstant(query.to, 'to') ?? now;
    const givenFrom = parseInstant(query.from, 'from');
    // The bounds are bucket starts, so the rounded range stays within them too.
    if (givenFrom && givenFrom < MIN_INSTANT)
      throw invalid('from', `must not be before ${MIN_INSTANT.toISOString()}`);
    if (requestedTo <= MIN_INSTANT) throw invalid('to', `must be after ${MIN_INSTANT.toISOString()}`);
    if (requestedTo > MAX_INSTANT) throw invalid('to', `must not be after ${MAX_INSTANT.toISOString()}`);
    const requestedFrom =
      givenFrom ?? new Date(Math.max(requestedTo.getTime() - DEFAULT_RANGE_MS, MIN_INSTANT.getTime()));
    if (requestedFrom >= requestedTo) throw invalid('to', 'must be after from');
    const from = bucketOf(requestedFrom);
    const to = new Date(ceilToBucket(requestedTo.getTime()));
    const unitMs = interval === 'hour' ? 3_600_000 : DAY_MS;
    if ((to.getTime() - from.getTime()) / unitMs > MAX_SERIES_BUCKETS)
      throw invalid('from', `the range holds more than ${MAX_SERIES_BUCKETS} ${interval}s`);

    const { timeZone, currency, currencies, lowStock } = await read(async (tx) => ({
      timeZone: await this.timeZone(tx),
      currency: query.currency ?? (await repo.mostUsedCurrency(tx)),
      currencies: await repo.currenciesWithSales(tx, from, to),
      lowStock: await this.lowStock(tx),
    }));
    const base = {
      time_zone: timeZone,
      interval,
      from: from.toISOString(),
      to: to.toISOString(),
      currencies,
    };
    if (!currency) {
      return {
        currency: null,
        ...base,
        ...this.figures({ orders: 0, order_value: 0, items_sold: 0, revenue: 0, refunded: 0 }),
        series: [],
        top_products: [],
        payment_mix: [],
        low_stock: lowStock,
      };
    }
    const [series, { top, names }, paymentMix] = await Promise.all([
      read((tx) => repo.salesSeries(tx, currency, from, to, interval, timeZone)),
      read(async (tx) => {
        const top = await repo.topProducts(tx, currency, from, to, TOP_PRODUCTS);
        const names = await this.productNames(
          tx,
          top.map((product) => product.product_id),
        );
        return { top, names };
      }),
      read((tx) => repo.gatewayTotals(tx, currency, from, to)),
    ]);
    const totals = series.reduce<SalesTotals>(
      (sum, point) => ({
        orders: sum.orders + point.orders,
        order_value: sum.order_value + point.order_value,
        items_sold: sum.items_sold + point.items_sold,
        revenue: sum.revenue + point.revenue,
        refunded: sum.refunded + point.refunded,
      }),
      { orders: 0, order_value: 0, items_sold: 0, revenue: 0, refunded: 0 },
    );
    return {
      currency,
      ...base,
      ...this.figures(totals),
      series: series.map((point) => ({
        bucket: point.bucket.toISOString(),
        revenue: point.revenue,
        orders: point.orders,
      })),
      top_products: top.map((product) => ({
        product_id: product.product_id,
        name: names.get(product.product_id)?.name ?? null,
        quantity: product.quantity,
        revenue: product.revenue,
      })),
      payment_mix: paymentMix,
      low_stock: lowStock,
    };
  }

  private figures(totals: SalesTotals) {
    return {
      revenue: totals.revenue,
      orders: totals.orders,
      average_order_value: average(totals.order_value, totals.orders),
      items_sold: totals.items_sold,
      refunded: totals.refunded,
    };
  }

  /**
   * Today's figures in the tenant's time zone, per currency, from the same rollups as the
   * dashboard: for the realtime dashboard channel.
   */
  async todayMetrics(tx: Tx, now = new Date()): Promise<TodayMetrics> {
    const timeZone = await this.timeZone(tx);
    const start = await repo.startOfLocalDay(tx, now, timeZone);
    const from = bucketOf(start);
    const to = new Date(floorToBucket(now.getTime()) + BUCKET_MS);
    const rows = await repo.salesTotalsByCurrency(tx, from, to);
    const amounts = (pick: (row: (typeof rows)[number]) => number) =>
      rows.filter((row) => pick(row) !== 0).map((row) => ({ currency: row.currency, amount: pick(row) }));
    return {
      date: await repo.localDate(tx, now, timeZone),
      time_zone: timeZone,
      from: from.toISOString(),
      to: to.toISOString(),
      orders: rows.reduce((sum, row) => sum + row.orders, 0),
      revenue: amounts((row) => row.revenue),
      refunded: amounts((row) => row.refunded),
    };
  }

  /**
   * The tenant's time zone, as the SQL may use it. Settings only take zones PostgreSQL knows, but
   * a tenant may hold one saved before they were checked against PostgreSQL (one only Node's ICU
   * knows, such as US/Pacific-New), on which every local-time query would fail: its figures are
   * counted in UTC instead, and the answers' `time_zone` says so, so that clients label them right.
   */
  private async timeZone(tx: Tx): Promise<string> {
    const stored = await tenantTimeZone(tx);
    if (stored === FALLBACK_TIME_ZONE) return stored;
    return (await this.postgresZones.spelling(tx, stored)) === null ? FALLBACK_TIME_ZONE : stored;
  }

  private async lowStock(tx: Tx) {
    const rows = this.deps.lowStock
      ? await this.deps.lowStock.listLowStock(tx, LOW_STOCK_ITEMS)
      : await repo.lowStock(tx, LOW_STOCK_ITEMS);
    return rows.map(stockDto);
  }

  /**
   * Names and activity of products: analytics' snapshots from order lines, overridden by the
   * catalog when it is wired in (then a product the catalog does not know counts as inactive).
   */
  private async productNames(
    tx: Tx,
    ids: string[],
  ): Promise<Map<string, { sku: string | null; name: string | null; active: boolean }>> {
    if (ids.length === 0) return new Map();
    const snapshots = await repo.productSnapshots(tx, ids);
    const known = new Map(
      snapshots.map((product) => [
        product.product_id,
        { sku: product.sku, name: product.name, active: !this.deps.products },
      ]),
    );
    if (this.deps.products) {
      for (const product of await this.deps.products.findProductsByIds(tx, ids))
        known.set(product.id, { sku: product.sku, name: product.name, active: product.active });
    }
    return known;
  }

  /**
   * Products bought together with `productId` in paid orders; the tenant's best sellers when
   * there are none (or no product is given). Never the product itself nor an inactive product.
   */
  async recommendations(tx: Tx, given: string | undefined, limit: number): Promise<Recommendations> {
    // A UUID may come in upper case; the ids read back, which it is compared with, are lower case.
    const productId = given?.toLowerCase();
    if (productId && this.deps.products) {
      const [product] = await this.deps.products.findProductsByIds(tx, [productId]);
      if (!product) throw new AppError('not_found', 'The product does not exist');
    }
    if (productId) {
      const together = await this.pickActive(tx, productId, limit, (take, skip) =>
        repo.boughtTogether(tx, productId, take, skip),
      );
      if (together.length > 0) return { strategy: 'frequently_bought_together', items: together };
    }
    return {
      strategy: 'popular',
      items: await this.pickActive(tx, productId, limit, (take, skip) => repo.popular(tx, take, skip)),
    };
  }

  /** Reads ranked candidates page by page until `limit` active ones other than `exclude` are found. */
  private async pickActive(
    tx: Tx,
    exclude: string | undefined,
    limit: number,
    candidates: (take: number, skip: number) => Promise<{ product_id: string; score: number }[]>,
  ) {
    const picked: Recommendations['items'] = [];
    const pageSize = Math.max(limit * 2, 20);
    for (let skip = 0; picked.length < limit; skip += pageSize) {
      const page = await candidates(pageSize, skip);
      const products = await this.productNames(
        tx,
        page.map((candidate) => candidate.product_id),
      );
      for (const candidate of page) {
        const product = products.get(candidate.product_id);
        if (candidate.product_id === exclude || !product?.active) continue;
        picked.push({
          product_id: candidate.product_id,
          sku: product?.sku ?? null,
          name: product?.name ?? null,
          score: Math.round(candidate.score * 1e6) / 1e6,
        });
        if (picked.length === limit) break;
      }
      if (page.length < pageSize) break;
    }
    return picked;
  }
}
