import { uuidv7, type PaymentEventData } from '@tessera/contracts';
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/support/app';
import { serviceAvailable } from '../../../test/support/services';
import { withSystem, withTenant } from '../../platform/db/tenant';
import { AppError } from '../../platform/errors';
import { addEvents, SYSTEM_ACTOR, userActor } from '../../platform/events/outbox';
import { CatalogService } from '../catalog';
import { InventoryService, type StockActor } from '../inventory';
import { OrdersService } from './service';

const postgresUp = await serviceAvailable('postgres');

/**
 * The services on a real database, without HTTP: stock reservation under concurrency, the
 * ledger's balance, and the payment-event consumer. The routes have their own tests.
 */
describe.runIf(postgresUp)('orders, inventory and catalog services', () => {
  let testApp: TestApp;
  const inventory = new InventoryService();
  const catalog = new CatalogService(inventory);
  const orders = new OrdersService(catalog, inventory);
  const tenantId = uuidv7();
  const otherTenantId = uuidv7();
  const who: StockActor = { tenantId, actor: userActor(uuidv7()) };
  let skuCounter = 0;

  const inTenant = <T>(work: Parameters<typeof withTenant<T>>[2], tenant = tenantId) =>
    withTenant(testApp.platform.db, tenant, work);

  async function product(stock: number, price = 1250, currency = 'EUR') {
    const created = await inTenant((tx) =>
      catalog.create(tx, tenantId, {
        sku: `SKU-${++skuCounter}`,
        name: `Product ${skuCounter}`,
        price,
        currency,
      }),
    );
    if (stock > 0) await inTenant((tx) => inventory.set(tx, who, created.id, { on_hand: stock }));
    return created;
  }

  const level = (productId: string) => inTenant((tx) => inventory.get(tx, productId));
  const order = (lines: { product_id: string; quantity: number }[]) =>
    inTenant((tx) => orders.create(tx, who, { lines }));
  const codeOf = (error: unknown) => (error instanceof AppError ? error.code : String(error));

  /** The ledger's sums must equal the level: every change of on_hand and reserved is in it. */
  async function ledgerSums(productId: string) {
    const { rows } = await sql<{ on_hand: number; reserved: number }>`
      select coalesce(sum(delta_on_hand), 0)::int as on_hand, coalesce(sum(delta_reserved), 0)::int as reserved
      from stock_movements where product_id = ${productId}`.execute(testApp.platform.db);
    return rows[0]!;
  }

  beforeAll(async () => {
    testApp = await createTestApp();
    await withSystem(testApp.platform.db, (tx) =>
      tx
        .insertInto('tenants')
        .values([
          { id: tenantId, name: 'Shop' },
          { id: otherTenantId, name: 'Other shop' },
        ])
        .execute(),
    );
  });

  afterAll(async () => {
    await testApp?.close();
  });

  it('60 concurrent single-unit orders against stock 20: exactly 20 succeed, nothing oversold', async () => {
    const item = await product(20);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 60 }, () => order([{ product_id: item.id, quantity: 1 }])),
    );
    const placed = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    const refused = outcomes.flatMap((outcome) =>
      outcome.status === 'rejected' ? [codeOf(outcome.reason)] : [],
    );
    expect(placed).toHaveLength(20);
    expect(refused).toEqual(Array(40).fill('insufficient_stock'));
    expect(await level(item.id)).toMatchObject({ on_hand: 20, reserved: 20, available: 0 });
    expect(await ledgerSums(item.id)).toEqual({ on_hand: 20, reserved: 20 });
    // Numbers are per tenant and consecutive: orders refused for stock take none.
    const numbers = placed.map((outcome) => outcome.value.number).sort((a, b) => a - b);
    expect(numbers).toEqual(Array.from({ length: 20 }, (_, i) => numbers[0]! + i));
  });

  it("order numbers come from the tenant's own sequence, which the application role cannot touch", async () => {
    const next = (tenant: string) =>
      inTenant(
        async (tx) => (await sql<{ n: number }>`select next_order_number() as n`.execute(tx)).rows[0]!.n,
        tenant,
      );
    const mine = await next(tenantId);
    const theirs = await next(otherTenantId);
    expect(await next(tenantId)).toBe(mine + 1);
    expect(await next(otherTenantId)).toBe(theirs + 1);
    // Not through the sequence itself, not even the tenant's own: only next_order_number() advances it.
    const sequence = `order_numbers_${otherTenantId.replaceAll('-', '')}`;
    await expect(inTenant((tx) => sql`select nextval(${sequence}::regclass)`.execute(tx))).rejects.toThrow(
      /permission denied/,
    );
  });

  it('concurrent multi-line orders over the same products in opposite orders neither deadlock nor oversell', async () => {
    const a = await product(30);
    const b = await product(30);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) =>
        order(
          i % 2
            ? [
                { product_id: a.id, quantity: 1 },
                { product_id: b.id, quantity: 2 },
              ]
            : [
                { product_id: b.id, quantity: 2 },
                { product_id: a.id, quantity: 1 },
              ],
        ),
      ),
    );
    const refused = outcomes.flatMap((outcome) =>
      outcome.status === 'rejected' ? [codeOf(outcome.reason)] : [],
    );
    expect(new Set(refused)).toEqual(new Set(['insufficient_stock']));
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(15);
    expect(await level(b.id)).toMatchObject({ on_hand: 30, reserved: 30 });
    expect(await level(a.id)).toMatchObject({ on_hand: 30, reserved: 15 });
  });

  it('an order with one short line reserves nothing and says which line', async () => {
    const plenty = await product(10);
    const scarce = await product(1);
    const error = await order([
      { product_id: plenty.id, quantity: 3 },
      { product_id: scarce.id, quantity: 2 },
    ]).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('insufficient_stock');
    expect((error as AppError).extensions).toEqual({
      lines: [{ product_id: scarce.id, requested: 2, available: 1 }],
    });
    expect(await level(plenty.id)).toMatchObject({ on_hand: 10, reserved: 0 });
    expect(await level(scarce.id)).toMatchObject({ on_hand: 1, reserved: 0 });
    expect(await ledgerSums(plenty.id)).toEqual({ on_hand: 10, reserved: 0 });
  });

  it('computes totals in integer minor units and snapshots lines', async () => {
    const a = await product(5, 1999);
    const b = await product(5, 1);
    const placed = await order([
      { product_id: a.id, quantity: 3 },
      { product_id: b.id, quantity: 2 },
    ]);
    expect(placed).toMatchObject({
      status: 'pending',
      payment_status: 'unpaid',
      currency: 'EUR',
      subtotal: 5999,
      total: 5999,
      amount_paid: 0,
      amount_refunded: 0,
      lines: [
        { product_id: a.id, sku: a.sku, name: a.name, quantity: 3, unit_price: 1999, line_total: 5997 },
        { product_id: b.id, sku: b.sku, quantity: 2, unit_price: 1, line_total: 2 },
      ],
    });
  });

  it('refuses mixed currencies, archived products and unknown products', async () => {
    const eur = await product(5, 100, 'EUR');
    const jpy = await product(5, 100, 'JPY');
    await expect(
      order([
        { product_id: eur.id, quantity: 1 },
        { product_id: jpy.id, quantity: 1 },
      ]),
    ).rejects.toMatchObject({
      code: 'currency_mismatch',
    });
    await expect(order([{ product_id: uuidv7(), quantity: 1 }])).rejects.toMatchObject({
      code: 'validation_failed',
    });
    await inTenant((tx) => catalog.update(tx, eur.id, { active: false }));
    await expect(order([{ product_id: eur.id, quantity: 1 }])).rejects.toMatchObject({
      code: 'product_inactive',
    });
    expect(await level(jpy.id)).toMatchObject({ reserved: 0 });
  });

  it("does not see another tenant's products or orders", async () => {
    const item = await product(5);
    const placed = await order([{ product_id: item.id, quantity: 1 }]);
    await expect(inTenant((tx) => orders.get(tx, placed.id), otherTenantId)).rejects.toMatchObject({
      code: 'not_found',
    });
    await expect(inTenant((tx) => catalog.get(tx, item.id), otherTenantId)).rejects.toMatchObject({
      code: 'not_found',
    });
    expect(await inTenant((tx) => orders.getOrderForPayment(tx, placed.id), otherTenantId)).toBeNull();
    expect(await inTenant((tx) => orders.getOrderForPayment(tx, placed.id))).toEqual({
      id: placed.id,
      number: placed.number,
      status: 'pending',
      payment_status: 'unpaid',
      currency: 'EUR',
      total: 1250,
      amount_paid: 0,
      amount_refunded: 0,
    });
    const other = { tenantId: otherTenantId, actor: SYSTEM_ACTOR };
    await expect(
      withTenant(testApp.platform.db, otherTenantId, (tx) =>
        orders.create(tx, other, { lines: [{ product_id: item.id, quantity: 1 }] }),
      ),
    ).rejects.toMatchObject({ code: 'validation_failed' });
  });

  it('keeps the ledger balanced through any sequence of stock operations', async () => {
    type Op =
      | { kind: 'adjust'; delta: number }
      | { kind: 'set'; on_hand: number }
      | { kind: 'order'; quantity: number }
      | { kind: 'cancel' }
      | { kind: 'pay_and_fulfil' };
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('adjust' as const),
        delta: fc.integer({ min: -8, max: 12 }).filter((d) => d !== 0),
      }),
      fc.record({ kind: fc.constant('set' as const), on_hand: fc.integer({ min: 0, max: 15 }) }),
      fc.record({ kind: fc.constant('order' as const), quantity: fc.integer({ min: 1, max: 4 }) }),
      fc.constant({ kind: 'cancel' as const }),
      fc.constant({ kind: 'pay_and_fulfil' as const }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops: Op[]) => {
        const item = await product(0);
        const open: { id: string; total: number }[] = [];
        let onHand = 0;
        let reserved = 0;
        for (const step of ops) {
          try {
            switch (step.kind) {
              case 'adjust':
                await inTenant((tx) =>
                  inventory.adjust(tx, who, item.id, { delta: step.delta, reason: 'count' }),
                );
                onHand += step.delta;
                break;
              case 'set':
                await inTenant((tx) => inventory.set(tx, who, item.id, { on_hand: step.on_hand }));
                onHand = step.on_hand;
                break;
              case 'order': {
                const placed = await order([{ product_id: item.id, quantity: step.quantity }]);
                open.push({ id: placed.id, total: placed.total });
                reserved += step.quantity;
                break;
              }
              case 'cancel': {
                const target = open.shift();
                if (!target) break;
                const cancelled = await inTenant((tx) => orders.cancel(tx, who, target.id));
                reserved -= cancelled.lines[0]!.quantity;
                break;
              }
              case 'pay_and_fulfil': {
                const target = open.shift();
                if (!target) break;
                await inTenant((tx) =>
                  sql`update orders set status = 'paid' where id = ${target.id}`.execute(tx),
                );
                const fulfilled = await inTenant((tx) => orders.fulfil(tx, who, target.id));
                onHand -= fulfilled.lines[0]!.quantity;
                reserved -= fulfilled.lines[0]!.quantity;
                break;
              }
            }
          } catch (error) {
            // Refusals are part of the property: they must be the stock conflict, and change nothing.
            expect(codeOf(error)).toBe('insufficient_stock');
          }
          const now = await level(item.id);
          expect(now).toMatchObject({ on_hand: onHand, reserved, available: onHand - reserved });
          expect(now.available).toBeGreaterThanOrEqual(0);
        }
        expect(await ledgerSums(item.id)).toEqual({ on_hand: onHand, reserved });
      }),
      { numRuns: 25 },
    );
  });

  describe('payment state from commerce.payment.processed', () => {
    const paymentEvent = (orderId: string, data: Partial<PaymentEventData>): PaymentEventData => ({
      payment_id: uuidv7(),
      order_id: orderId,
      gateway: 'manual',
      status: 'completed',
      amount: 0,
      amount_captured: 0,
      amount_refunded: 0,
      currency: 'EUR',
      failure_code: null,
      failure_message: null,
      ...data,
    });
    const emit = async (...events: PaymentEventData[]) => {
      await inTenant((tx) =>
        addEvents(
          tx,
          events.map((data) => ({
            type: 'commerce.payment.processed' as const,
            tenantId,
            actor: SYSTEM_ACTOR,
            data,
          })),
        ),
      );
      await testApp.flushEvents();
    };
    const statusEvents = async (orderId: string) => {
      const { rows } = await sql<{ from: string; to: string }>`
        select payload->'data'->>'from' as "from", payload->'data'->>'to' as "to" from outbox_events
        where type = 'commerce.order.status_changed' and payload->'data'->>'order_id' = ${orderId} order by seq`.execute(
        testApp.platform.db,
      );
      return rows;
    };

    it('moves an order through authorized, partially paid, paid, partially refunded and refunded', async () => {
      const item = await product(10, 1000);
      const placed = await order([{ product_id: item.id, quantity: 2 }]);
      const first = paymentEvent(placed.id, { status: 'authorized', amount: 1500 });
      await emit(first);
      expect(await inTenant((tx) => orders.get(tx, placed.id))).toMatchObject({
        status: 'pending',
        payment_status: 'authorized',
      });
      await emit({ ...first, status: 'completed', amount_captured: 1500 });
      expect(await inTenant((tx) => orders.get(tx, placed.id))).toMatchObject({
        status: 'pending',
        payment_status: 'partially_paid',
        amount_paid: 1500,
      });
      const second = paymentEvent(placed.id, { amount: 500, amount_captured: 500 });
      await emit(second);
      expect(await inTenant((tx) => orders.get(tx, placed.id))).toMatchObject({
        status: 'paid',
        payment_status: 'paid',
        amount_paid: 2000,
      });
      await emit({ ...second, status: 'refunded', amount_refunded: 500 });
      expect(await inTenant((tx) => orders.get(tx, placed.id))).toMatchObject({
        status: 'paid',
        payment_status: 'partially_refunded',
        amount_refunded: 500,
      });
      await emit({ ...first, status: 'refunded', amount_captured: 1500, amount_refunded: 1500 });
      expect(await inTenant((tx) => orders.get(tx, placed.id))).toMatchObject({
        status: 'refunded',
        payment_status: 'refunded',
        amount_paid: 2000,
        amount_refunded: 2000,
      });
      // Refunded before shipping: the reservation went back on sale.
      expect(await level(item.id)).toMatchObject({ on_hand: 10, reserved: 0 });
      expect(await statusEvents(placed.id)).toEqual([
        { from: 'pending', to: 'paid' },
        { from: 'paid', to: 'refunded' },
      ]);
      const history = await inTenant((tx) => orders.history(tx, placed.id));
      expect(history.map((change) => [change.from, change.to, change.actor.type])).toEqual([
        [null, 'pending', 'user'],
        ['pending', 'paid', 'system'],
        ['paid', 'refunded', 'system'],
      ]);
    });

    it('ignores a stale event that arrives after a newer one', async () => {
      const item = await product(10, 1000);
      const placed = await order([{ product_id: item.id, quantity: 1 }]);
      const payment = paymentEvent(placed.id, { status: 'authorized', amount: 1000 });
      const envelopes = await inTenant((tx) =>
        addEvents(tx, [
          { type: 'commerce.payment.processed', tenantId, actor: SYSTEM_ACTOR, data: payment },
          {
            type: 'commerce.payment.processed',
            tenantId,
            actor: SYSTEM_ACTOR,
            data: { ...payment, status: 'completed', amount_captured: 1000 },
          },
        ]),
      );
      // Deliver the newer event first, then the older one, as a redelivery might.
      await inTenant((tx) =>
        orders.applyPaymentEvent(tx, {
          ...envelopes[1]!,
          type: 'commerce.payment.processed',
          data: envelopes[1]!.data as PaymentEventData,
        }),
      );
      await inTenant((tx) =>
        orders.applyPaymentEvent(tx, {
          ...envelopes[0]!,
          type: 'commerce.payment.processed',
          data: envelopes[0]!.data as PaymentEventData,
        }),
      );
      expect(await inTenant((tx) => orders.get(tx, placed.id))).toMatchObject({
        status: 'paid',
        payment_status: 'paid',
        amount_paid: 1000,
      });
    });

    it('refunds a fulfilled order without restocking, and refuses to cancel once money was captured', async () => {
      const item = await product(10, 1000);
      const placed = await order([{ product_id: item.id, quantity: 1 }]);
      const partial = paymentEvent(placed.id, { amount: 400, amount_captured: 400 });
      await emit(partial);
      await expect(inTenant((tx) => orders.cancel(tx, who, placed.id))).rejects.toMatchObject({
        code: 'invalid_state_transition',
      });
      const rest = paymentEvent(placed.id, { amount: 600, amount_captured: 600 });
      await emit(rest);
      await inTenant((tx) => orders.fulfil(tx, who, placed.id));
      expect(await level(item.id)).toMatchObject({ on_hand: 9, reserved: 0 });
      await emit(
        { ...partial, status: 'refunded', amount_refunded: 400 },
        { ...rest, status: 'refunded', amount_refunded: 600 },
      );
      expect(await inTenant((tx) => orders.get(tx, placed.id))).toMatchObject({
        status: 'refunded',
        payment_status: 'refunded',
      });
      expect(await level(item.id)).toMatchObject({ on_hand: 9, reserved: 0 });
    });

    it('cancels a pending order once everything paid toward it was refunded', async () => {
      const item = await product(10, 1000);
      const placed = await order([{ product_id: item.id, quantity: 1 }]);
      const partial = paymentEvent(placed.id, { amount: 400, amount_captured: 400 });
      await emit(partial);
      await emit({ ...partial, status: 'refunded', amount_refunded: 400 });
      expect(await inTenant((tx) => orders.get(tx, placed.id))).toMatchObject({
        status: 'pending',
        payment_status: 'refunded',
      });
      expect(await inTenant((tx) => orders.cancel(tx, who, placed.id))).toMatchObject({
        status: 'cancelled',
      });
      expect(await level(item.id)).toMatchObject({ on_hand: 10, reserved: 0 });
    });
  });

  it('pays a free order at once, so that it can be fulfilled', async () => {
    const free = await product(5, 0);
    const placed = await order([{ product_id: free.id, quantity: 2 }]);
    expect(placed).toMatchObject({ status: 'paid', payment_status: 'paid', total: 0 });
    expect(await inTenant((tx) => orders.fulfil(tx, who, placed.id))).toMatchObject({ status: 'fulfilled' });
    expect(await level(free.id)).toMatchObject({ on_hand: 3, reserved: 0 });
    const history = await inTenant((tx) => orders.history(tx, placed.id));
    expect(history.map((change) => [change.from, change.to, change.reason])).toEqual([
      [null, 'pending', null],
      ['pending', 'paid', 'Nothing to pay'],
      ['paid', 'fulfilled', null],
    ]);
  });
});
