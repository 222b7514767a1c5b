import { jsonArrayFrom } from 'kysely/helpers/postgres';
import { sql } from 'kysely';
import type {
  EventActor,
  OrderLineData,
  OrderPaymentStatus,
  OrderStatus,
  PaymentStatus,
} from '@tessera/contracts';
import { compiledOnce } from '../../platform/db/compiled-once';
import { createdBetween } from '../../platform/db/pages';
import type { Executor } from '../../platform/db/tenant';

declare module '../../platform/db/tables' {
  interface DB {
    orders: OrdersTable;
    order_lines: OrderLinesTable;
    order_status_history: OrderStatusHistoryTable;
    order_payments: OrderPaymentsTable;
  }
}

export interface OrdersTable {
  id: string;
  tenant_id: string;
  number: number;
  status: OrderStatus;
  payment_status: OrderPaymentStatus;
  currency: string;
  subtotal: number;
  total: number;
  amount_paid: number;
  amount_refunded: number;
  customer_email: string | null;
  note: string | null;
  created_at: Date | undefined;
  updated_at: Date | undefined;
}

export interface OrderLinesTable extends OrderLineData {
  order_id: string;
  position: number;
  tenant_id: string;
}

export interface OrderStatusHistoryTable {
  id: string;
  tenant_id: string;
  order_id: string;
  from_status: OrderStatus | null;
  to_status: OrderStatus;
  actor_type: 'user' | 'system';
  actor_id: string | null;
  reason: string | null;
  created_at: Date | undefined;
}

export interface OrderPaymentsTable {
  payment_id: string;
  tenant_id: string;
  order_id: string;
  status: PaymentStatus;
  currency: string;
  amount: number;
  amount_captured: number;
  amount_refunded: number;
  last_event_id: string;
  updated_at: Date | undefined;
}

export type OrderRow = Omit<OrdersTable, 'tenant_id' | 'created_at' | 'updated_at'> & {
  created_at: Date;
  updated_at: Date;
};
export type HistoryRow = Omit<OrderStatusHistoryTable, 'tenant_id' | 'order_id' | 'created_at'> & {
  created_at: Date;
};

const ORDER_COLUMNS = [
  'id',
  'number',
  'status',
  'payment_status',
  'currency',
  'subtotal',
  'total',
  'amount_paid',
  'amount_refunded',
  'customer_email',
  'note',
  'created_at',
  'updated_at',
] as const;

export interface NewOrder {
  id: string;
  tenantId: string;
  currency: string;
  customerEmail: string | null;
  note: string | null;
  historyId: string;
  actor: EventActor;
  lines: Omit<OrderLineData, 'line_total'>[];
}

export interface PaymentTotals {
  amount_paid: number;
  amount_refunded: number;
  authorized: boolean;
}

/** What a status move or a payment may change on an order. */
type OrderChanges = Partial<
  Pick<OrdersTable, 'status' | 'payment_status' | 'amount_paid' | 'amount_refunded'>
>;

/** Every order read (GET /commerce/orders/:id) runs it: compiled once, not per request. */
const orderWithLines = compiledOnce(1, (tx, id: string) =>
  tx
    .selectFrom('orders')
    .select(ORDER_COLUMNS)
    .select((eb) =>
      jsonArrayFrom(
        eb
          .selectFrom('order_lines')
          .select(['product_id', 'sku', 'name', 'quantity', 'unit_price', 'line_total'])
          .whereRef('order_lines.order_id', '=', 'orders.id')
          .orderBy('position'),
      ).as('lines'),
    )
    .where('id', '=', id),
);

