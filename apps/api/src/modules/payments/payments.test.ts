import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FakeHttpServer, FakeResponse } from '../../../test/gateways/fake-server';
import { FakePayPal } from '../../../test/gateways/paypal-server';
import { FakeSquare } from '../../../test/gateways/square-server';
import { FakeStripe } from '../../../test/gateways/stripe-server';
import { createTestApp, type TestApp } from '../../../test/support/app';
import { addMember, registerTenant, type TestTenant, type TestUser } from '../../../test/support/auth';
import { holdRows, lockWaiters, until } from '../../../test/support/locks';
import { serviceAvailable } from '../../../test/support/services';
import { withTenant, withTenantRead } from '../../platform/db/tenant';
import { createCatalogModule } from '../catalog';
import { createInventoryModule } from '../inventory';
import { createOrdersModule } from '../orders';
import { DisputesService } from './disputes';
import type { Payment, PaymentDetail, Refund } from './schemas';
import { PaymentsService } from './service';

describe.runIf(await serviceAvailable('postgres'))('payments', () => {
  const stripe = new FakeStripe();
  const square = new FakeSquare();
  const paypal = new FakePayPal();
  let testApp: TestApp;
  let admin: TestTenant;
  let staff: TestUser;
  let other: TestTenant;
  let reconciler: PaymentsService;

  beforeAll(async () => {
    const [stripeBase, squareBase, paypalBase] = await Promise.all([
      stripe.start(),
      square.start(),
      paypal.start(),
    ]);
    testApp = await createTestApp({
      env: {
        STRIPE_API_BASE: stripeBase,
        STRIPE_SECRET_KEY: stripe.secretKey,
        STRIPE_WEBHOOK_SECRET: stripe.webhookSecret,
        SQUARE_API_BASE: squareBase,
        SQUARE_ACCESS_TOKEN: square.accessToken,
        SQUARE_LOCATION_ID: 'LOCATION',
        SQUARE_DEVICE_ID: 'DEVICE-1',
        SQUARE_WEBHOOK_SIGNATURE_KEY: square.signatureKey,
        PAYPAL_API_BASE: paypalBase,
        PAYPAL_CLIENT_ID: paypal.clientId,
        PAYPAL_CLIENT_SECRET: paypal.clientSecret,
        PAYPAL_WEBHOOK_ID: paypal.webhookId,
        GATEWAY_TIMEOUT_MS: '400',
      },
    });
    admin = await registerTenant(testApp);
    staff = await addMember(testApp, admin, ['staff']);
    other = await registerTenant(testApp);
    // The reconciler job as the worker runs it: the same service, built from the real modules.
    const { platform } = testApp;
    const inventory = createInventoryModule(platform);
    const catalog = createCatalogModule(platform, { inventory: inventory.service });
    const orders = createOrdersModule(platform, { catalog: catalog.service, inventory: inventory.service });
    reconciler = new PaymentsService(
      platform.db,
      platform.config,
      platform.secrets,
      orders.service,
      pino({ level: 'silent' }),
      new DisputesService(platform.db, pino({ level: 'silent' })),
    );
  });

  afterAll(async () => {
    await testApp?.close();
    await Promise.all([stripe.close(), square.close(), paypal.close()]);
  });

  const inject = (
    who: { auth: Record<string, string> },
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    url: string,
    payload?: object,
    headers: Record<string, string> = {},
  ) =>
    testApp.app.inject({
      method,
      url,
      headers: { ...who.auth, ...headers },
      ...(payload ? { payload } : {}),
    });

  async function placeOrder(
    owner: TestTenant = admin,
    price = 5000,
    currency = 'EUR',
  ): Promise<{ id: string; total: number }> {
    const product = await inject(owner, 'POST', '/commerce/products', {
      sku: `SKU-${randomBytes(4).toString('hex')}`,
      name: 'Lamp',
      price,
      currency,
    });
    expect(product.statusCode).toBe(201);
    const productId = product.json<{ id: string }>().id;
    expect((await inject(owner, 'PUT', `/commerce/inventory/${productId}`, { on_hand: 10 })).statusCode).toBe(
      200,
    );
    const order = await inject(owner, 'POST', '/commerce/orders', {
      lines: [{ product_id: productId, quantity: 1 }],
    });
    expect(order.statusCode).toBe(201);
    return order.json();
  }

  async function cardMethod(gateway: 'stripe' | 'square', token: string): Promise<string> {
    const method = await inject(admin, 'POST', '/commerce/payment-methods', {
      gateway,
      type: 'card',
      gateway_token: token,
    });
    expect(method.statusCode).toBe(201);
    return method.json<{ id: string }>().id;
  }

  /** The rows of a reconciliation run of `gateway` from `from` until a second from now. */
  async function reconciledRows<Row>(gateway: string, from: string): Promise<Row[]> {
    const run = await inject(admin, 'POST', '/commerce/payments/reconcile', {
      gateway,
      from,
      to: new Date(Date.now() + 1_000).toISOString(),
    });
    expect(run.statusCode, run.body).toBe(200);
    return run.json<{ rows: Row[] }>().rows;
  }

  /** A refund made in Stripe's dashboard (its API, as the dashboard calls it), not through us. */
  const refundAtStripe = (fields: Record<string, string>) =>
    fetch(`${testApp.config.STRIPE_API_BASE}/v1/refunds`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${stripe.secretKey}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams(fields),
    });

  const pay = (body: object, who: { auth: Record<string, string> } = admin, key?: string) =>
    inject(who, 'POST', '/commerce/payments', body, key ? { 'idempotency-key': key } : {});

  const status = async (id: string) =>
    (await inject(admin, 'GET', `/commerce/payments/${id}`)).json<Payment>().status;

  /** Authorizes (capture later) `amount` EUR of an order on Stripe with a saved card. */
  const authorizeOnStripe = async (orderId: string, methodId: string, amount = 5000) =>
    (
      await pay({
        order_id: orderId,
        amount,
        currency: 'EUR',
        gateway: 'stripe',
        payment_method_id: methodId,
        capture: false,
      })
    ).json<Payment>();

  it('stores a card once for one Idempotency-Key, and refuses the key for another card', async () => {
    const body = { gateway: 'stripe', type: 'card', gateway_token: 'pm_card_visa', label: 'Front desk' };
    const key = `method-${randomBytes(4).toString('hex')}`;
    const first = await inject(admin, 'POST', '/commerce/payment-methods', body, { 'idempotency-key': key });
    expect(first.statusCode).toBe(201);
    const again = await inject(admin, 'POST', '/commerce/payment-methods', body, { 'idempotency-key': key });
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
    const other = await inject(
      admin,
      'POST',
      '/commerce/payment-methods',
      { ...body, label: 'Back office' },
      { 'idempotency-key': key },
    );
    expect(other.statusCode).toBe(422);
    expect(other.json().code).toBe('idempotency_conflict');
    const listed = await inject(admin, 'GET', '/commerce/payment-methods?limit=200');
    expect(
      listed
        .json<{ data: { label: string | null }[] }>()
        .data.filter((method) => method.label === 'Front desk'),
    ).toHaveLength(1);
  });

  it('takes cash with change due, and the order becomes paid through the event', async () => {
    const order = await placeOrder();
    const response = await pay({
      order_id: order.id,
      amount: 5000,
      currency: 'EUR',
      gateway: 'manual',
      cash_tendered: 6000,
    });
    expect(response.statusCode).toBe(201);
    const payment = response.json<Payment>();
    expect(payment).toMatchObject({ status: 'completed', amount_captured: 5000, change_due: 1000 });
    const before = (await inject(admin, 'GET', `/commerce/orders/${order.id}`)).json<{ status: string }>();
    expect(before.status).toBe('pending');
    await testApp.flushEvents();
    const after = (await inject(admin, 'GET', `/commerce/orders/${order.id}`)).json<{
      status: string;
      payment_status: string;
      amount_paid: number;
    }>();
    expect(after).toMatchObject({ status: 'paid', payment_status: 'paid', amount_paid: 5000 });
    // Paid in full: nothing more can be taken.
    expect(
      (await pay({ order_id: order.id, amount: 1, currency: 'EUR', gateway: 'manual' })).statusCode,
    ).toBe(409);
  });

  it("hands a cash payment's answer to the caller inside the payment's transaction, before it commits", async () => {
    const order = await placeOrder();
    const db = testApp.platform.db;
    const tenantId = admin.tenant.id;
    const caller = { tenantId, userId: admin.user.id };
    const input = { order_id: order.id, amount: 1000, currency: 'EUR', gateway: 'manual' as const };
    const seen: { answer: Payment; inside: number; outside: number }[] = [];
    const payment = await testApp.modules.services.payments.createPayment(caller, input, {
      recordAnswer: async (tx, answer) => {
        const byId = (executor: typeof tx) =>
          executor.selectFrom('payments').select('id').where('id', '=', answer.id).execute();
        // The route records its Idempotency-Key here: with the payment, or not at all.
        const outside = await withTenantRead(db, tenantId, byId);
        seen.push({ answer, inside: (await byId(tx)).length, outside: outside.length });
      },
    });
    expect(seen).toEqual([{ answer: payment, inside: 1, outside: 0 }]);
    expect(await status(payment.id)).toBe('completed');
  });

  it('refuses a wrong currency, more than is unpaid, and too little cash', async () => {
    const order = await placeOrder();
    const wrong = await pay({ order_id: order.id, amount: 100, currency: 'USD', gateway: 'manual' });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json<{ code: string }>().code).toBe('currency_mismatch');
    const over = await pay({ order_id: order.id, amount: 5001, currency: 'EUR', gateway: 'manual' });
    expect(over.statusCode).toBe(409);
    expect(over.json<{ code: string }>().code).toBe('amount_exceeds_balance');
    const short = await pay({
      order_id: order.id,
      amount: 5000,
      currency: 'EUR',
      gateway: 'manual',
      cash_tendered: 4000,
    });
    expect(short.statusCode).toBe(400);
  });

  it('authorizes with Stripe, then captures part of it', async () => {
    const methodId = await cardMethod('stripe', 'pm_card_visa');
    const method = (await inject(admin, 'GET', `/commerce/payment-methods/${methodId}`)).json<{
      brand: string;
      last4: string;
    }>();
    expect(method).toMatchObject({ brand: 'visa', last4: '4242' });
    // A label is named, then cleared: null stays null, not an empty string.
    const named = await inject(admin, 'PUT', `/commerce/payment-methods/${methodId}`, {
      label: 'Front desk',
    });
    expect(named.json()).toMatchObject({ label: 'Front desk' });
    const cleared = await inject(admin, 'PUT', `/commerce/payment-methods/${methodId}`, { label: null });
    expect(cleared.statusCode).toBe(200);
    expect(cleared.json()).toMatchObject({ label: null });
    const order = await placeOrder();
    const held = await authorizeOnStripe(order.id, methodId);
    expect(held).toMatchObject({ status: 'authorized', amount_authorized: 5000, amount_captured: 0 });
    expect(held.gateway_reference).toMatch(/^pi_/);
    const tooMuch = await inject(admin, 'POST', `/commerce/payments/${held.id}/capture`, { amount: 6000 });
    expect(tooMuch.json<{ code: string }>().code).toBe('amount_exceeds_authorized');
    const captured = await inject(admin, 'POST', `/commerce/payments/${held.id}/capture`, { amount: 3000 });
    expect(captured.statusCode).toBe(200);
    expect(captured.json<Payment>()).toMatchObject({ status: 'completed', amount_captured: 3000 });
    expect(stripe.intents.get(held.gateway_reference!)).toMatchObject({
      status: 'succeeded',
      amount_received: 3000,
    });
    // No body at all, as a client sends a bare POST: the same answer as an empty object.
    const again = await testApp.app.inject({
      method: 'POST',
      url: `/commerce/payments/${held.id}/capture`,
      headers: admin.auth,
    });
    expect(again.statusCode, again.body).toBe(409);
    expect(again.json<{ code: string }>().code).toBe('invalid_state_transition');
    const detail = (await inject(admin, 'GET', `/commerce/payments/${held.id}`)).json<PaymentDetail>();
    expect(detail.transactions.map((t) => [t.kind, t.outcome])).toEqual([
      ['authorize', 'succeeded'],
      ['capture', 'succeeded'],
    ]);
  });

  it('voids an authorization, once', async () => {
    const methodId = await cardMethod('stripe', 'pm_card_visa');
    const order = await placeOrder();
    const held = await authorizeOnStripe(order.id, methodId, 2000);
    const voided = await inject(admin, 'POST', `/commerce/payments/${held.id}/void`);
    expect(voided.json<Payment>().status).toBe('voided');
    expect(stripe.intents.get(held.gateway_reference!)?.status).toBe('canceled');
    const again = await inject(admin, 'POST', `/commerce/payments/${held.id}/void`);
    expect(again.statusCode).toBe(409);
    expect(again.json<{ code: string }>().code).toBe('invalid_state_transition');
  });

  it('voids what a cancelled order holds, after the cancel commits, and sweeps up what was left', async () => {
    const methodId = await cardMethod('stripe', 'pm_card_visa');
    const authorize = (orderId: string) => authorizeOnStripe(orderId, methodId);

    const order = await placeOrder();
    const held = await authorize(order.id);
    expect((await inject(admin, 'POST', `/commerce/orders/${order.id}/cancel`)).statusCode).toBe(200);
    await testApp.flushEvents();
    await vi.waitFor(async () => expect(await status(held.id)).toBe('voided'));
    expect(stripe.intents.get(held.gateway_reference!)?.status).toBe('canceled');

    // A cancel whose voids never ran (a crash after its commit): the reconciler's sweep voids it.
    const orphan = await placeOrder();
    const left = await authorize(orphan.id);
    await withTenant(testApp.platform.db, admin.tenant.id, (tx) =>
      tx.updateTable('orders').set({ status: 'cancelled' }).where('id', '=', orphan.id).execute(),
    );
    const open = await placeOrder();
    const kept = await authorize(open.id);
    expect(await reconciler.voidAbandoned(0)).toBe(1);
    expect(await status(left.id)).toBe('voided');
    expect(await status(kept.id)).toBe('authorized');
  });

  it('refuses to capture for a cancelled order, and refunds a charge that completed after the cancel', async () => {
    const methodId = await cardMethod('stripe', 'pm_card_visa');
    // The cancel has committed; its void has not run yet.
    const order = await placeOrder();
    const held = await authorizeOnStripe(order.id, methodId);
    await withTenant(testApp.platform.db, admin.tenant.id, (tx) =>
      tx.updateTable('orders').set({ status: 'cancelled' }).where('id', '=', order.id).execute(),
    );
    const capture = await inject(admin, 'POST', `/commerce/payments/${held.id}/capture`, {});
    expect(capture.statusCode).toBe(409);
    expect(capture.json()).toMatchObject({ code: 'invalid_state_transition' });
    expect(stripe.intents.get(held.gateway_reference!)?.status).toBe('requires_capture');
    expect(await status(held.id)).toBe('authorized');

    // A charge whose outcome was unknown when its order was cancelled: the cancel saw nothing paid.
    const raced = await placeOrder();
    stripe.server.hangNext();
    const charge = (await pay(stripeCharge(raced.id, methodId))).json<Payment>();
    expect(charge.status).toBe('unknown');
    expect((await inject(admin, 'POST', `/commerce/orders/${raced.id}/cancel`)).statusCode).toBe(200);
    await testApp.flushEvents();
    // Settled as completed, the charge is refunded once that commits.
    expect(await reconciler.settleUnknown()).toBeGreaterThanOrEqual(1);
    await vi.waitFor(async () => expect(await status(charge.id)).toBe('refunded'));
    expect(intentsFor(raced.id).map((intent) => stripeRefundsOf(intent.id))).toEqual([[5000]]);
    const refunds = await inject(admin, 'GET', `/commerce/refunds?payment_id=${charge.id}`);
    expect(refunds.json<{ data: Refund[] }>().data).toMatchObject([
      { amount: 5000, status: 'processed', reason: 'The order was cancelled before this payment completed' },
    ]);
    // The cancel's release, and the events of the refund, refund nothing more.
    await testApp.flushEvents();
    expect(
      (await inject(admin, 'GET', `/commerce/refunds?payment_id=${charge.id}`)).json<{ data: Refund[] }>()
        .data,
    ).toHaveLength(1);
    expect((await inject(admin, 'GET', `/commerce/orders/${raced.id}`)).json()).toMatchObject({
      status: 'cancelled',
    });

    // A charge that completed before the cancel, its event not yet applied to the order: the
    // money was captured, so the cancel is refused, and the order is paid once the event lands.
    const unapplied = await placeOrder();
    const completed = (await pay(stripeCharge(unapplied.id, methodId))).json<Payment>();
    expect(completed.status).toBe('completed');
    const refused = await inject(admin, 'POST', `/commerce/orders/${unapplied.id}/cancel`);
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'invalid_state_transition' });
    await testApp.flushEvents();
    expect(await status(completed.id)).toBe('completed');
    expect((await inject(admin, 'GET', `/commerce/orders/${unapplied.id}`)).json()).toMatchObject({
      status: 'paid',
    });
    expect(intentsFor(unapplied.id).map((intent) => stripeRefundsOf(intent.id))).toEqual([[]]);
  });

  it('polls a Terminal checkout and a PayPal order whose webhooks never came', async () => {
    const order = await placeOrder(admin, 5000, 'USD');
    const terminal = (
      await pay({ order_id: order.id, amount: 2000, currency: 'USD', gateway: 'square_terminal' })
    ).json<Payment>();
    const buyer = (
      await pay({ order_id: order.id, amount: 3000, currency: 'USD', gateway: 'paypal', capture: true })
    ).json<Payment>();
    await reconciler.pollPending(0);
    expect([await status(terminal.id), await status(buyer.id)]).toEqual(['pending', 'pending']);

    square.completeCheckout(terminal.gateway_reference!);
    paypal.approve(buyer.gateway_reference!);
    expect(await reconciler.pollPending(0)).toBeGreaterThanOrEqual(2);
    expect([await status(terminal.id), await status(buyer.id)]).toEqual(['completed', 'completed']);
    await testApp.flushEvents();
    const paid = await inject(admin, 'GET', `/commerce/orders/${order.id}`);
    expect(paid.json()).toMatchObject({ status: 'paid', amount_paid: 5000 });
  });

  it('records a decline as failed with its failure code', async () => {
    const methodId = await cardMethod('stripe', 'pm_card_chargeDeclined');
    const order = await placeOrder();
    const response = await pay({
      order_id: order.id,
      amount: 5000,
      currency: 'EUR',
      gateway: 'stripe',
      payment_method_id: methodId,
    });
    expect(response.statusCode).toBe(201);
    expect(response.json<Payment>()).toMatchObject({ status: 'failed', failure_code: 'generic_decline' });
    await testApp.flushEvents();
    const orderNow = (await inject(admin, 'GET', `/commerce/orders/${order.id}`)).json<{ status: string }>();
    expect(orderNow.status).toBe('pending');
  });

  it('creates refunds pending, processes them, and never refunds more than was captured', async () => {
    const order = await placeOrder(admin, 2000);
    const payment = (
      await pay({ order_id: order.id, amount: 2000, currency: 'EUR', gateway: 'manual' })
    ).json<Payment>();
    const refund = await inject(admin, 'POST', '/commerce/refunds', {
      payment_id: payment.id,
      amount: 500,
      reason: 'scratched',
    });
    expect(refund.statusCode).toBe(201);
    expect(refund.json<Refund>().status).toBe('pending');
    const beyond = await inject(admin, 'POST', '/commerce/refunds', { payment_id: payment.id, amount: 1501 });
    expect(beyond.statusCode).toBe(409);
    expect(beyond.json<{ code: string }>().code).toBe('refund_exceeds_captured');
    const byStaff = await inject(staff, 'POST', `/commerce/refunds/${refund.json<Refund>().id}/process`);
    expect(byStaff.statusCode).toBe(403);
    const processed = await inject(admin, 'POST', `/commerce/refunds/${refund.json<Refund>().id}/process`);
    expect(processed.json<Refund>().status).toBe('processed');
    const after = (await inject(admin, 'GET', `/commerce/payments/${payment.id}`)).json<Payment>();
    expect(after).toMatchObject({ status: 'partially_refunded', amount_refunded: 500 });
    expect(
      (await inject(admin, 'POST', `/commerce/refunds/${refund.json<Refund>().id}/process`)).statusCode,
    ).toBe(409);
  });

  it('keeps concurrent refunds within the captured amount', async () => {
    const order = await placeOrder(admin, 2000);
    const payment = (
      await pay({ order_id: order.id, amount: 2000, currency: 'EUR', gateway: 'manual' })
    ).json<Payment>();
    const answers = await Promise.all(
      Array.from({ length: 6 }, () =>
        inject(admin, 'POST', '/commerce/refunds', { payment_id: payment.id, amount: 600 }),
      ),
    );
    expect(answers.filter((a) => a.statusCode === 201)).toHaveLength(3);
    expect(answers.filter((a) => a.statusCode === 409)).toHaveLength(3);
  });

  it('lists refunds by status, a page after another, however many newer refunds are in other statuses', async () => {
    // A tenant of its own, so that only this test's refunds are listed.
    const shop = await registerTenant(testApp);
    const order = await placeOrder(shop, 10_000);
    const payment = (
      await pay({ order_id: order.id, amount: 10_000, currency: 'EUR', gateway: 'manual' }, shop)
    ).json<Payment>();
    const request = async () => {
      const created = await inject(shop, 'POST', '/commerce/refunds', {
        payment_id: payment.id,
        amount: 100,
      });
      expect(created.statusCode).toBe(201);
      return created.json<Refund>();
    };
    // Three pending refunds, then newer ones that are processed or failed: the newest page of all
    // refunds holds no pending one.
    const pending: Refund[] = [];
    for (let i = 0; i < 3; i++) pending.push(await request());
    const processed: Refund[] = [];
    for (let i = 0; i < 3; i++) {
      const refund = await request();
      const answer = await inject(shop, 'POST', `/commerce/refunds/${refund.id}/process`);
      expect(answer.json<Refund>().status).toBe('processed');
      processed.push(refund);
    }
    // A manual refund never fails at its gateway: this one is marked failed as a gateway would.
    const failed = await request();
    await withTenant(testApp.platform.db, shop.tenant.id, (tx) =>
      tx.updateTable('refunds').set({ status: 'failed' }).where('id', '=', failed.id).execute(),
    );

    type RefundPage = { data: Refund[]; next_cursor: string | null };
    const list = async (query: string) => {
      const answer = await inject(shop, 'GET', `/commerce/refunds?${query}`);
      expect(answer.statusCode).toBe(200);
      return answer.json<RefundPage>();
    };
    const newestFirst = (refunds: Refund[]) =>
      refunds
        .map((refund) => refund.id)
        .sort()
        .reverse();

    const newest = await list('limit=2');
    expect(newest.data.filter((refund) => refund.status === 'pending')).toEqual([]);

    const first = await list('status=pending&limit=2');
    expect(first.data.map((refund) => refund.status)).toEqual(['pending', 'pending']);
    expect(first.next_cursor).toEqual(expect.any(String));
    const second = await list(`status=pending&limit=2&cursor=${first.next_cursor}`);
    expect(second.data.map((refund) => refund.status)).toEqual(['pending']);
    expect(second.next_cursor).toBeNull();
    expect([...first.data, ...second.data].map((refund) => refund.id)).toEqual(newestFirst(pending));

    const done = await list('status=processed');
    expect(done.data.map((refund) => refund.id)).toEqual(newestFirst(processed));
    expect(done.data.every((refund) => refund.status === 'processed')).toBe(true);
    expect(done.next_cursor).toBeNull();
    expect((await list('status=failed')).data.map((refund) => refund.id)).toEqual([failed.id]);
    // Combined with the payment filter, and confined to the tenant.
    expect((await list(`payment_id=${payment.id}&status=pending`)).data.map((refund) => refund.id)).toEqual(
      newestFirst(pending),
    );
    const others = await inject(other, 'GET', '/commerce/refunds?status=pending&limit=200');
    const ours = new Set(pending.map((refund) => refund.id));
    expect(others.json<RefundPage>().data.filter((refund) => ours.has(refund.id))).toEqual([]);

    for (const status of ['refunded', 'PENDING', '']) {
      const refused = await inject(shop, 'GET', `/commerce/refunds?status=${status}`);
      expect(refused.statusCode).toBe(400);
      expect(refused.json()).toMatchObject({
        code: 'validation_failed',
        errors: expect.arrayContaining([
          expect.objectContaining({ path: expect.stringContaining('status') }),
        ]),
      });
    }
  });

  it('refunds a Stripe charge at Stripe', async () => {
    const methodId = await cardMethod('stripe', 'pm_card_visa');
    const order = await placeOrder(admin, 3000);
    const payment = (
      await pay({
        order_id: order.id,
        amount: 3000,
        currency: 'EUR',
        gateway: 'stripe',
        payment_method_id: methodId,
      })
    ).json<Payment>();
    expect(payment.status).toBe('completed');
    const refund = (
      await inject(admin, 'POST', '/commerce/refunds', { payment_id: payment.id, amount: 3000 })
    ).json<Refund>();
    const processed = (await inject(admin, 'POST', `/commerce/refunds/${refund.id}/process`)).json<Refund>();
    expect(processed).toMatchObject({
      status: 'processed',
      gateway_reference: expect.stringMatching(/^re_/),
    });
    expect((await inject(admin, 'GET', `/commerce/payments/${payment.id}`)).json<Payment>().status).toBe(
      'refunded',
    );
  });

  /** A card charge of `amount` EUR of an order on Stripe with a saved card. */
  const stripeCharge = (orderId: string, methodId: string, amount = 5000) => ({
    order_id: orderId,
    amount,
    currency: 'EUR',
    gateway: 'stripe',
    payment_method_id: methodId,
  });

  /** Stripe's PaymentIntent creations for an order, as Stripe received them. */
  const intentCallsFor = (orderId: string) =>
    stripe.server.callsTo('POST', /^\/v1\/payment_intents$/).filter((c) => c.body.includes(orderId));

  /** The PaymentIntents Stripe holds for an order: each one a charge. */
  const intentsFor = (orderId: string) =>
    [...stripe.intents.values()].filter((i) => i.metadata.tessera_order_id === orderId);
  /** The amounts Stripe refunded of an intent. */
  const stripeRefundsOf = (intentId: string) =>
    [...stripe.refunds.values()].filter((refund) => refund.payment_intent === intentId).map((r) => r.amount);

  /**
   * Runs `attempt` with the transaction after its gateway call failing once: the gateway acts, and
   * its answer is never recorded (a lost database connection, or a process dying there).
   */
  async function withSettlementFailing<T>(attempt: () => Promise<T>): Promise<T> {
    const settle = vi
      .spyOn(
        PaymentsService.prototype as unknown as { settlePayment: () => Promise<Payment> },
        'settlePayment',
      )
      .mockRejectedValueOnce(new Error('connection terminated'));
    try {
      return await attempt();
    } finally {
      settle.mockRestore();
    }
  }

  it('makes one gateway call for concurrent requests with the same Idempotency-Key', async () => {
    const methodId = await cardMethod('stripe', 'pm_card_visa');
    const order = await placeOrder();
    const body = stripeCharge(order.id, methodId);
    const key = `pay-${randomBytes(6).toString('hex')}`;
    const answers = await Promise.all([pay(body, admin, key), pay(body, admin, key), pay(body, admin, key)]);
    const created = answers.filter((a) => a.statusCode === 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    expect(answers.every((a) => a.statusCode === 201 || a.statusCode === 409)).toBe(true);
    expect(new Set(created.map((a) => a.json<Payment>().id)).size).toBe(1);
    expect(intentCallsFor(order.id)).toHaveLength(1);
    const replay = await pay(body, admin, key);
    expect(replay.statusCode).toBe(201);
    expect(replay.json<Payment>().id).toBe(created[0]!.json<Payment>().id);
  });

  it('finishes the payment a failed attempt began when its Idempotency-Key is retried: one charge', async () => {
    const methodId = await cardMethod('stripe', 'pm_card_visa');
    const order = await placeOrder();
    // Part of the order, so that a second payment would fit. Stripe charges the card, then the
    // transaction that would record it fails (a process that dies there leaves the same, once its
    // lease ends).
    const body = stripeCharge(order.id, methodId, 2000);
    const key = `pay-${randomBytes(6).toString('hex')}`;
    expect((await withSettlementFailing(() => pay(body, admin, key))).statusCode).toBe(500);
    const retried = await pay(body, admin, key);
    expect(retried.statusCode).toBe(201);
    expect(retried.json<Payment>()).toMatchObject({ status: 'completed', amount_captured: 2000 });
    const ofOrder = await inject(admin, 'GET', `/commerce/payments?order_id=${order.id}`);
    expect(ofOrder.json<{ data: Payment[] }>().data.map((p) => p.id)).toEqual([retried.json<Payment>().id]);
    // The retry resent the first call under its gateway key; Stripe holds one charge.
    const calls = intentCallsFor(order.id);
    expect(calls).toHaveLength(2);
    expect(new Set(calls.map((c) => c.idempotencyKey)).size).toBe(1);
    expect(intentsFor(order.id)).toHaveLength(1);
    const replay = await pay(body, admin, key);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.json<Payment>().id).toBe(retried.json<Payment>().id);
  });

  it('finishes a capture whose attempt failed when it is retried with its Idempotency-Key', async () => {
    const methodId = await cardMethod('stripe', 'pm_card_visa');
    const held = await authorizeOnStripe((await placeOrder()).id, methodId);
    const url = `/commerce/payments/${held.id}/capture`;
    const key = `capture-${randomBytes(6).toString('hex')}`;
    const capture = () => inject(admin, 'POST', url, { amount: 3000 }, { 'idempotency-key': key });
    expect((await withSettlementFailing(capture)).statusCode).toBe(500);
    // Another request finds the payment held by the capture that never settled.
    const other = await inject(admin, 'POST', url, { amount: 3000 });
    expect(other.json<{ code: string }>().code).toBe('conflict');
    const retried = await capture();
    expect(retried.statusCode).toBe(200);
    expect(retried.json<Payment>()).toMatchObject({ status: 'completed', amount_captured: 3000 });
    const calls = stripe.server.callsTo(
      'POST',
      new RegExp(`^/v1/payment_intents/${held.gateway_reference}/capture$`),
    );
    expect(calls).toHaveLength(2);
    expect(new Set(calls.map((c) => c.idempotencyKey)).size).toBe(1);
    expect(stripe.intents.get(held.gateway_reference!)).toMatchObject({
      status: 'succeeded',
      amount_received: 3000,
    });
  });

  it('answers a retried capture the gateway refused with the refusal, message and all', async () => {
    const methodId = await cardMethod('stripe', 'pm_card_visa');
    const held = await authorizeOnStripe((await placeOrder()).id, methodId);
    // Cancelled at Stripe behind our back: Stripe refuses the capture, and its answer is never recorded.
    stripe.intents.get(held.gateway_reference!)!.status = 'canceled';
    const key = `capture-${randomBytes(6).toString('hex')}`;
    const capture = () =>
      inject(
        admin,
        'POST',
        `/commerce/payments/${held.id}/capture`,
        { amount: 3000 },
        { 'idempotency-key': key },
      );
    expect((await withSettlementFailing(capture)).statusCode).toBe(500);
    const retried = await capture();
    expect(retried.statusCode).toBe(402);
    expect(retried.json<{ code: string; detail: string; failure_code: string }>()).toMatchObject({
      code: 'payment_declined',
      detail: expect.stringContaining('could not be captured because it has a status of canceled'),
      failure_code: 'payment_intent_unexpected_state',
    });
    const detail = (await inject(admin, 'GET', `/commerce/payments/${held.id}`)).json<PaymentDetail>();
    expect(detail.status).toBe('authorized');
    expect(detail.transactions.find((t) => t.kind === 'capture')).toMatchObject({
      outcome: 'declined',
      failure_code: 'payment_intent_unexpected_state',
      failure_message: expect.stringContaining('status of canceled'),
    });
  });

  it('resends a gateway call its process abandoned, once it is old enough', async () => {
    const methodId = await cardMethod('stripe', 'pm_card_visa');
    const order = await placeOrder();
    expect((await withSettlementFailing(() => pay(stripeCharge(order.id, methodId)))).statusCode).toBe(500);
    const ofOrder = async () =>
      (await inject(admin, 'GET', `/commerce/payments?order_id=${order.id}`)).json<{ data: Payment[] }>()
        .data;
    const [abandoned] = await ofOrder();
    expect(abandoned).toMatchObject({ status: 'pending' });
    // Not while the call may still be running in a live process.
    await reconciler.settleUnknown();
    expect(await status(abandoned!.id)).toBe('pending');
    expect(await reconciler.settleUnknown(100, 0)).toBeGreaterThanOrEqual(1);
    expect(await ofOrder()).toMatchObject([
      { id: abandoned!.id, status: 'completed', amount_captured: 5000 },
    ]);
    expect(intentsFor(order.id)).toHaveLength(1);
  });

  it('keeps a refund created once when its answer is lost and the request retried', async () => {
    const order = await placeOrder(admin, 2000);
    const payment = (
      await pay({ order_id: order.id, amount: 2000, currency: 'EUR', gateway: 'manual' })
    ).json<Payment>();
    const service = testApp.modules.services.payments;
    const createRefund = service.createRefund.bind(service);
    const crash = vi.spyOn(service, 'createRefund').mockImplementationOnce(async (...args) => {
      await createRefund(...args);
      throw new Error('crashed after the commit');
    });
    const body = { payment_id: payment.id, amount: 500 };
    const key = `refund-${randomBytes(6).toString('hex')}`;
    try {
      expect(
        (await inject(admin, 'POST', '/commerce/refunds', body, { 'idempotency-key': key })).statusCode,
      ).toBe(500);
    } finally {
      crash.mockRestore();
    }
    const retried = await inject(admin, 'POST', '/commerce/refunds', body, { 'idempotency-key': key });
    expect(retried.statusCode).toBe(201);
    expect(retried.headers['idempotent-replayed']).toBe('true');
    const refunds = await inject(admin, 'GET', `/commerce/refunds?payment_id=${payment.id}`);
    expect(refunds.json<{ data: Refund[] }>().data.map((r) => r.id)).toEqual([retried.json<Refund>().id]);
  });

  it('sends a refund processed twice at once to the gateway once; the other answers 409 conflict', async () => {
    const methodId = await cardMethod('stripe', 'pm_card_visa');
    const order = await placeOrder(admin, 3000);
    const payment = (await pay(stripeCharge(order.id, methodId, 3000))).json<Payment>();
    const refund = (
      await inject(admin, 'POST', '/commerce/refunds', { payment_id: payment.id, amount: 1000 })
    ).json<Refund>();
    // Stripe takes its time over the refund: the second request comes while the first is there.
    stripe.idempotency.slowNext(200);
    const url = `/commerce/refunds/${refund.id}/process`;
    const answers = await Promise.all([inject(admin, 'POST', url), inject(admin, 'POST', url)]);
    expect(answers.map((answer) => answer.statusCode).sort()).toEqual([200, 409]);
    expect(answers.find((answer) => answer.statusCode === 409)!.json()).toMatchObject({ code: 'conflict' });
    expect(answers.find((answer) => answer.statusCode === 200)!.json<Refund>().status).toBe('processed');
    expect(
      stripe.server.callsTo('POST', /^\/v1\/refunds$/).filter((c) => c.body.includes(refund.id)),
    ).toHaveLength(1);
    expect(stripeRefundsOf(payment.gateway_reference!)).toEqual([1000]);
  });

  it('sends again, under its key, a refund whose attempt timed out or died with its process', async () => {
    const methodId = await cardMethod('stripe', 'pm_card_visa');
    const order = await placeOrder(admin, 3000);
    const payment = (await pay(stripeCharge(order.id, methodId, 3000))).json<Payment>();
    const refundOf = async (amount: number) =>
      (await inject(admin, 'POST', '/commerce/refunds', { payment_id: payment.id, amount })).json<Refund>();
    const process = (refund: Refund) => inject(admin, 'POST', `/commerce/refunds/${refund.id}/process`);
    const keysSent = (refund: Refund) =>
      stripe.server
        .callsTo('POST', /^\/v1\/refunds$/)
        .filter((c) => c.body.includes(refund.id))
        .map((c) => c.idempotencyKey);

    // Stripe refunds it, and the answer never comes: unknown, so it may be sent again.
    const timedOut = await refundOf(1000);
    stripe.server.hangNext(1, /^POST \/v1\/refunds$/);
    expect((await process(timedOut)).json<Refund>().status).toBe('pending');
    expect((await process(timedOut)).json<Refund>().status).toBe('processed');
    expect(keysSent(timedOut)).toEqual([`refund:${timedOut.id}`, `refund:${timedOut.id}`]);

    // Stripe refunds it, and the process dies before it records the answer.
    const died = await refundOf(500);
    const settle = vi
      .spyOn(PaymentsService.prototype as unknown as { settleRefund: () => Promise<Refund> }, 'settleRefund')
      .mockRejectedValueOnce(new Error('connection terminated'));
    try {
      expect((await process(died)).statusCode).toBe(500);
    } finally {
      settle.mockRestore();
    }
    // For all we know it is still at the gateway...
    expect((await process(died)).json()).toMatchObject({ code: 'conflict' });
    // ...until longer ago than the gateway timeout (400 ms here): then its outcome is unknown.
    await new Promise((resolve) => setTimeout(resolve, 450));
    expect((await process(died)).json<Refund>().status).toBe('processed');
    expect(keysSent(died)).toEqual([`refund:${died.id}`, `refund:${died.id}`]);
    expect(stripeRefundsOf(payment.gateway_reference!)).toEqual([1000, 500]);
    expect((await inject(admin, 'GET', `/commerce/payments/${payment.id}`)).json<Payment>()).toMatchObject({
      status: 'partially_refunded',
      amount_refunded: 1500,
    });
  });

  it('sends each capture and void attempt under a key of its own: a refused one does not answer for the next', async () => {
    const methodId = await cardMethod('stripe', 'pm_card_visa');
    const held = await authorizeOnStripe((await placeOrder()).id, methodId);
    const intent = stripe.intents.get(held.gateway_reference!)!;
    // Not capturable for a moment (at Stripe's end): Stripe refuses, the payment stays authorized.
    intent.status = 'requires_action';
    const capture = () => inject(admin, 'POST', `/commerce/payments/${held.id}/capture`, { amount: 3000 });
    expect((await capture()).statusCode).toBe(402);
    expect(await status(held.id)).toBe('authorized');
    intent.status = 'requires_capture';
    const captured = await capture();
    expect(captured.statusCode, captured.body).toBe(200);
    expect(captured.json<Payment>()).toMatchObject({ status: 'completed', amount_captured: 3000 });
    const detail = (await inject(admin, 'GET', `/commerce/payments/${held.id}`)).json<PaymentDetail>();
    expect(detail.transactions.map((t) => [t.kind, t.outcome])).toEqual([
      ['authorize', 'succeeded'],
      ['capture', 'declined'],
      ['capture', 'succeeded'],
    ]);
    const captureKeys = stripe.server
      .callsTo('POST', new RegExp(`^/v1/payment_intents/${held.gateway_reference}/capture$`))
      .map((c) => c.idempotencyKey);
    expect(captureKeys).toEqual(
      detail.transactions.filter((t) => t.kind === 'capture').map((t) => t.idempotency_key),
    );
    expect(new Set(captureKeys).size).toBe(2);

    const other = await authorizeOnStripe((await placeOrder()).id, methodId);
    const otherIntent = stripe.intents.get(other.gateway_reference!)!;
    otherIntent.status = 'succeeded';
    const voidIt = () => inject(admin, 'POST', `/commerce/payments/${other.id}/void`);
    expect((await voidIt()).statusCode).toBe(402);
    expect(await status(other.id)).toBe('authorized');
    otherIntent.status = 'requires_capture';
    const voided = await voidIt();
    expect(voided.statusCode, voided.body).toBe(200);
    expect(voided.json<Payment>().status).toBe('voided');
    const voidKeys = stripe.server
      .callsTo('POST', new RegExp(`^/v1/payment_intents/${other.gateway_reference}/cancel$`))
      .map((c) => c.idempotencyKey);
    expect(new Set(voidKeys).size).toBe(2);
  });

  it('answers a refund of a fully refunded payment as one beyond what was captured', async () => {
    const order = await placeOrder(admin, 2000);
    const payment = (
      await pay({ order_id: order.id, amount: 2000, currency: 'EUR', gateway: 'manual' })
    ).json<Payment>();
    const refund = await inject(admin, 'POST', '/commerce/refunds', { payment_id: payment.id, amount: 2000 });
    await inject(admin, 'POST', `/commerce/refunds/${refund.json<Refund>().id}/process`);
    expect(await status(payment.id)).toBe('refunded');
    const more = await inject(admin, 'POST', '/commerce/refunds', { payment_id: payment.id, amount: 1 });
    expect(more.statusCode).toBe(409);
    expect(more.json()).toMatchObject({ code: 'refund_exceeds_captured', refundable: 0 });
  });

  it('stamps a new payment, its first gateway call and a new refund updated when created', async () => {
    const order = await placeOrder(admin, 2000);
    const payment = (
      await pay({ order_id: order.id, amount: 2000, currency: 'EUR', gateway: 'manual' })
    ).json<Payment>();
    expect(payment.updated_at).toBe(payment.created_at);
    const [call] = (await inject(admin, 'GET', `/commerce/payments/${payment.id}`)).json<PaymentDetail>()
      .transactions;
    expect(call!.updated_at).toBe(call!.created_at);
    const refund = (
      await inject(admin, 'POST', '/commerce/refunds', { payment_id: payment.id, amount: 500 })
    ).json<Refund>();
    expect(refund.updated_at).toBe(refund.created_at);
  });

  it('leaves a timed-out charge unknown, and the reconciler settles it with the same key', async () => {
    const methodId = await cardMethod('stripe', 'pm_card_visa');
    const order = await placeOrder();
    stripe.server.hangNext();
    const response = await pay(stripeCharge(order.id, methodId));
    expect(response.statusCode).toBe(201);
    const payment = response.json<Payment>();
    expect(payment.status).toBe('unknown');
    expect(await reconciler.settleUnknown()).toBeGreaterThanOrEqual(1);
    const settled = (await inject(admin, 'GET', `/commerce/payments/${payment.id}`)).json<PaymentDetail>();
    expect(settled).toMatchObject({ status: 'completed', amount_captured: 5000 });
    expect(settled.transactions[0]).toMatchObject({ outcome: 'succeeded', attempts: 1 });
    const calls = intentCallsFor(order.id);
    expect(calls).toHaveLength(2);
    expect(new Set(calls.map((c) => c.idempotencyKey)).size).toBe(1);
    expect(intentsFor(order.id)).toHaveLength(1);
  });

  it('gives up on a Square card create never answered for an hour, as Square then has it, but never on a Terminal checkout', async () => {
    const methodId = await cardMethod('square', 'ccof:card-1');
    const order = await placeOrder(admin, 5000, 'USD');
    const unanswered = async (body: object) => {
      square.server.hangNext();
      const payment = (await pay(body)).json<Payment>();
      expect(payment.status).toBe('unknown');
      await withTenant(testApp.platform.db, admin.tenant.id, (tx) =>
        tx
          .updateTable('payment_transactions')
          .set({ created_at: new Date(Date.now() - 2 * 3_600_000) })
          .where('payment_id', '=', payment.id)
          .execute(),
      );
      return payment;
    };
    const card = (capture: boolean) => ({
      order_id: order.id,
      amount: 1000,
      currency: 'USD',
      gateway: 'square',
      payment_method_id: methodId,
      capture,
    });
    const held = await unanswered(card(false));
    const charged = await unanswered(card(true));
    const checkout = await unanswered({
      order_id: order.id,
      amount: 2000,
      currency: 'USD',
      gateway: 'square_terminal',
    });
    const cancels = () => square.server.callsTo('POST', /^\/v2\/payments\/cancel$/).length;
    const before = cancels();
    // Square stays silent on the retries as well, though it answers the cancels.
    square.server.hangNext(2, /^POST \/v2\/payments$/);
    square.server.hangNext(1, /^POST \/v2\/terminals\/checkouts$/);
    await reconciler.settleUnknown();
    expect(cancels()).toBe(before + 2);
    // Square cancelled the held one, but not the completed charge: the money was taken.
    expect((await inject(admin, 'GET', `/commerce/payments/${held.id}`)).json<Payment>()).toMatchObject({
      status: 'voided',
      gateway_reference: expect.any(String),
    });
    expect((await inject(admin, 'GET', `/commerce/payments/${charged.id}`)).json<Payment>()).toMatchObject({
      status: 'completed',
      amount_captured: 1000,
    });
    expect(await status(checkout.id)).toBe('unknown');
  });

  it('applies a Stripe webhook once when it is delivered twice, and refuses a bad signature', async () => {
    const methodId = await cardMethod('stripe', 'pm_card_visa');
    const order = await placeOrder();
    const held = await authorizeOnStripe(order.id, methodId);
    const intent = {
      ...stripe.intents.get(held.gateway_reference!)!,
      status: 'succeeded',
      amount_received: 5000,
      amount_capturable: 0,
    };
    const delivery = stripe.webhook('payment_intent.succeeded', intent);
    const post = (d: { body: string; headers: Record<string, string> }) =>
      testApp.app.inject({ method: 'POST', url: '/webhooks/stripe', headers: d.headers, payload: d.body });
    const first = await post(delivery);
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual({ received: true, duplicate: false });
    const second = await post(delivery);
    expect(second.json()).toEqual({ received: true, duplicate: true });
    expect((await inject(admin, 'GET', `/commerce/payments/${held.id}`)).json<Payment>()).toMatchObject({
      status: 'completed',
      amount_captured: 5000,
    });
    const completedEvents = await sql<{
      n: number;
    }>`select count(*)::int as n from outbox_events where type = 'payment.completed' and payload->'data'->>'payment_id' = ${held.id}`.execute(
      testApp.platform.db,
    );
    expect(completedEvents.rows[0]!.n).toBe(1);
    const forged = stripe.webhook('payment_intent.succeeded', intent, { secret: 'whsec_wrong' });
    const refused = await post(forged);
    expect(refused.statusCode).toBe(400);
    expect(refused.json<{ code: string }>().code).toBe('invalid_signature');
  });

  it('takes PayPal: approval link, webhook on approval, authorize, partial capture', async () => {
    const order = await placeOrder(admin, 1999, 'USD');
    const created = (
      await pay({ order_id: order.id, amount: 1999, currency: 'USD', gateway: 'paypal', capture: false })
    ).json<Payment>();
    expect(created).toMatchObject({ status: 'pending', next_action: { type: 'redirect' } });
    paypal.approve(created.gateway_reference!);
    const delivery = paypal.webhook('CHECKOUT.ORDER.APPROVED', {
      id: created.gateway_reference,
      status: 'APPROVED',
    });
    const hook = await testApp.app.inject({
      method: 'POST',
      url: '/webhooks/paypal',
      headers: delivery.headers,
      payload: delivery.body,
    });
    expect(hook.statusCode).toBe(200);
    const authorized = (await inject(admin, 'GET', `/commerce/payments/${created.id}`)).json<Payment>();
    expect(authorized).toMatchObject({ status: 'authorized', amount_authorized: 1999 });
    const captured = await inject(admin, 'POST', `/commerce/payments/${created.id}/capture`, {
      amount: 1500,
    });
    expect(captured.json<Payment>()).toMatchObject({ status: 'completed', amount_captured: 1500 });
    const forged = paypal.webhook(
      'CHECKOUT.ORDER.APPROVED',
      { id: created.gateway_reference },
      { tamper: true },
    );
    expect(
      (
        await testApp.app.inject({
          method: 'POST',
          url: '/webhooks/paypal',
          headers: forged.headers,
          payload: forged.body,
        })
      ).statusCode,
    ).toBe(400);

    // Made in an earlier period, captured in this one: PayPal's report lists the capture now. It is
    // known by its capture id, and left to the period the payment was made in.
    await withTenant(testApp.platform.db, admin.tenant.id, (tx) =>
      tx
        .updateTable('payments')
        .set({ created_at: new Date(Date.now() - 2 * 3_600_000) })
        .where('id', '=', created.id)
        .execute(),
    );
    const captureId = paypal.orders.get(created.gateway_reference!)!.purchase_units[0]!.payments!
      .captures![0]!.id;
    const run = await inject(admin, 'POST', '/commerce/payments/reconcile', {
      gateway: 'paypal',
      from: new Date(Date.now() - 600_000).toISOString(),
      to: new Date(Date.now() + 600_000).toISOString(),
    });
    expect(run.statusCode).toBe(200);
    const rows = run.json<{ rows: { gateway_reference: string | null; payment_id: string | null }[] }>().rows;
    expect(
      rows.filter((row) => row.gateway_reference === captureId || row.payment_id === created.id),
    ).toEqual([]);
  });

  it('holds an authorization whose capture PayPal is reviewing, and settles it from PayPal without a webhook', async () => {
    /** A PayPal authorization of the whole order, approved by its buyer, its capture left PENDING. */
    const heldCapture = async () => {
      const order = await placeOrder(admin, 2500, 'USD');
      const created = (
        await pay({ order_id: order.id, amount: 2500, currency: 'USD', gateway: 'paypal', capture: false })
      ).json<Payment>();
      paypal.approve(created.gateway_reference!);
      await reconciler.pollPending(0);
      expect(await status(created.id)).toBe('authorized');
      paypal.nextCapture = { status: 'PENDING', reason: 'PENDING_REVIEW' };
      const capture = await inject(admin, 'POST', `/commerce/payments/${created.id}/capture`, {});
      expect(capture.statusCode).toBe(200);
      expect(capture.json<Payment>()).toMatchObject({
        status: 'authorized',
        amount_captured: 0,
        pending_operation: 'capture',
      });
      // The order's list of payments says so too, without the gateway calls the detail carries.
      expect(
        (await inject(admin, 'GET', `/commerce/payments?order_id=${order.id}`)).json<{ data: Payment[] }>()
          .data,
      ).toMatchObject([{ id: created.id, pending_operation: 'capture' }]);
      const captureId = paypal.orders.get(created.gateway_reference!)!.purchase_units[0]!.payments!
        .captures![0]!.id;
      return { order, payment: created, captureId };
    };

    const reviewed = await heldCapture();
    // The authorization is taken: neither a second capture nor a void goes to PayPal.
    const again = await inject(admin, 'POST', `/commerce/payments/${reviewed.payment.id}/capture`, {});
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'conflict' });
    expect(
      (await inject(admin, 'POST', `/commerce/payments/${reviewed.payment.id}/void`, {})).statusCode,
    ).toBe(409);
    await testApp.flushEvents();
    expect((await inject(admin, 'GET', `/commerce/orders/${reviewed.order.id}`)).json()).toMatchObject({
      payment_status: 'authorized',
      amount_paid: 0,
    });
    // Still in review: nothing moves.
    await reconciler.pollPending(0);
    expect(await status(reviewed.payment.id)).toBe('authorized');

    paypal.settleCapture(reviewed.captureId, 'COMPLETED');
    expect(await reconciler.pollPending(0)).toBeGreaterThanOrEqual(1);
    expect(
      (await inject(admin, 'GET', `/commerce/payments/${reviewed.payment.id}`)).json<Payment>(),
    ).toMatchObject({ status: 'completed', amount_captured: 2500, pending_operation: null });
    await testApp.flushEvents();
    expect((await inject(admin, 'GET', `/commerce/orders/${reviewed.order.id}`)).json()).toMatchObject({
      status: 'paid',
      amount_paid: 2500,
    });

    // PayPal declines the capture it held: the payment failed, and no money is counted.
    const declined = await heldCapture();
    paypal.settleCapture(declined.captureId, 'DECLINED');
    await reconciler.pollPending(0);
    expect(
      (await inject(admin, 'GET', `/commerce/payments/${declined.payment.id}`)).json<Payment>(),
    ).toMatchObject({ status: 'failed', amount_captured: 0, failure_code: 'DECLINED' });
  });

  it('takes Square card payments and Terminal checkouts completed by webhook', async () => {
    const methodId = await cardMethod('square', 'ccof:card-1');
    const order = await placeOrder(admin, 4000, 'USD');
    const heldResponse = await pay({
      order_id: order.id,
      amount: 1500,
      currency: 'USD',
      gateway: 'square',
      payment_method_id: methodId,
      capture: false,
    });
    expect(heldResponse.statusCode, heldResponse.body).toBe(201);
    const held = heldResponse.json<Payment>();
    expect(held.status).toBe('authorized');
    expect(
      (
        await inject(admin, 'POST', `/commerce/payments/${held.id}/capture`, { amount: 1000 })
      ).json<Payment>(),
    ).toMatchObject({ status: 'completed', amount_captured: 1000 });
    const terminal = (
      await pay({ order_id: order.id, amount: 3000, currency: 'USD', gateway: 'square_terminal' })
    ).json<Payment>();
    expect(terminal).toMatchObject({ status: 'pending', next_action: { type: 'terminal_checkout' } });
    // The device stands at the configured location, where the payment is taken.
    const checkout = square.completeCheckout(terminal.gateway_reference!, 'LOCATION');
    const delivery = square.webhook(
      'terminal.checkout.updated',
      'checkout',
      checkout,
      `${testApp.config.PUBLIC_URL}/webhooks/square`,
    );
    const hook = await testApp.app.inject({
      method: 'POST',
      url: '/webhooks/square',
      headers: delivery.headers,
      payload: delivery.body,
    });
    expect(hook.statusCode).toBe(200);
    expect((await inject(admin, 'GET', `/commerce/payments/${terminal.id}`)).json<Payment>()).toMatchObject({
      status: 'completed',
      amount_captured: 3000,
    });
    const bad = await testApp.app.inject({
      method: 'POST',
      url: '/webhooks/square',
      headers: { ...delivery.headers, 'x-square-hmacsha256-signature': 'AAAA' },
      payload: delivery.body,
    });
    expect(bad.statusCode).toBe(400);

    // Square lists card and Terminal payments of the account together: either comparison matches both.
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 3_600_000).toISOString();
    for (const gateway of ['square', 'square_terminal']) {
      const run = await inject(admin, 'POST', '/commerce/payments/reconcile', { gateway, from, to });
      expect(run.statusCode).toBe(200);
      const rows = run.json<{ rows: { payment_id: string | null; result: string }[] }>().rows;
      expect(rows.filter((row) => row.result === 'missing_local')).toEqual([]);
      expect(
        rows
          .filter((row) => row.payment_id === held.id || row.payment_id === terminal.id)
          .map((row) => row.result),
      ).toEqual(['matched', 'matched']);
    }
  });

  /** A gateway's signed webhook delivery, POSTed as the gateway would: it must be taken (200). */
  const deliver = async (gateway: string, delivery: { body: string; headers: Record<string, string> }) => {
    const hook = await testApp.app.inject({
      method: 'POST',
      url: `/webhooks/${gateway}`,
      headers: delivery.headers,
      payload: delivery.body,
    });
    expect(hook.statusCode, hook.body).toBe(200);
    return hook.json<{ duplicate: boolean }>();
  };

  /** A USD order of `amount`, charged whole to a saved card on Square. */
  const chargedOnSquare = async (amount: number) => {
    const methodId = await cardMethod('square', 'ccof:card-1');
    const order = await placeOrder(admin, amount, 'USD');
    const payment = (
      await pay({
        order_id: order.id,
        amount,
        currency: 'USD',
        gateway: 'square',
        payment_method_id: methodId,
      })
    ).json<Payment>();
    return { order, payment };
  };

  it('settles a refund Square answered pending by asking Square when no webhook comes', async () => {
    const { payment: charged } = await chargedOnSquare(4000);
    expect(charged.status).toBe('completed');
    square.refundStatus = 'PENDING';
    try {
      const requested = (
        await inject(admin, 'POST', '/commerce/refunds', { payment_id: charged.id, amount: 1500 })
      ).json<Refund>();
      const answered = (
        await inject(admin, 'POST', `/commerce/refunds/${requested.id}/process`)
      ).json<Refund>();
      expect(answered).toMatchObject({ status: 'pending', gateway_reference: expect.any(String) });
      await reconciler.pollPending(0);
      expect(
        (await inject(admin, 'GET', `/commerce/refunds?payment_id=${charged.id}`)).json<{ data: Refund[] }>()
          .data,
      ).toMatchObject([{ status: 'pending' }]);

      square.refunds.get(answered.gateway_reference!)!.status = 'COMPLETED';
      expect(await reconciler.pollPending(0)).toBeGreaterThanOrEqual(1);
      expect(
        (await inject(admin, 'GET', `/commerce/refunds?payment_id=${charged.id}`)).json<{ data: Refund[] }>()
          .data,
      ).toMatchObject([{ status: 'processed', processed_at: expect.any(String) }]);
      expect((await inject(admin, 'GET', `/commerce/payments/${charged.id}`)).json<Payment>()).toMatchObject({
        status: 'partially_refunded',
        amount_refunded: 1500,
      });
    } finally {
      square.refundStatus = 'COMPLETED';
    }
  });

  it('records refunds made at the gateway once, never one of ours twice, and leaves them to the gateway', async () => {
    const refundsOf = async (paymentId: string) =>
      (await inject(admin, 'GET', `/commerce/refunds?payment_id=${paymentId}`)).json<{ data: Refund[] }>()
        .data;

    // Stripe: a refund made in the dashboard, told by refund.created, then refund.updated.
    const methodId = await cardMethod('stripe', 'pm_card_visa');
    const stripeOrder = await placeOrder();
    const card = (await pay(stripeCharge(stripeOrder.id, methodId))).json<Payment>();
    expect(card.status).toBe('completed');
    const dashboard = await refundAtStripe({ payment_intent: card.gateway_reference!, amount: '2000' });
    const madeThere = (await dashboard.json()) as { id: string };
    const created = stripe.webhook('refund.created', madeThere);
    await deliver('stripe', created);
    await deliver('stripe', created);
    await deliver('stripe', stripe.webhook('refund.updated', madeThere));
    expect(await refundsOf(card.id)).toMatchObject([
      { amount: 2000, status: 'processed', reason: 'Refunded in Stripe', gateway_reference: madeThere.id },
    ]);
    expect((await inject(admin, 'GET', `/commerce/payments/${card.id}`)).json<Payment>()).toMatchObject({
      status: 'partially_refunded',
      amount_refunded: 2000,
    });
    await testApp.flushEvents();
    expect((await inject(admin, 'GET', `/commerce/orders/${stripeOrder.id}`)).json()).toMatchObject({
      payment_status: 'partially_refunded',
      amount_refunded: 2000,
    });
    // One of ours whose answer has not been stored yet carries our id: not recorded a second time.
    const ours = stripe.webhook('refund.created', {
      ...madeThere,
      id: 're_ours_on_its_way',
      metadata: { tessera_refund_id: 'a-refund-of-ours' },
    });
    await deliver('stripe', ours);
    expect(await refundsOf(card.id)).toHaveLength(1);

    // Square: a refund made in the dashboard that Square answers pending; it cannot be processed
    // from here, and settles when Square does.
    const { payment: squarePayment } = await chargedOnSquare(4000);
    const squareRefundCalls = () => square.server.callsTo('POST', /^\/v2\/refunds$/).length;
    square.refundStatus = 'PENDING';
    let squareRefund: { id: string };
    try {
      const answer = await fetch(`${testApp.config.SQUARE_API_BASE}/v2/refunds`, {
        method: 'POST',
        headers: { authorization: `Bearer ${square.accessToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          idempotency_key: randomBytes(8).toString('hex'),
          payment_id: squarePayment.gateway_reference,
          amount_money: { amount: 1000, currency: 'USD' },
        }),
      });
      squareRefund = ((await answer.json()) as { refund: { id: string } }).refund;
    } finally {
      square.refundStatus = 'COMPLETED';
    }
    await deliver(
      'square',
      square.webhook(
        'refund.created',
        'refund',
        squareRefund,
        `${testApp.config.PUBLIC_URL}/webhooks/square`,
      ),
    );
    const [pendingThere] = await refundsOf(squarePayment.id);
    expect(pendingThere).toMatchObject({ amount: 1000, status: 'pending', reason: 'Refunded in Square' });
    const callsBefore = squareRefundCalls();
    const again = await inject(admin, 'POST', `/commerce/refunds/${pendingThere!.id}/process`);
    expect(again.statusCode).toBe(409);
    expect(squareRefundCalls()).toBe(callsBefore);
    square.refunds.get(squareRefund.id)!.status = 'COMPLETED';
    expect(await reconciler.pollPending(0)).toBeGreaterThanOrEqual(1);
    expect(await refundsOf(squarePayment.id)).toMatchObject([{ status: 'processed' }]);
    expect(await status(squarePayment.id)).toBe('partially_refunded');

    // PayPal: a reversal (a chargeback) names only the capture, in its links.
    const paypalOrder = await placeOrder(admin, 3000, 'USD');
    const buyer = (
      await pay({ order_id: paypalOrder.id, amount: 3000, currency: 'USD', gateway: 'paypal', capture: true })
    ).json<Payment>();
    paypal.approve(buyer.gateway_reference!);
    await reconciler.pollPending(0);
    expect(await status(buyer.id)).toBe('completed');
    const captureId = paypal.orders.get(buyer.gateway_reference!)!.purchase_units[0]!.payments!.captures![0]!
      .id;
    await deliver(
      'paypal',
      paypal.webhook(
        'PAYMENT.CAPTURE.REVERSED',
        {
          id: 'REVERSAL-1',
          status: 'COMPLETED',
          amount: { currency_code: 'USD', value: '30.00' },
          links: [{ href: `${testApp.config.PAYPAL_API_BASE}/v2/payments/captures/${captureId}`, rel: 'up' }],
        },
        { resourceType: 'refund' },
      ),
    );
    expect(await refundsOf(buyer.id)).toMatchObject([
      { amount: 3000, status: 'processed', reason: 'Reversed by PayPal (a dispute or chargeback)' },
    ]);
    expect(await status(buyer.id)).toBe('refunded');
  });

  it('records disputes from Stripe, Square and PayPal once, moves them along, and never reopens a decided one', async () => {
    type Dispute = { id: string; payment_id: string; status: string; amount: number; currency: string };
    const disputesOf = async (paymentId: string) =>
      (await inject(staff, 'GET', `/commerce/disputes?payment_id=${paymentId}`)).json<{ data: Dispute[] }>()
        .data;
    const disputedEvents = async (paymentId: string) =>
      (
        await sql<{ status: string }>`select payload->'data'->>'status' as status from outbox_events
          where type = 'payment.disputed' and payload->'data'->>'payment_id' = ${paymentId} order by seq`.execute(
          testApp.platform.db,
        )
      ).rows.map((row) => row.status);

    // Stripe: opened, delivered twice, reviewed, lost; then an update that was held up arrives.
    const methodId = await cardMethod('stripe', 'pm_card_visa');
    const card = (await pay(stripeCharge((await placeOrder()).id, methodId))).json<Payment>();
    const dueBy = Math.floor(Date.now() / 1000) + 7 * 86_400;
    const dispute = (status: string) => ({
      id: 'dp_tessera_1',
      object: 'dispute',
      amount: 5000,
      currency: 'eur',
      charge: 'ch_disputed',
      payment_intent: card.gateway_reference,
      reason: 'fraudulent',
      status,
      evidence_details: { due_by: dueBy, has_evidence: false, past_due: false, submission_count: 0 },
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      metadata: {},
    });
    const opened = stripe.webhook('charge.dispute.created', dispute('needs_response'));
    expect(await deliver('stripe', opened)).toMatchObject({ duplicate: false });
    expect(await deliver('stripe', opened)).toMatchObject({ duplicate: true });
    const [stored] = await disputesOf(card.id);
    expect(stored).toMatchObject({
      payment_id: card.id,
      gateway: 'stripe',
      gateway_reference: 'dp_tessera_1',
      amount: 5000,
      currency: 'EUR',
      reason: 'fraudulent',
      status: 'needs_response',
      evidence_due_by: new Date(dueBy * 1000).toISOString(),
      closed_at: null,
    });
    const heldUp = stripe.webhook('charge.dispute.updated', dispute('under_review'));
    await deliver('stripe', heldUp);
    await deliver('stripe', stripe.webhook('charge.dispute.closed', dispute('lost')));
    await deliver('stripe', stripe.webhook('charge.dispute.updated', dispute('under_review')));
    const detail = await inject(admin, 'GET', `/commerce/disputes/${stored!.id}`);
    expect(detail.json()).toMatchObject({ status: 'lost', closed_at: expect.any(String) });
    expect(await disputedEvents(card.id)).toEqual(['needs_response', 'under_review', 'lost']);
    // The payment itself is as it was: what the bank took back is the gateway's to report.
    expect(await status(card.id)).toBe('completed');

    // Square: an inquiry, closed without a chargeback.
    const { payment: squarePayment } = await chargedOnSquare(4000);
    const squareDispute = (state: string) => ({
      id: 'SQ-DISPUTE-1',
      dispute_id: 'SQ-DISPUTE-1',
      amount_money: { amount: 4000, currency: 'USD' },
      reason: 'NOT_RECEIVED',
      state,
      due_at: new Date(Date.now() + 5 * 86_400_000).toISOString(),
      disputed_payment: { payment_id: squarePayment.gateway_reference },
      card_brand: 'VISA',
      version: 1,
    });
    const squareUrl = `${testApp.config.PUBLIC_URL}/webhooks/square`;
    await deliver(
      'square',
      square.webhook('dispute.created', 'dispute', squareDispute('INQUIRY_EVIDENCE_REQUIRED'), squareUrl),
    );
    expect(await disputesOf(squarePayment.id)).toMatchObject([
      { status: 'needs_response', reason: 'NOT_RECEIVED' },
    ]);
    await deliver(
      'square',
      square.webhook('dispute.state.updated', 'dispute', squareDispute('INQUIRY_CLOSED'), squareUrl),
    );
    expect(await disputesOf(squarePayment.id)).toMatchObject([
      { status: 'won', closed_at: expect.any(String) },
    ]);

    // PayPal: a dispute names the capture as the seller's transaction; resolved for the buyer.
    const paypalOrder = await placeOrder(admin, 3000, 'USD');
    const buyer = (
      await pay({ order_id: paypalOrder.id, amount: 3000, currency: 'USD', gateway: 'paypal', capture: true })
    ).json<Payment>();
    paypal.approve(buyer.gateway_reference!);
    await reconciler.pollPending(0);
    const captureId = paypal.orders.get(buyer.gateway_reference!)!.purchase_units[0]!.payments!.captures![0]!
      .id;
    const paypalDispute = (status: string, outcome?: string) => ({
      dispute_id: 'PP-D-1',
      reason: 'MERCHANDISE_OR_SERVICE_NOT_RECEIVED',
      status,
      dispute_amount: { currency_code: 'USD', value: '30.00' },
      disputed_transactions: [{ seller_transaction_id: captureId }],
      seller_response_due_date: new Date(Date.now() + 10 * 86_400_000).toISOString(),
      ...(outcome ? { dispute_outcome: { outcome_code: outcome } } : {}),
    });
    await deliver(
      'paypal',
      paypal.webhook('CUSTOMER.DISPUTE.CREATED', paypalDispute('WAITING_FOR_SELLER_RESPONSE'), {
        resourceType: 'dispute',
      }),
    );
    await deliver(
      'paypal',
      paypal.webhook('CUSTOMER.DISPUTE.RESOLVED', paypalDispute('RESOLVED', 'RESOLVED_BUYER_FAVOUR'), {
        resourceType: 'dispute',
      }),
    );
    expect(await disputesOf(buyer.id)).toMatchObject([{ amount: 3000, currency: 'USD', status: 'lost' }]);

    // Lists filter by status; another tenant sees none of them.
    const waiting = (await inject(admin, 'GET', '/commerce/disputes?status=needs_response')).json<{
      data: Dispute[];
    }>().data;
    expect(waiting.map((row) => row.payment_id)).not.toContain(card.id);
    const lost = (await inject(admin, 'GET', '/commerce/disputes?status=lost')).json<{ data: Dispute[] }>()
      .data;
    expect(lost.map((row) => row.payment_id)).toEqual(expect.arrayContaining([card.id, buyer.id]));
    expect((await inject(other, 'GET', `/commerce/disputes/${stored!.id}`)).statusCode).toBe(404);
    expect((await inject(other, 'GET', '/commerce/disputes')).json<{ data: Dispute[] }>().data).toEqual([]);
    expect((await inject(admin, 'GET', '/commerce/disputes?status=open')).statusCode).toBe(400);
  });

  /** A webhook delivery POSTed as the gateway would, its answer whatever it is. */
  const post = (gateway: string, delivery: { body: string; headers: Record<string, string> }) =>
    testApp.app.inject({
      method: 'POST',
      url: `/webhooks/${gateway}`,
      headers: delivery.headers,
      payload: delivery.body,
    });

  it('applies a webhook the gateway sends as it answers, before the answer and its reference are stored', async () => {
    const db = testApp.platform.db;
    const squareUrl = `${testApp.config.PUBLIC_URL}/webhooks/square`;
    const races: {
      gateway: 'stripe' | 'square';
      server: FakeHttpServer;
      create: RegExp;
      payment: (orderId: string) => Promise<object>;
      /** Our payment id, as the gateway's answer carries it. */
      ourIdOf: (answer: FakeResponse) => string;
      /** What the gateway tells by webhook: the authorization it answered, captured meanwhile. */
      webhookOf: (answer: FakeResponse) => { body: string; headers: Record<string, string> };
    }[] = [
      {
        gateway: 'stripe',
        server: stripe.server,
        create: /^POST \/v1\/payment_intents$/,
        payment: async (orderId) => ({
          ...stripeCharge(orderId, await cardMethod('stripe', 'pm_card_visa')),
          capture: false,
        }),
        ourIdOf: (answer) =>
          (answer.body as { metadata: Record<string, string> }).metadata.tessera_payment_id!,
        webhookOf: (answer) =>
          stripe.webhook('payment_intent.succeeded', {
            ...(answer.body as object),
            status: 'succeeded',
            amount_received: 5000,
            amount_capturable: 0,
          }),
      },
      {
        gateway: 'square',
        server: square.server,
        create: /^POST \/v2\/payments$/,
        payment: async (orderId) => ({
          order_id: orderId,
          amount: 5000,
          currency: 'USD',
          gateway: 'square',
          payment_method_id: await cardMethod('square', 'ccof:card-1'),
          capture: false,
        }),
        ourIdOf: (answer) => (answer.body as { payment: { reference_id: string } }).payment.reference_id,
        webhookOf: (answer) => {
          const { payment } = answer.body as { payment: { id: string } };
          const completed = { ...payment, status: 'COMPLETED' };
          return square.webhook('payment.updated', 'payment', completed, squareUrl);
        },
      },
    ];
    for (const race of races) {
      const order = await placeOrder(admin, 5000, race.gateway === 'stripe' ? 'EUR' : 'USD');
      let held: { release: () => Promise<void> } | undefined;
      let delivery: { body: string; headers: Record<string, string> } | undefined;
      // As the gateway answers, the payment's row is held, as a slow commit of another transaction
      // would hold it: the transaction that stores the answer waits for it.
      race.server.beforeAnswering(race.create, async (answer) => {
        const paymentId = race.ourIdOf(answer);
        held = await holdRows(db, admin.tenant.id, (tx) =>
          tx.selectFrom('payments').select('id').where('id', '=', paymentId).forNoKeyUpdate().execute(),
        );
        delivery = race.webhookOf(answer);
      });
      const paying = pay(await race.payment(order.id));
      let hook: ReturnType<typeof post> | undefined;
      try {
        await until(async () => (await lockWaiters(db)) >= 1);
        hook = post(race.gateway, delivery!);
        // The webhook found the payment by our id, and waits for the answer to be stored.
        await until(async () => (await lockWaiters(db)) >= 2);
      } finally {
        await held?.release();
      }
      const hooked = await hook;
      expect(hooked.statusCode, hooked.body).toBe(200);
      const paid = await paying;
      expect(paid.statusCode, paid.body).toBe(201);
      const payment = paid.json<Payment>();
      expect((await inject(admin, 'GET', `/commerce/payments/${payment.id}`)).json<Payment>()).toMatchObject({
        status: 'completed',
        amount_captured: 5000,
        gateway_reference: payment.gateway_reference,
      });
    }
  });

  it('applies a webhook for a payment whose answer never came, and acknowledges one for no payment of ours', async () => {
    const methodId = await cardMethod('stripe', 'pm_card_visa');
    const order = await placeOrder();
    // Stripe charges the card, but its answer is lost: the payment's reference is never stored.
    stripe.server.hangNext(1, /^POST \/v1\/payment_intents$/);
    const lost = (await pay(stripeCharge(order.id, methodId))).json<Payment>();
    expect(lost).toMatchObject({ status: 'unknown', gateway_reference: null });
    const intent = [...stripe.intents.values()].find((item) => item.metadata.tessera_payment_id === lost.id)!;
    const delivery = stripe.webhook('payment_intent.succeeded', intent);
    const hook = await post('stripe', delivery);
    expect(hook.statusCode, hook.body).toBe(200);
    expect(hook.json()).toEqual({ received: true, duplicate: false });
    expect((await inject(admin, 'GET', `/commerce/payments/${lost.id}`)).json<Payment>()).toMatchObject({
      status: 'completed',
      amount_captured: 5000,
      gateway_reference: intent.id,
    });
    expect((await post('stripe', delivery)).json()).toEqual({ received: true, duplicate: true });

    // Another intent carrying our id of a payment stored under its own reference is not that payment's.
    const held = await authorizeOnStripe((await placeOrder()).id, methodId);
    const other = stripe.webhook('payment_intent.canceled', {
      ...stripe.intents.get(held.gateway_reference!)!,
      id: `pi_other_${randomBytes(4).toString('hex')}`,
      status: 'canceled',
    });
    expect((await post('stripe', other)).statusCode).toBe(200);
    expect(await status(held.id)).toBe('authorized');

    // Intents of no payment of ours: none of our ids, an id of ours we do not have (another
    // environment on the same account), something else where ours would be. Taken, and dropped.
    for (const metadata of [{}, { tessera_payment_id: randomUUID() }, { tessera_payment_id: 'pay_1' }]) {
      const foreign = stripe.webhook('payment_intent.succeeded', {
        ...intent,
        id: `pi_elsewhere_${randomBytes(4).toString('hex')}`,
        metadata,
      });
      const answer = await post('stripe', foreign);
      expect(answer.statusCode, answer.body).toBe(200);
      expect(answer.json()).toEqual({ received: true, duplicate: false });
    }
  });

  it("settles a refund of ours by its webhook before the refund's answer is stored", async () => {
    const methodId = await cardMethod('stripe', 'pm_card_visa');
    const charged = (await pay(stripeCharge((await placeOrder()).id, methodId))).json<Payment>();
    const requested = (
      await inject(admin, 'POST', '/commerce/refunds', { payment_id: charged.id, amount: 1000 })
    ).json<Refund>();
    // Stripe made the refund we sent, with our id, and tells of it before its answer is stored.
    const sent = await refundAtStripe({
      payment_intent: charged.gateway_reference!,
      amount: '1000',
      'metadata[tessera_refund_id]': requested.id,
    });
    const atStripe = (await sent.json()) as { id: string };
    await deliver('stripe', stripe.webhook('refund.updated', atStripe));
    expect(
      (await inject(admin, 'GET', `/commerce/refunds?payment_id=${charged.id}`)).json<{ data: Refund[] }>()
        .data,
    ).toMatchObject([{ id: requested.id, status: 'processed', gateway_reference: atStripe.id }]);
    expect((await inject(admin, 'GET', `/commerce/payments/${charged.id}`)).json<Payment>()).toMatchObject({
      status: 'partially_refunded',
      amount_refunded: 1000,
    });
  });

  it("exports a period's payments as CSV, with their orders' numbers, and nothing of another tenant", async () => {
    const shop = await registerTenant(testApp);
    const from = new Date(Date.now() - 1000).toISOString();
    const order = await placeOrder(shop, 2550, 'EUR');
    const cash = await pay(
      { order_id: order.id, amount: 2550, currency: 'EUR', gateway: 'manual', cash_tendered: 3000 },
      shop,
    );
    expect(cash.statusCode, cash.body).toBe(201);
    const payment = cash.json<Payment>();
    await pay(
      { order_id: (await placeOrder(other)).id, amount: 5000, currency: 'EUR', gateway: 'manual' },
      other,
    );
    const to = new Date(Date.now() + 1000).toISOString();
    const number = (await inject(shop, 'GET', `/commerce/orders/${order.id}`)).json<{ number: number }>()
      .number;

    const exported = await inject(shop, 'GET', `/commerce/payments/export?from=${from}&to=${to}`);
    expect(exported.statusCode).toBe(200);
    expect(exported.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(exported.headers['content-disposition']).toMatch(/filename="payments-\d{4}-\d{2}-\d{2}-to-/);
    expect(exported.body.split('\r\n')).toEqual([
      'made_at,order_number,gateway,status,currency,amount,captured,refunded,change_due,gateway_reference,failure_code,payment_id',
      expect.stringMatching(
        new RegExp(
          `^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\+00:00,${number},manual,completed,EUR,25\\.50,25\\.50,0\\.00,4\\.50,manual_${payment.id},,${payment.id}$`,
        ),
      ),
      '',
    ]);
    const backwards = await inject(shop, 'GET', `/commerce/payments/export?from=${to}&to=${from}`);
    expect(backwards.statusCode).toBe(400);
  });

  it("answers 404 for another tenant's payment", async () => {
    const order = await placeOrder();
    const payment = (
      await pay({ order_id: order.id, amount: 100, currency: 'EUR', gateway: 'manual' })
    ).json<Payment>();
    expect((await inject(other, 'GET', `/commerce/payments/${payment.id}`)).statusCode).toBe(404);
    expect(
      (await inject(other, 'POST', '/commerce/refunds', { payment_id: payment.id, amount: 10 })).statusCode,
    ).toBe(404);
    expect(
      (await pay({ order_id: order.id, amount: 100, currency: 'EUR', gateway: 'manual' }, other)).statusCode,
    ).toBe(404);
  });

  it('summarizes per currency in SQL and reconciles with Stripe', async () => {
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 3_600_000).toISOString();
    const summary = await inject(admin, 'GET', `/commerce/payments/summary?from=${from}&to=${to}`);
    expect(summary.statusCode).toBe(200);
    const eur = summary
      .json<{
        currencies: {
          currency: string;
          gross: number;
          refunded: number;
          net: number;
          by_gateway: { gateway: string }[];
          by_day: unknown[];
        }[];
      }>()
      .currencies.find((c) => c.currency === 'EUR')!;
    expect(eur.net).toBe(eur.gross - eur.refunded);
    expect(eur.by_gateway.map((g) => g.gateway)).toEqual(expect.arrayContaining(['manual', 'stripe']));
    expect(eur.by_day).toHaveLength(1);
    const run = await inject(admin, 'POST', '/commerce/payments/reconcile', { gateway: 'stripe', from, to });
    expect(run.statusCode).toBe(200);
    const { id: runId, counts } = run.json<{ id: string; counts: Record<string, number> }>();
    expect(counts.matched).toBeGreaterThan(0);
    // The other tenant's intents live in the same Stripe account here: ours see them as missing locally.
    const rows = (
      await inject(admin, 'GET', `/commerce/payments/reconciliation?result=matched&run_id=${runId}`)
    ).json<{
      data: unknown[];
    }>();
    expect(rows.data.length).toBe(counts.matched);
  });

  it("compares a payment the gateway stamped just after the period, and leaves the next period's alone", async () => {
    const methodId = await cardMethod('stripe', 'pm_card_visa');
    const late = (await pay(stripeCharge((await placeOrder()).id, methodId))).json<Payment>();
    // The period ends just after our record of the payment, before Stripe's stamp of it; the next
    // payment, recorded after the period, may carry a stamp within it (Stripe stamps whole seconds).
    const to = new Date(Date.parse(late.created_at) + 1);
    const from = new Date(to.getTime() - 60_000);
    stripe.intents.get(late.gateway_reference!)!.created = Math.ceil(to.getTime() / 1000) + 1;
    const next = (await pay(stripeCharge((await placeOrder()).id, methodId))).json<Payment>();
    const run = await inject(admin, 'POST', '/commerce/payments/reconcile', {
      gateway: 'stripe',
      from: from.toISOString(),
      to: to.toISOString(),
    });
    expect(run.statusCode).toBe(200);
    const rows = run.json<{
      rows: { payment_id: string | null; gateway_reference: string | null; result: string }[];
    }>().rows;
    expect(rows.filter((row) => row.payment_id === late.id).map((row) => row.result)).toEqual(['matched']);
    expect(
      rows.filter((row) => row.payment_id === next.id || row.gateway_reference === next.gateway_reference),
    ).toEqual([]);
  });

  it('finds refunds made at a gateway whose webhooks never came, and matches refunds that agree', async () => {
    const from = new Date(Date.now() - 1_000).toISOString();
    type Row = {
      payment_id: string | null;
      result: string;
      local_refunded: number | null;
      gateway_refunded: number | null;
    };
    const reconcile = (gateway: string) => reconciledRows<Row>(gateway, from);
    const rowOf = (rows: Row[], paymentId: string) => rows.filter((row) => row.payment_id === paymentId);
    /** A refund made through us, processed at the gateway. */
    const refundHere = async (paymentId: string, amount: number) => {
      const refund = (
        await inject(admin, 'POST', '/commerce/refunds', { payment_id: paymentId, amount })
      ).json<Refund>();
      const processed = await inject(admin, 'POST', `/commerce/refunds/${refund.id}/process`);
      expect(processed.json<Refund>().status).toBe('processed');
    };

    // Stripe: one refunded in its dashboard, one refunded through us.
    const methodId = await cardMethod('stripe', 'pm_card_visa');
    const there = (await pay(stripeCharge((await placeOrder()).id, methodId))).json<Payment>();
    const here = (await pay(stripeCharge((await placeOrder()).id, methodId))).json<Payment>();
    await refundHere(here.id, 1500);
    const dashboard = await refundAtStripe({ payment_intent: there.gateway_reference!, amount: '2000' });
    expect(dashboard.status).toBe(200);
    const stripeRows = await reconcile('stripe');
    expect(rowOf(stripeRows, there.id)).toMatchObject([
      { result: 'amount_mismatch', local_refunded: 0, gateway_refunded: 2000 },
    ]);
    expect(rowOf(stripeRows, here.id)).toMatchObject([
      { result: 'matched', local_refunded: 1500, gateway_refunded: 1500 },
    ]);

    // Square: refunded in full in its dashboard.
    const { payment: squarePayment } = await chargedOnSquare(4000);
    const answer = await fetch(`${testApp.config.SQUARE_API_BASE}/v2/refunds`, {
      method: 'POST',
      headers: { authorization: `Bearer ${square.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        idempotency_key: randomBytes(8).toString('hex'),
        payment_id: squarePayment.gateway_reference,
        amount_money: { amount: 4000, currency: 'USD' },
      }),
    });
    expect(answer.status).toBe(200);
    // And one refunded through us, which Square answered pending: Square counts it already.
    const { payment: pendingRefunded } = await chargedOnSquare(4000);
    square.refundStatus = 'PENDING';
    try {
      const refund = (
        await inject(admin, 'POST', '/commerce/refunds', { payment_id: pendingRefunded.id, amount: 1500 })
      ).json<Refund>();
      const sent = await inject(admin, 'POST', `/commerce/refunds/${refund.id}/process`);
      expect(sent.json<Refund>().status).toBe('pending');
    } finally {
      square.refundStatus = 'COMPLETED';
    }
    const squareRows = await reconcile('square');
    expect(rowOf(squareRows, squarePayment.id)).toMatchObject([
      { result: 'amount_mismatch', local_refunded: 0, gateway_refunded: 4000 },
    ]);
    expect(rowOf(squareRows, pendingRefunded.id)).toMatchObject([
      { result: 'matched', local_refunded: 0, gateway_refunded: 1500 },
    ]);

    // PayPal: the report lists the refund as a row of its own, naming the capture.
    const paypalOrder = await placeOrder(admin, 3000, 'USD');
    const buyer = (
      await pay({ order_id: paypalOrder.id, amount: 3000, currency: 'USD', gateway: 'paypal', capture: true })
    ).json<Payment>();
    paypal.approve(buyer.gateway_reference!);
    await reconciler.pollPending(0);
    expect(await status(buyer.id)).toBe('completed');
    expect(rowOf(await reconcile('paypal'), buyer.id)).toMatchObject([
      { result: 'matched', local_refunded: 0, gateway_refunded: 0 },
    ]);
    const captureId = paypal.orders.get(buyer.gateway_reference!)!.purchase_units[0]!.payments!.captures![0]!
      .id;
    const token = (await (
      await fetch(`${testApp.config.PAYPAL_API_BASE}/v1/oauth2/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${paypal.clientId}:${paypal.clientSecret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'grant_type=client_credentials',
      })
    ).json()) as { access_token: string };
    const refunded = await fetch(
      `${testApp.config.PAYPAL_API_BASE}/v2/payments/captures/${captureId}/refund`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${token.access_token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ amount: { currency_code: 'USD', value: '10.00' } }),
      },
    );
    expect(refunded.status).toBe(201);
    const paypalRows = await reconcile('paypal');
    expect(rowOf(paypalRows, buyer.id)).toMatchObject([
      { result: 'amount_mismatch', local_refunded: 0, gateway_refunded: 1000 },
    ]);
    // The refund's own row is no payment of the period.
    expect(paypalRows.filter((row) => row.result === 'missing_local')).toEqual([]);
  });

  it('records refunds made at the gateway that reconciliation finds we missed, once, as their webhooks would have', async () => {
    // From now: the period, and its summary, hold this test's payments only.
    const from = new Date().toISOString();
    const reconcile = (gateway: string) =>
      reconciledRows<{ payment_id: string | null; result: string }>(gateway, from);
    const resultOf = async (gateway: string, paymentId: string) =>
      (await reconcile(gateway)).filter((row) => row.payment_id === paymentId).map((row) => row.result);
    const refundsOf = async (paymentId: string) =>
      (await inject(admin, 'GET', `/commerce/refunds?payment_id=${paymentId}`)).json<{ data: Refund[] }>()
        .data;
    const paypalToken = async () =>
      (
        (await (
          await fetch(`${testApp.config.PAYPAL_API_BASE}/v1/oauth2/token`, {
            method: 'POST',
            headers: {
              authorization: `Basic ${Buffer.from(`${paypal.clientId}:${paypal.clientSecret}`).toString('base64')}`,
              'content-type': 'application/x-www-form-urlencoded',
            },
            body: 'grant_type=client_credentials',
          })
        ).json()) as { access_token: string }
      ).access_token;
    /** A refund made in the gateway's dashboard, of which no webhook comes; answers its gateway id. */
    const refundAtGateway = async (gateway: string, payment: Payment, amount: number): Promise<string> => {
      if (gateway === 'stripe') {
        const answer = await refundAtStripe({
          payment_intent: payment.gateway_reference!,
          amount: String(amount),
        });
        return ((await answer.json()) as { id: string }).id;
      }
      if (gateway === 'square') {
        const answer = await fetch(`${testApp.config.SQUARE_API_BASE}/v2/refunds`, {
          method: 'POST',
          headers: { authorization: `Bearer ${square.accessToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            idempotency_key: randomBytes(8).toString('hex'),
            payment_id: payment.gateway_reference,
            amount_money: { amount, currency: 'USD' },
          }),
        });
        return ((await answer.json()) as { refund: { id: string } }).refund.id;
      }
      const captureId = paypal.orders.get(payment.gateway_reference!)!.purchase_units[0]!.payments!
        .captures![0]!.id;
      const answer = await fetch(
        `${testApp.config.PAYPAL_API_BASE}/v2/payments/captures/${captureId}/refund`,
        {
          method: 'POST',
          headers: { authorization: `Bearer ${await paypalToken()}`, 'content-type': 'application/json' },
          body: JSON.stringify({ amount: { currency_code: 'USD', value: (amount / 100).toFixed(2) } }),
        },
      );
      return ((await answer.json()) as { id: string }).id;
    };

    const methodId = await cardMethod('stripe', 'pm_card_visa');
    const stripeOrder = await placeOrder();
    const onStripe = (await pay(stripeCharge(stripeOrder.id, methodId))).json<Payment>();
    const { order: squareOrder, payment: onSquare } = await chargedOnSquare(4000);
    const paypalOrder = await placeOrder(admin, 3000, 'USD');
    const onPayPal = (
      await pay({ order_id: paypalOrder.id, amount: 3000, currency: 'USD', gateway: 'paypal', capture: true })
    ).json<Payment>();
    paypal.approve(onPayPal.gateway_reference!);
    await reconciler.pollPending(0);
    expect(await status(onPayPal.id)).toBe('completed');

    for (const [gateway, payment, order, amount, reason] of [
      ['stripe', onStripe, stripeOrder, 2000, 'Refunded in Stripe'],
      ['square', onSquare, squareOrder, 1500, 'Refunded in Square'],
      ['paypal', onPayPal, paypalOrder, 1000, 'Refunded in PayPal'],
    ] as const) {
      const reference = await refundAtGateway(gateway, payment, amount);
      // The run says what it found, and records the refund as its webhook would have.
      expect(await resultOf(gateway, payment.id)).toEqual(['amount_mismatch']);
      expect(await refundsOf(payment.id)).toMatchObject([
        { amount, status: 'processed', reason, gateway_reference: reference },
      ]);
      expect((await inject(admin, 'GET', `/commerce/payments/${payment.id}`)).json<Payment>()).toMatchObject({
        status: 'partially_refunded',
        amount_refunded: amount,
      });
      await testApp.flushEvents();
      expect((await inject(admin, 'GET', `/commerce/orders/${order.id}`)).json()).toMatchObject({
        payment_status: 'partially_refunded',
        amount_refunded: amount,
      });
      // The next run matches, and records nothing twice.
      expect(await resultOf(gateway, payment.id)).toEqual(['matched']);
      expect(await refundsOf(payment.id)).toHaveLength(1);
    }
    // The lost webhook, come late after all, finds the refund recorded.
    const late = [...stripe.refunds.values()].find(
      (refund) => refund.payment_intent === onStripe.gateway_reference,
    )!;
    await deliver('stripe', stripe.webhook('refund.updated', late));
    expect(await refundsOf(onStripe.id)).toHaveLength(1);
    const summary = await inject(
      admin,
      'GET',
      `/commerce/payments/summary?from=${from}&to=${new Date(Date.now() + 1_000).toISOString()}`,
    );
    expect(summary.json<{ currencies: { currency: string; refunded: number }[] }>().currencies).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ currency: 'EUR', refunded: 2000 }),
        expect.objectContaining({ currency: 'USD', refunded: 2500 }),
      ]),
    );
  });

  it('records a refund made at the gateway once when its late webhook and a reconciliation find it at once', async () => {
    const db = testApp.platform.db;
    const from = new Date().toISOString();
    const methodId = await cardMethod('stripe', 'pm_card_visa');
    const charged = (await pay(stripeCharge((await placeOrder()).id, methodId))).json<Payment>();
    const dashboard = await refundAtStripe({ payment_intent: charged.gateway_reference!, amount: '2000' });
    const madeThere = (await dashboard.json()) as { id: string };
    // The payment's row is held: the run's recording and the webhook's both queue for it.
    const held = await holdRows(db, admin.tenant.id, (tx) =>
      tx.selectFrom('payments').select('id').where('id', '=', charged.id).forNoKeyUpdate().execute(),
    );
    let run: ReturnType<typeof inject> | undefined;
    let hook: ReturnType<typeof post> | undefined;
    try {
      run = inject(admin, 'POST', '/commerce/payments/reconcile', {
        gateway: 'stripe',
        from,
        to: new Date(Date.now() + 60_000).toISOString(),
      });
      await until(async () => (await lockWaiters(db)) >= 1);
      hook = post('stripe', stripe.webhook('refund.created', madeThere));
      await until(async () => (await lockWaiters(db)) >= 2);
    } finally {
      await held.release();
    }
    expect((await run).statusCode).toBe(200);
    expect((await hook).statusCode).toBe(200);
    expect(
      (await inject(admin, 'GET', `/commerce/refunds?payment_id=${charged.id}`)).json<{ data: Refund[] }>()
        .data,
    ).toMatchObject([{ amount: 2000, status: 'processed', gateway_reference: madeThere.id }]);
    expect((await inject(admin, 'GET', `/commerce/payments/${charged.id}`)).json<Payment>()).toMatchObject({
      status: 'partially_refunded',
      amount_refunded: 2000,
    });
  });

  it("checks a tenant's webhooks with its own secret, never the environment's", async () => {
    const shop = await registerTenant(testApp);
    // The shop's own Stripe account, saved without its webhook secret.
    const put = await inject(shop, 'PUT', '/tenants/current/gateways/stripe', {
      secret_key: stripe.secretKey,
      api_base: stripe.server.baseUrl,
    });
    expect(put.statusCode).toBe(200);
    const method = await inject(shop, 'POST', '/commerce/payment-methods', {
      gateway: 'stripe',
      type: 'card',
      gateway_token: 'pm_card_visa',
    });
    const order = await placeOrder(shop);
    const held = (
      await pay(
        {
          order_id: order.id,
          amount: 5000,
          currency: 'EUR',
          gateway: 'stripe',
          payment_method_id: method.json<{ id: string }>().id,
          capture: false,
        },
        shop,
      )
    ).json<Payment>();
    expect(held.status).toBe('authorized');
    // Signed with the platform's secret (STRIPE_WEBHOOK_SECRET), which is not the shop's.
    const delivery = stripe.webhook('payment_intent.succeeded', {
      ...stripe.intents.get(held.gateway_reference!)!,
      status: 'succeeded',
      amount_received: 5000,
    });
    const refused = await testApp.app.inject({
      method: 'POST',
      url: '/webhooks/stripe',
      headers: delivery.headers,
      payload: delivery.body,
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toMatchObject({ code: 'invalid_signature' });
    expect((await inject(shop, 'GET', `/commerce/payments/${held.id}`)).json<Payment>().status).toBe(
      'authorized',
    );
  });

  it('keeps gateway secrets sealed and never returns them', async () => {
    const put = await inject(admin, 'PUT', '/tenants/current/gateways/stripe', {
      secret_key: stripe.secretKey,
      webhook_secret: stripe.webhookSecret,
      api_base: stripe.server.baseUrl,
    });
    expect(put.statusCode).toBe(200);
    expect(put.body).not.toContain(stripe.secretKey);
    const list = await inject(admin, 'GET', '/tenants/current/gateways');
    expect(list.body).not.toContain(stripe.webhookSecret);
    expect(
      list
        .json<{ data: { gateway: string; source: string; secrets_set: string[] }[] }>()
        .data.find((g) => g.gateway === 'stripe'),
    ).toMatchObject({ source: 'tenant', secrets_set: ['secret_key', 'webhook_secret'] });
    const stored = await sql<{
      secrets_sealed: string;
    }>`select secrets_sealed from payment_gateway_settings`.execute(testApp.platform.db);
    expect(stored.rows[0]!.secrets_sealed).not.toContain(stripe.secretKey);
    expect((await inject(staff, 'GET', '/tenants/current/gateways')).statusCode).toBe(403);
    const invalid = await inject(admin, 'PUT', '/tenants/current/gateways/paypal', { secret_key: 'x' });
    expect(invalid.statusCode).toBe(400);
  });
});
