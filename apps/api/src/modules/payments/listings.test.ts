import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeSquare } from '../../../test/gateways/square-server';
import { FakeStripe } from '../../../test/gateways/stripe-server';
import { createTestApp, type TestApp } from '../../../test/support/app';
import { addMember, registerTenant, type TestTenant, type TestUser } from '../../../test/support/auth';
import { serviceAvailable } from '../../../test/support/services';
import type { ListedPayment, ListedRefund, PayableGateway, PaymentDetail } from './schemas';

/**
 * What the desk reads to take and follow payments: which gateways can take one, and the order
 * each payment and refund is for. The environment gives the gateways' API bases only, never an
 * account, so each business has none until it sets its own.
 */
describe.runIf(await serviceAvailable('postgres'))('payment listings', () => {
  const stripe = new FakeStripe();
  const square = new FakeSquare();
  let testApp: TestApp;
  let admin: TestTenant;
  let staff: TestUser;

  beforeAll(async () => {
    const [stripeBase, squareBase] = await Promise.all([stripe.start(), square.start()]);
    testApp = await createTestApp({ env: { STRIPE_API_BASE: stripeBase, SQUARE_API_BASE: squareBase } });
    admin = await registerTenant(testApp);
    staff = await addMember(testApp, admin, ['staff']);
  });

  afterAll(async () => {
    await testApp?.close();
    await Promise.all([stripe.close(), square.close()]);
  });

  const inject = (
    who: { auth: Record<string, string> },
    method: 'GET' | 'POST' | 'PUT',
    url: string,
    payload?: object,
  ) => testApp.app.inject({ method, url, headers: who.auth, ...(payload ? { payload } : {}) });

  const payable = async (who: { auth: Record<string, string> }) => {
    const answer = await inject(who, 'GET', '/commerce/payment-gateways');
    expect(answer.statusCode).toBe(200);
    return Object.fromEntries(
      answer.json<{ data: PayableGateway[] }>().data.map((entry) => [entry.gateway, entry.configured]),
    );
  };

  it('tells whoever takes payments which gateways can take one, as accounts are set', async () => {
    // The accounts themselves are the administrators' to read; a cashier still learns what works.
    expect((await inject(staff, 'GET', '/tenants/current/gateways')).statusCode).toBe(403);
    expect(await payable(staff)).toEqual({
      stripe: false,
      square: false,
      square_terminal: false,
      paypal: false,
      manual: true,
    });

    const setStripe = await inject(admin, 'PUT', '/tenants/current/gateways/stripe', {
      secret_key: stripe.secretKey,
    });
    expect(setStripe.statusCode).toBe(200);
    // Square without a device takes cards, not Terminal checkouts.
    const setSquare = await inject(admin, 'PUT', '/tenants/current/gateways/square', {
      access_token: square.accessToken,
      location_id: 'LOCATION',
    });
    expect(setSquare.statusCode).toBe(200);
    const answer = await inject(staff, 'GET', '/commerce/payment-gateways');
    expect(answer.body).not.toContain(stripe.secretKey);
    expect(answer.body).not.toContain(square.accessToken);
    expect(await payable(staff)).toEqual({
      stripe: true,
      square: true,
      square_terminal: false,
      paypal: false,
      manual: true,
    });

    await inject(admin, 'PUT', '/tenants/current/gateways/square', {
      access_token: square.accessToken,
      location_id: 'LOCATION',
      device_id: 'DEVICE-1',
    });
    expect((await payable(staff)).square_terminal).toBe(true);

    // Another business's accounts are its own.
    const other = await registerTenant(testApp);
    expect((await payable(other)).stripe).toBe(false);
    const reader = await addMember(testApp, admin, ['user']);
    expect((await inject(reader, 'GET', '/commerce/payment-gateways')).statusCode).toBe(403);
  });

  async function cashPaidOrder(): Promise<{ id: string; number: number; paymentId: string }> {
    const product = await inject(admin, 'POST', '/commerce/products', {
      sku: `SKU-${randomBytes(4).toString('hex')}`,
      name: 'Lamp',
      price: 1250,
      currency: 'USD',
    });
    const productId = product.json<{ id: string }>().id;
    await inject(admin, 'PUT', `/commerce/inventory/${productId}`, { on_hand: 5 });
    const order = await inject(admin, 'POST', '/commerce/orders', {
      lines: [{ product_id: productId, quantity: 1 }],
    });
    expect(order.statusCode).toBe(201);
    const { id, number } = order.json<{ id: string; number: number }>();
    const payment = await inject(staff, 'POST', '/commerce/payments', {
      order_id: id,
      amount: 1250,
      currency: 'USD',
      gateway: 'manual',
    });
    expect(payment.statusCode).toBe(201);
    return { id, number, paymentId: payment.json<{ id: string }>().id };
  }

  it('names the order of each payment and refund it lists, and of a payment read alone', async () => {
    const first = await cashPaidOrder();
    const second = await cashPaidOrder();
    expect(second.number).not.toBe(first.number);

    const listed = (await inject(staff, 'GET', '/commerce/payments')).json<{ data: ListedPayment[] }>().data;
    expect(listed.map((payment) => [payment.order_id, payment.order_number])).toEqual([
      [second.id, second.number],
      [first.id, first.number],
    ]);
    const detail = (
      await inject(staff, 'GET', `/commerce/payments/${first.paymentId}`)
    ).json<PaymentDetail>();
    expect(detail.order_number).toBe(first.number);

    const refund = await inject(staff, 'POST', '/commerce/refunds', {
      payment_id: first.paymentId,
      amount: 500,
    });
    expect(refund.statusCode).toBe(201);
    const refunds = (await inject(admin, 'GET', '/commerce/refunds?status=pending')).json<{
      data: ListedRefund[];
    }>().data;
    expect(refunds.map((row) => [row.payment_id, row.order_id, row.order_number])).toEqual([
      [first.paymentId, first.id, first.number],
    ]);
  });
});
