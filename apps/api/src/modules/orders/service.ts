import { Type } from '@sinclair/typebox';
import {
  isUuid,
  paymentMoveReason,
  uuidv7,
  type EventActor,
  type EventEnvelope,
  type OrderPaymentStatus,
  type OrderStatus,
  type PaymentEventData,
} from '@tessera/contracts';
import type { TenantRead, Tx } from '../../platform/db/tenant';
import { AppError, notFound } from '../../platform/errors';
import { addEvents, SYSTEM_ACTOR, type NewEvent } from '../../platform/events/outbox';
import { csvExport, csvPages, zonedTimestamp, type CsvExport } from '../../platform/http/csv';
import { decodeCursor, encodeCursor, Uuid } from '../../platform/http/schemas';
import { formatMinorUnits } from '../../platform/money';
import type { CatalogService } from '../catalog';
import type { InventoryService, StockActor } from '../inventory';
import { ordersRepository, type HistoryRow, type OrderRow } from './repository';
import type { CreateOrderBody, Order, OrderListQuery, StatusChange } from './schemas';

/** The order status machine of the contract: every other move is 409 invalid_state_transition. */
const TRANSITIONS: Record<OrderStatus, readonly OrderStatus[]> = {
  pending: ['paid', 'cancelled'],
  paid: ['fulfilled', 'refunded'],
  fulfilled: ['refunded'],
  cancelled: [],
  refunded: [],
};