export const ordersRepository = {
  /**
   * Inserts the order, its lines and its first history entry in one statement; line totals,
   * subtotal and total are computed by the database in integer arithmetic, and the number is the
   * tenant's next from its sequence (no lock is held for it, so checkouts do not queue).
   */
  async insert(tx: Executor, order: NewOrder): Promise<OrderRow & { lines: OrderLineData[] }> {
    const { rows } = await sql<OrderRow & { lines: OrderLineData[] }>`
      with l as (
        select * from unnest(${order.lines.map((_, i) => i)}::int[], ${order.lines.map((l) => l.product_id)}::uuid[],
                             ${order.lines.map((l) => l.sku)}::text[], ${order.lines.map((l) => l.name)}::text[],
                             ${order.lines.map((l) => l.quantity)}::int[], ${order.lines.map((l) => l.unit_price)}::bigint[])
          as l(position, product_id, sku, name, quantity, unit_price)
      ),
      o as (
        insert into orders (id, tenant_id, number, status, payment_status, currency, subtotal, total, customer_email, note)
        select ${order.id}, ${order.tenantId}, next_order_number(), 'pending', 'unpaid', ${order.currency},
               sum(quantity::numeric * unit_price), sum(quantity::numeric * unit_price), ${order.customerEmail}, ${order.note}
        from l
        returning ${sql.join(ORDER_COLUMNS.map((column) => sql.ref(column)))}
      ),
      inserted_lines as (
        insert into order_lines (order_id, position, tenant_id, product_id, sku, name, quantity, unit_price, line_total)
        select ${order.id}, position, ${order.tenantId}, product_id, sku, name, quantity, unit_price, quantity::numeric * unit_price
        from l
        returning position, product_id, sku, name, quantity, unit_price, line_total
      ),
      history as (
        insert into order_status_history (id, tenant_id, order_id, from_status, to_status, actor_type, actor_id)
        select ${order.historyId}, ${order.tenantId}, id, null, 'pending', ${order.actor.type}, ${order.actor.id} from o
      )
      select o.*,
             (select json_agg(json_build_object('product_id', product_id, 'sku', sku, 'name', name, 'quantity', quantity,
                                                'unit_price', unit_price, 'line_total', line_total) order by position)
              from inserted_lines) as lines
      from o`.execute(tx);
    return rows[0]!;
  },

  async find(tx: Executor, id: string, options: { forUpdate?: boolean } = {}): Promise<OrderRow | undefined> {
    let query = tx.selectFrom('orders').select(ORDER_COLUMNS).where('id', '=', id);
    // FOR NO KEY UPDATE: writers of the order queue behind each other, while rows that only reference
    // it (a payment, its record here) insert past the lock; FOR UPDATE would hold their key checks too.
    if (options.forUpdate) query = query.forNoKeyUpdate();
    return (await query.executeTakeFirst()) as OrderRow | undefined;
  },

  /** Those of the orders that are in `status`. */
  async idsInStatus(tx: Executor, orderIds: string[], status: OrderStatus): Promise<string[]> {
    if (orderIds.length === 0) return [];
    const rows = await tx
      .selectFrom('orders')
      .select('id')
      .where('id', 'in', orderIds)
      .where('status', '=', status)
      .execute();
    return rows.map((row) => row.id);
  },

  /** The order with its lines, in one query. */
  async findWithLines(
    tx: Executor,
    id: string,
  ): Promise<(OrderRow & { lines: OrderLineData[] }) | undefined> {
    const [row] = await orderWithLines(tx, id);
    return row as (OrderRow & { lines: OrderLineData[] }) | undefined;
  },

  async linesOf(tx: Executor, orderIds: string[]): Promise<Map<string, OrderLineData[]>> {
    const byOrder = new Map<string, OrderLineData[]>(orderIds.map((id) => [id, []]));
    if (orderIds.length === 0) return byOrder;
    const rows = await tx
      .selectFrom('order_lines')
      .select(['order_id', 'product_id', 'sku', 'name', 'quantity', 'unit_price', 'line_total'])
      .where('order_id', 'in', orderIds)
      .orderBy('order_id')
      .orderBy('position')
      .execute();
    for (const { order_id, ...line } of rows) byOrder.get(order_id)?.push(line);
    return byOrder;
  },

  /** Newest first; the id (UUID v7) is the keyset cursor. */
  async list(
    tx: Executor,
    filter: { status?: OrderStatus; beforeId?: string; limit: number },
  ): Promise<OrderRow[]> {
    let query = tx.selectFrom('orders').select(ORDER_COLUMNS).orderBy('id', 'desc').limit(filter.limit);
    if (filter.status) query = query.where('status', '=', filter.status);
    if (filter.beforeId) query = query.where('id', '<', filter.beforeId);
    return (await query.execute()) as OrderRow[];
  },

  /** Orders placed in [from, to), in the order placed, a page after `afterId`, each with its item count. */
  async placedBetween(tx: Executor, from: Date, to: Date, afterId: string | null, limit: number) {
    const orders = tx
      .selectFrom('orders')
      .select(ORDER_COLUMNS)
      .select((eb) =>
        eb
          .selectFrom('order_lines')
          .select(sql<number>`coalesce(sum(quantity), 0)::int`.as('items'))
          .whereRef('order_lines.order_id', '=', 'orders.id')
          .as('items'),
      );
    return createdBetween(orders, from, to, afterId, limit).execute();
  },

  async numbersOf(tx: Executor, ids: readonly string[]): Promise<Map<string, number>> {
    if (ids.length === 0) return new Map();
    const rows = await tx.selectFrom('orders').select(['id', 'number']).where('id', 'in', ids).execute();
    return new Map(rows.map((row) => [row.id, row.number]));
  },

  async update(tx: Executor, id: string, changes: OrderChanges): Promise<OrderRow> {
    return (await tx
      .updateTable('orders')
      .set({ ...changes, updated_at: sql<Date>`now()` })
      .where('id', '=', id)
      .returning(ORDER_COLUMNS)
      .executeTakeFirstOrThrow()) as OrderRow;
  },

  /** Updates the order and records the status change in its history, in one statement. */
  async updateWithHistory(
    tx: Executor,
    id: string,
    changes: OrderChanges,
    entry: Omit<OrderStatusHistoryTable, 'created_at'>,
  ): Promise<OrderRow> {
    return (await tx
      .with('history', (db) => db.insertInto('order_status_history').values(entry))
      .updateTable('orders')
      .set({ ...changes, updated_at: sql<Date>`now()` })
      .where('id', '=', id)
      .returning(ORDER_COLUMNS)
      .executeTakeFirstOrThrow()) as OrderRow;
  },

  /** The history of each order, oldest entry first, in one query. */
  async historiesOf(tx: Executor, orderIds: readonly string[]): Promise<Map<string, HistoryRow[]>> {
    const byOrder = new Map<string, HistoryRow[]>(orderIds.map((id) => [id, []]));
    if (orderIds.length === 0) return byOrder;
    const rows = await tx
      .selectFrom('order_status_history')
      .select([
        'order_id',
        'id',
        'from_status',
        'to_status',
        'actor_type',
        'actor_id',
        'reason',
        'created_at',
      ])
      .where('order_id', 'in', orderIds)
      .orderBy('order_id')
      .orderBy('id')
      .execute();
    for (const { order_id, ...entry } of rows) byOrder.get(order_id)?.push(entry as HistoryRow);
    return byOrder;
  },

  /**
   * Records a payment's latest state, unless a newer event already did (event ids are UUID v7,
   * ordered by time), and sums the order's payments as they then stand, in one statement.
   * `fresh` is false for a stale event, which changed nothing.
   */
  async recordPayment(
    tx: Executor,
    payment: Omit<OrderPaymentsTable, 'updated_at'>,
  ): Promise<PaymentTotals & { fresh: boolean }> {
    return tx
      .with('recorded', (db) =>
        db
          .insertInto('order_payments')
          .values(payment)
          .onConflict((conflict) =>
            conflict
              .column('payment_id')
              .doUpdateSet((eb) => ({
                status: eb.ref('excluded.status'),
                amount: eb.ref('excluded.amount'),
                amount_captured: eb.ref('excluded.amount_captured'),
                amount_refunded: eb.ref('excluded.amount_refunded'),
                last_event_id: eb.ref('excluded.last_event_id'),
                updated_at: sql<Date>`now()`,
              }))
              .where('order_payments.last_event_id', '<', (eb) => eb.ref('excluded.last_event_id')),
          )
          .returning(['status', 'amount_captured', 'amount_refunded']),
      )
      .with('standing', (db) =>
        db
          .selectFrom('order_payments')
          .select(['status', 'amount_captured', 'amount_refunded'])
          .where('order_id', '=', payment.order_id)
          .where('payment_id', '<>', payment.payment_id)
          .unionAll(db.selectFrom('recorded').select(['status', 'amount_captured', 'amount_refunded'])),
      )
      .selectFrom('standing')
      .select([
        sql<boolean>`exists (select 1 from recorded)`.as('fresh'),
        sql<number>`coalesce(sum(amount_captured), 0)`.as('amount_paid'),
        sql<number>`coalesce(sum(amount_refunded), 0)`.as('amount_refunded'),
        sql<boolean>`coalesce(bool_or(status = 'authorized'), false)`.as('authorized'),
      ])
      .executeTakeFirstOrThrow();
  },
};