export function canMove(from: OrderStatus, to: OrderStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** payment_status from the money the order's payments moved. */
export function paymentStatusOf(
  total: number,
  money: { amount_paid: number; amount_refunded: number; authorized: boolean },
): OrderPaymentStatus {
  if (money.amount_refunded > 0) {
    return money.amount_refunded >= money.amount_paid ? 'refunded' : 'partially_refunded';
  }
  if (money.amount_paid > 0) return money.amount_paid >= total ? 'paid' : 'partially_paid';
  return money.authorized ? 'authorized' : 'unpaid';
}

/** What the payments module needs to know about an order to take money for it. */
export interface OrderForPayment {
  id: string;
  number: number;
  status: OrderStatus;
  payment_status: OrderPaymentStatus;
  currency: string;
  total: number;
  amount_paid: number;
  amount_refunded: number;
}

export interface OrderPage {
  data: Order[];
  next_cursor: string | null;
}

const toOrder = (row: OrderRow, lines: Order['lines']): Order => ({
  id: row.id,
  number: row.number,
  status: row.status,
  payment_status: row.payment_status,
  currency: row.currency,
  lines,
  subtotal: row.subtotal,
  total: row.total,
  amount_paid: row.amount_paid,
  amount_refunded: row.amount_refunded,
  customer_email: row.customer_email,
  note: row.note,
  created_at: row.created_at.toISOString(),
  updated_at: row.updated_at.toISOString(),
});

const toStatusChange = (row: HistoryRow): StatusChange => ({
  id: row.id,
  from: row.from_status,
  to: row.to_status,
  actor: { type: row.actor_type, id: row.actor_id },
  reason: row.reason,
  created_at: row.created_at.toISOString(),
});

function isCheckOrRangeViolation(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === '22003' || code === '23514';
}

/** How much of an order's money a module holds (captured and not refunded), as committed in `tx`. */
export type HeldMoney = (tx: Tx, orderId: string) => Promise<number>;

const ORDER_EXPORT_COLUMNS = [
  'number',
  'placed_at',
  'status',
  'payment_status',
  'currency',
  'items',
  'subtotal',
  'total',
  'amount_paid',
  'amount_refunded',
  'customer_email',
  'note',
];

async function* exportPages(
  read: TenantRead,
  from: Date,
  to: Date,
  timeZone: string,
): AsyncGenerator<string> {
  // Amounts in the currency's major units, as an accountant's spreadsheet expects them.
  const money = formatMinorUnits;
  yield* csvPages(
    ORDER_EXPORT_COLUMNS,
    (after, size) => read((tx) => ordersRepository.placedBetween(tx, from, to, after, size)),
    (row) => [
      row.number,
      zonedTimestamp(row.created_at!, timeZone),
      row.status,
      row.payment_status,
      row.currency,
      row.items ?? 0,
      money(row.subtotal, row.currency),
      money(row.total, row.currency),
      money(row.amount_paid, row.currency),
      money(row.amount_refunded, row.currency),
      row.customer_email,
      row.note,
    ],
  );
}

export class OrdersService {
  private readonly holders: HeldMoney[] = [];

  constructor(
    private readonly catalog: CatalogService,
    private readonly inventory: InventoryService,
  ) {}

  /**
   * A module that takes an order's money (payments) says how much it holds: a cancel is refused
   * while any is held. The order's own amounts follow the payments through their events, later.
   */
  holdsMoney(held: HeldMoney): void {
    this.holders.push(held);
  }

  /**
   * Places an order in the caller's transaction: prices are taken from the catalog, every line's
   * stock is reserved (all or nothing), the number is the tenant's next, totals are summed by the
   * database, and commerce.order.created goes out with the commit.
   */
  async create(tx: Tx, who: StockActor, body: CreateOrderBody): Promise<Order> {
    // Ids are compared as text below: an id in capitals names the same product.
    const lines = body.lines.map((line) => ({ ...line, product_id: line.product_id.toLowerCase() }));
    const seen = new Set<string>();
    lines.forEach((line, index) => {
      if (seen.has(line.product_id)) {
        throw new AppError('validation_failed', 'Each product may appear on one line only', {
          errors: [{ path: `lines.${index}.product_id`, message: 'appears on an earlier line' }],
        });
      }
      seen.add(line.product_id);
    });
    const products = new Map(
      (await this.catalog.findProductsByIds(tx, [...seen])).map((product) => [product.id, product]),
    );
    const missing = lines.flatMap((line, index) =>
      products.has(line.product_id)
        ? []
        : [{ path: `lines.${index}.product_id`, message: 'is not a product' }],
    );
    if (missing.length)
      throw new AppError('validation_failed', 'An order line names an unknown product', { errors: missing });
    const priced = lines.map((line) => ({ ...line, product: products.get(line.product_id)! }));
    const inactive = priced.filter((line) => !line.product.active);
    if (inactive.length) {
      throw new AppError(
        'product_inactive',
        `Archived products cannot be ordered: ${inactive.map((l) => l.product.sku).join(', ')}`,
      );
    }
    const currency = priced[0]!.product.currency;
    const foreign = priced.filter((line) => line.product.currency !== currency);
    if (foreign.length) {
      throw new AppError(
        'currency_mismatch',
        `All lines of an order must share one currency; found ${currency} and ${foreign[0]!.product.currency}`,
      );
    }

    const orderId = uuidv7();
    // Reserved before the order takes its number, so an order refused for stock uses none.
    await this.inventory.reserve(tx, who, orderId, lines);
    let row;
    try {
      row = await ordersRepository.insert(tx, {
        id: orderId,
        tenantId: who.tenantId,
        currency,
        customerEmail: body.customer_email ?? null,
        note: body.note ?? null,
        historyId: uuidv7(),
        actor: who.actor,
        lines: priced.map((line) => ({
          product_id: line.product_id,
          sku: line.product.sku,
          name: line.product.name,
          quantity: line.quantity,
          unit_price: line.product.price,
        })),
      });
    } catch (error) {
      if (isCheckOrRangeViolation(error)) {
        throw new AppError('validation_failed', 'The order total is too large', {
          errors: [{ path: 'lines', message: 'the total exceeds the largest amount supported' }],
        });
      }
      throw error;
    }
    const order = toOrder(row, row.lines);
    addEvents(tx, [
      {
        type: 'commerce.order.created',
        tenantId: who.tenantId,
        actor: who.actor,
        data: {
          order_id: order.id,
          number: order.number,
          status: order.status,
          payment_status: order.payment_status,
          currency: order.currency,
          subtotal: order.subtotal,
          total: order.total,
          customer_email: order.customer_email,
          lines: order.lines,
        },
      },
    ]);
    if (row.total > 0) return order;
    // A free order has nothing to pay: it is paid at once, so that it can be fulfilled.
    const paid = await this.moveTo(tx, who, row, 'paid', { payment_status: 'paid' }, 'Nothing to pay');
    return toOrder(paid, row.lines);
  }

  async get(tx: Tx, id: string): Promise<Order> {
    const row = await ordersRepository.findWithLines(tx, id);
    if (!row) throw notFound('order');
    return toOrder(row, row.lines);
  }

  /**
   * The orders placed in [from, to) as CSV, a header then a record per order, in the order they
   * were placed (by id, made as the request comes: orders placed at once may cross numbers). Each
   * page is read in a transaction of its own (`read`), so that a year's export streams without
   * holding one open; a bad period is refused before anything is sent.
   */
  exportCsv(read: TenantRead, from: Date, to: Date): Promise<CsvExport> {
    return csvExport(read, 'orders', from, to, (timeZone) => exportPages(read, from, to, timeZone));
  }

  /** The numbers of these orders, by id. */
  async numbersOf(tx: Tx, orderIds: readonly string[]): Promise<Map<string, number>> {
    return ordersRepository.numbersOf(tx, orderIds);
  }

  async list(tx: Tx, query: OrderListQuery): Promise<OrderPage> {
    const limit = query.limit ?? 50;
    const before = decodeCursor(query.cursor, Type.Object({ id: Uuid }));
    const rows = await ordersRepository.list(tx, {
      limit: limit + 1,
      ...(query.status ? { status: query.status } : {}),
      ...(before ? { beforeId: before.id } : {}),
    });
    const page = rows.slice(0, limit);
    const lines = await ordersRepository.linesOf(
      tx,
      page.map((row) => row.id),
    );
    const last = page.at(-1);
    return {
      data: page.map((row) => toOrder(row, lines.get(row.id) ?? [])),
      next_cursor: rows.length > limit && last ? encodeCursor({ id: last.id }) : null,
    };
  }

  async history(tx: Tx, id: string): Promise<StatusChange[]> {
    if (!(await ordersRepository.find(tx, id))) throw notFound('order');
    return (await this.histories(tx, [id])).get(id)!;
  }

  /** The histories of orders the caller has read (a page of them): one query for all. */
  async histories(tx: Tx, orderIds: readonly string[]): Promise<Map<string, StatusChange[]>> {
    const byOrder = await ordersRepository.historiesOf(tx, orderIds);
    return new Map([...byOrder].map(([id, entries]) => [id, entries.map(toStatusChange)]));
  }

  /**
   * Cancels a pending order and releases its reservations. While captured money is kept the order
   * must be refunded instead (409); once all of it was refunded, it can be cancelled. Payments
   * voids open authorizations on the status event.
   */
  async cancel(tx: Tx, who: StockActor, id: string, reason: string | null = null): Promise<Order> {
    // The order's lock comes first, as it does for a payment's creation and a capture: a payment
    // committed before the read below, or it waits and then finds the order cancelled.
    const row = await ordersRepository.find(tx, id, { forUpdate: true });
    if (!row) throw notFound('order');
    this.requireMove(row, 'cancelled');
    // The order's amounts are applied by a consumer after the payment commits, so the payments
    // are asked too: money just taken is not yet in amount_paid.
    const held = await Promise.all(this.holders.map((holder) => holder(tx, id)));
    if (held.some((amount) => amount > 0) || row.amount_paid > row.amount_refunded) {
      throw new AppError(
        'invalid_state_transition',
        'Money was captured for this order; refund it instead of cancelling',
      );
    }
    const lines = (await ordersRepository.linesOf(tx, [id])).get(id) ?? [];
    await this.inventory.release(tx, who, id, lines);
    const updated = await this.moveTo(tx, who, row, 'cancelled', {}, reason);
    return toOrder(updated, lines);
  }

  /** Ships a paid order: its reserved stock leaves on_hand. */
  async fulfil(tx: Tx, who: StockActor, id: string): Promise<Order> {
    const row = await ordersRepository.find(tx, id, { forUpdate: true });
    if (!row) throw notFound('order');
    this.requireMove(row, 'fulfilled');
    const lines = (await ordersRepository.linesOf(tx, [id])).get(id) ?? [];
    await this.inventory.fulfil(tx, who, id, lines);
    const updated = await this.moveTo(tx, who, row, 'fulfilled', {});
    return toOrder(updated, lines);
  }

  /** The order as payments sees it; null for an unknown id or another tenant's. */
  async getOrderForPayment(
    tx: Tx,
    orderId: string,
    options: { forUpdate?: boolean } = {},
  ): Promise<OrderForPayment | null> {
    if (!isUuid(orderId)) return null;
    const row = await ordersRepository.find(tx, orderId, options);
    if (!row) return null;
    const { id, number, status, payment_status, currency, total, amount_paid, amount_refunded } = row;
    return { id, number, status, payment_status, currency, total, amount_paid, amount_refunded };
  }

  /** Which of these orders (of the transaction's tenant) are cancelled, in one query. */
  async cancelledAmong(tx: Tx, orderIds: string[]): Promise<Set<string>> {
    return new Set(await ordersRepository.idsInStatus(tx, orderIds, 'cancelled'));
  }

  /**
   * Applies a commerce.payment.processed event: records the payment's state (ignoring a stale
   * event), recomputes the order's money, and moves it to paid when what its payments captured less
   * what was refunded covers the total, or to refunded when everything paid was refunded.
   */
  async applyPaymentEvent(
    tx: Tx,
    event: EventEnvelope<'commerce.payment.processed', PaymentEventData>,
  ): Promise<void> {
    const payment = event.data;
    const row = await ordersRepository.find(tx, payment.order_id, { forUpdate: true });
    if (!row) return;
    const { fresh, ...money } = await ordersRepository.recordPayment(tx, {
      payment_id: payment.payment_id,
      tenant_id: event.tenant_id,
      order_id: payment.order_id,
      status: payment.status,
      currency: payment.currency,
      amount: payment.amount,
      amount_captured: payment.amount_captured,
      amount_refunded: payment.amount_refunded,
      last_event_id: event.id,
    });
    if (!fresh) return;
    const paymentStatus = paymentStatusOf(row.total, money);
    const who: StockActor = { tenantId: event.tenant_id, actor: SYSTEM_ACTOR };
    const amounts = {
      payment_status: paymentStatus,
      amount_paid: money.amount_paid,
      amount_refunded: money.amount_refunded,
    };
    let current = row;
    // Only money still held pays: a payment refunded before another was taken does not count.
    const held = money.amount_paid - money.amount_refunded;
    if (current.status === 'pending' && held >= current.total && held > 0) {
      current = await this.moveTo(tx, who, current, 'paid', amounts, paymentMoveReason(payment.payment_id));
    }
    if ((current.status === 'paid' || current.status === 'fulfilled') && paymentStatus === 'refunded') {
      if (current.status === 'paid') {
        // Never shipped: its reserved units go back on sale.
        const lines = (await ordersRepository.linesOf(tx, [current.id])).get(current.id) ?? [];
        await this.inventory.release(tx, who, current.id, lines);
      }
      current = await this.moveTo(
        tx,
        who,
        current,
        'refunded',
        amounts,
        paymentMoveReason(payment.payment_id),
      );
    }
    if (current === row) await ordersRepository.update(tx, row.id, amounts);
  }

  private requireMove(row: OrderRow, to: OrderStatus): void {
    if (!canMove(row.status, to)) {
      throw new AppError('invalid_state_transition', `An order that is ${row.status} cannot become ${to}`, {
        extensions: { order_status: row.status },
      });
    }
  }

  private async moveTo(
    tx: Tx,
    who: { tenantId: string; actor: EventActor },
    row: OrderRow,
    to: OrderStatus,
    changes: { payment_status?: OrderPaymentStatus; amount_paid?: number; amount_refunded?: number },
    reason: string | null = null,
  ): Promise<OrderRow> {
    this.requireMove(row, to);
    const updated = await ordersRepository.updateWithHistory(
      tx,
      row.id,
      { ...changes, status: to },
      {
        id: uuidv7(),
        tenant_id: who.tenantId,
        order_id: row.id,
        from_status: row.status,
        to_status: to,
        actor_type: who.actor.type,
        actor_id: who.actor.id,
        reason,
      },
    );
    const event: NewEvent = {
      type: 'commerce.order.status_changed',
      tenantId: who.tenantId,
      actor: who.actor,
      data: {
        order_id: row.id,
        number: row.number,
        from: row.status,
        to,
        payment_status: updated.payment_status,
        total: updated.total,
        currency: updated.currency,
      },
    };
    addEvents(tx, [event]);
    return updated;
  }
}
