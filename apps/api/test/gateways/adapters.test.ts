import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GatewayDeclined,
  GatewayUnknown,
  InvalidWebhookSignature,
  PayPalGateway,
  SquareGateway,
  SquareTerminalGateway,
  createGateway,
} from '../../src/modules/payments/gateways';
import { fromDecimalString, toDecimalString } from '../../src/modules/payments/money';
import { FakePayPal } from './paypal-server';
import { FakeSquare, SQUARE_DECLINED_NONCE } from './square-server';
import { FakeStripe } from './stripe-server';

const base = { paymentId: 'pay_1', orderId: 'ord_1' };

describe('money', () => {
  it('converts minor units and decimal strings by the currency exponent', () => {
    expect(toDecimalString(1999, 'USD')).toBe('19.99');
    expect(toDecimalString(5, 'EUR')).toBe('0.05');
    expect(toDecimalString(500, 'JPY')).toBe('500');
    expect(toDecimalString(1234, 'KWD')).toBe('1.234');
    expect(fromDecimalString('19.99', 'USD')).toBe(1999);
    expect(fromDecimalString('19.9', 'USD')).toBe(1990);
    expect(fromDecimalString('500', 'JPY')).toBe(500);
    expect(fromDecimalString('1.234', 'KWD')).toBe(1234);
    expect(() => fromDecimalString('1.999', 'USD')).toThrow();
  });
});

describe('Stripe adapter (official SDK against the local Stripe)', () => {
  const stripe = new FakeStripe();
  let gateway: ReturnType<typeof createGateway>;
  beforeAll(async () => {
    const apiBase = await stripe.start();
    gateway = createGateway('stripe', {
      credentials: { api_base: apiBase, secret_key: stripe.secretKey, webhook_secret: stripe.webhookSecret },
      timeoutMs: 400,
      publicUrl: 'http://localhost:8000',
    });
  });
  afterAll(() => stripe.close());

  it('authorizes, captures part, refunds, and reads the card back', async () => {
    const held = await gateway.createPayment({
      ...base,
      amount: 5000,
      currency: 'EUR',
      capture: false,
      source: 'pm_card_visa',
      idempotencyKey: 'k-auth-1',
    });
    expect(held).toMatchObject({ status: 'authorized', amount_authorized: 5000, amount_captured: 0 });
    const call = stripe.server.callsTo('POST', /^\/v1\/payment_intents$/).at(-1)!;
    expect(call.idempotencyKey).toBe('k-auth-1');
    expect(call.body).toContain('metadata[tessera_payment_id]=pay_1');
    const captured = await gateway.capture({
      reference: held.reference,
      amount: 3000,
      currency: 'EUR',
      idempotencyKey: 'k-cap-1',
    });
    expect(captured).toMatchObject({ status: 'completed', amount_captured: 3000 });
    const refund = await gateway.refund({
      reference: held.reference,
      amount: 1000,
      currency: 'EUR',
      reason: null,
      refundId: 'r1',
      idempotencyKey: 'k-ref-1',
    });
    expect(refund.status).toBe('processed');
    await expect(gateway.fetchPaymentMethod('pm_card_mastercard')).resolves.toEqual({
      brand: 'mastercard',
      last4: '4444',
      exp_month: 12,
      exp_year: 2030,
    });
  });

  it('maps a decline to GatewayDeclined with the decline code', async () => {
    const error = await gateway
      .createPayment({
        ...base,
        amount: 100,
        currency: 'EUR',
        capture: true,
        source: 'pm_card_chargeDeclinedInsufficientFunds',
        idempotencyKey: 'k-decline',
      })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GatewayDeclined);
    expect((error as GatewayDeclined).code).toBe('insufficient_funds');
    expect((error as GatewayDeclined).reference).toMatch(/^pi_/);
  });

  it('voids an authorization', async () => {
    const held = await gateway.createPayment({
      ...base,
      amount: 700,
      currency: 'EUR',
      capture: false,
      source: 'pm_card_visa',
      idempotencyKey: 'k-auth-void',
    });
    await expect(
      gateway.void({ reference: held.reference, idempotencyKey: 'k-void' }),
    ).resolves.toMatchObject({ status: 'voided' });
  });

  it('reports a timeout as unknown; the retry with the same key gets the same intent', async () => {
    stripe.server.hangNext();
    const request = {
      ...base,
      amount: 900,
      currency: 'EUR',
      capture: true,
      source: 'pm_card_visa',
      idempotencyKey: 'k-timeout',
    };
    await expect(gateway.createPayment(request)).rejects.toBeInstanceOf(GatewayUnknown);
    const before = stripe.intents.size;
    const settled = await gateway.createPayment(request);
    expect(settled.status).toBe('completed');
    expect(stripe.intents.size).toBe(before);
    expect(
      stripe.server
        .callsTo('POST', /^\/v1\/payment_intents$/)
        .filter((c) => c.idempotencyKey === 'k-timeout'),
    ).toHaveLength(2);
  });

  it('lists intents for reconciliation', async () => {
    const listed = await gateway.listPayments(new Date(Date.now() - 60_000), new Date(Date.now() + 60_000));
    expect(listed.length).toBe(stripe.intents.size);
  });

  it("lists an intent of the period's last, partial second, and none stamped at its end", async () => {
    const intent = [...stripe.intents.values()][0]!;
    const second = intent.created * 1000;
    const ids = async (to: number) =>
      (await gateway.listPayments(new Date(second - 60_000), new Date(to))).map(
        (found) => found.reference.id,
      );
    expect(await ids(second + 500)).toContain(intent.id);
    expect(await ids(second)).not.toContain(intent.id);
  });

  it('verifies webhook signatures with the timestamp tolerance', async () => {
    const intent = [...stripe.intents.values()][0]!;
    const good = stripe.webhook('payment_intent.succeeded', intent);
    const event = await gateway.parseWebhook({ rawBody: good.body, headers: good.headers, url: '' });
    expect(event.payment?.reference).toBe(intent.id);
    const forged = stripe.webhook('payment_intent.succeeded', intent, { secret: 'whsec_other' });
    await expect(
      gateway.parseWebhook({ rawBody: forged.body, headers: forged.headers, url: '' }),
    ).rejects.toBeInstanceOf(InvalidWebhookSignature);
    const stale = stripe.webhook('payment_intent.succeeded', intent, {
      timestamp: Math.floor(Date.now() / 1000) - 301,
    });
    await expect(
      gateway.parseWebhook({ rawBody: stale.body, headers: stale.headers, url: '' }),
    ).rejects.toBeInstanceOf(InvalidWebhookSignature);
  });
});

describe('Square adapter (official SDK against the local Square)', () => {
  const square = new FakeSquare();
  let gateway: SquareGateway;
  let terminal: SquareTerminalGateway;
  const notificationUrl = 'http://localhost:8000/webhooks/square';
  beforeAll(async () => {
    const apiBase = await square.start();
    const options = {
      credentials: {
        api_base: apiBase,
        access_token: square.accessToken,
        location_id: 'LOCATION',
        device_id: 'DEVICE-1',
        webhook_signature_key: square.signatureKey,
      },
      timeoutMs: 400,
      publicUrl: 'http://localhost:8000',
    };
    gateway = new SquareGateway(options);
    terminal = new SquareTerminalGateway(options);
  });
  afterAll(() => square.close());

  it('approves (autocomplete false), completes part of it, and refunds', async () => {
    const held = await gateway.createPayment({
      ...base,
      amount: 4000,
      currency: 'USD',
      capture: false,
      source: 'cnon:card-nonce-ok',
      idempotencyKey: 'sq-auth',
    });
    expect(held).toMatchObject({ status: 'authorized', amount_authorized: 4000 });
    expect(JSON.parse(square.server.calls.at(-1)!.body)).toMatchObject({
      idempotency_key: 'sq-auth',
      autocomplete: false,
      amount_money: { amount: 4000, currency: 'USD' },
    });
    const captured = await gateway.capture({
      reference: held.reference,
      amount: 2500,
      currency: 'USD',
      idempotencyKey: 'sq-cap',
    });
    expect(captured).toMatchObject({ status: 'completed', amount_captured: 2500 });
    const refund = await gateway.refund({
      reference: held.reference,
      amount: 500,
      currency: 'USD',
      reason: 'damaged',
      refundId: 'r',
      idempotencyKey: 'sq-ref',
    });
    expect(refund.status).toBe('processed');
  });

  it('maps a decline, a void and a card', async () => {
    const error = await gateway
      .createPayment({
        ...base,
        amount: 100,
        currency: 'USD',
        capture: true,
        source: SQUARE_DECLINED_NONCE,
        idempotencyKey: 'sq-dec',
      })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GatewayDeclined);
    expect((error as GatewayDeclined).code).toBe('GENERIC_DECLINE');
    const held = await gateway.createPayment({
      ...base,
      amount: 100,
      currency: 'USD',
      capture: false,
      source: 'cnon:ok',
      idempotencyKey: 'sq-v',
    });
    await expect(
      gateway.void({ reference: held.reference, idempotencyKey: 'sq-void' }),
    ).resolves.toMatchObject({ status: 'voided' });
    await expect(gateway.fetchPaymentMethod('ccof:abc')).resolves.toEqual({
      brand: 'VISA',
      last4: '1111',
      exp_month: 11,
      exp_year: 2031,
    });
  });

  it('times out as unknown, then cancels by idempotency key', async () => {
    square.server.hangNext();
    await expect(
      gateway.createPayment({
        ...base,
        amount: 300,
        currency: 'USD',
        capture: false,
        source: 'cnon:ok',
        idempotencyKey: 'sq-hang',
      }),
    ).rejects.toBeInstanceOf(GatewayUnknown);
    await gateway.cancelByIdempotencyKey('sq-hang');
    const payment = [...square.payments.values()].find((p) => p.idempotency_key === 'sq-hang');
    expect(payment?.status).toBe('CANCELED');
  });

  it('runs a Terminal checkout and verifies signed notifications', async () => {
    const pending = await terminal.createPayment({
      ...base,
      amount: 1200,
      currency: 'USD',
      capture: true,
      source: null,
      idempotencyKey: 'sq-term',
    });
    expect(pending.status).toBe('pending');
    expect(pending.next_action).toMatchObject({ type: 'terminal_checkout', device_id: 'DEVICE-1' });
    const checkout = square.completeCheckout(pending.reference.id);
    await expect(terminal.retrieve(pending.reference)).resolves.toMatchObject({
      status: 'completed',
      amount_captured: 1200,
    });
    const delivery = square.webhook('terminal.checkout.updated', 'checkout', checkout, notificationUrl);
    const event = await terminal.parseWebhook({
      rawBody: delivery.body,
      headers: delivery.headers,
      url: notificationUrl,
    });
    expect(event.payment).toMatchObject({
      reference: checkout.id,
      status: 'completed',
      amount_captured: 1200,
    });
    await expect(
      terminal.parseWebhook({
        rawBody: delivery.body,
        headers: delivery.headers,
        url: 'http://elsewhere/webhooks/square',
      }),
    ).rejects.toBeInstanceOf(InvalidWebhookSignature);
  });
});

describe('PayPal adapter (our REST client against the local PayPal)', () => {
  const paypal = new FakePayPal();
  let gateway: PayPalGateway;
  beforeAll(async () => {
    const apiBase = await paypal.start();
    gateway = new PayPalGateway({
      credentials: {
        api_base: apiBase,
        client_id: paypal.clientId,
        client_secret: paypal.clientSecret,
        webhook_id: paypal.webhookId,
      },
      timeoutMs: 400,
      publicUrl: 'http://localhost:8000',
    });
  });
  afterAll(() => paypal.close());

  it('creates an order with an approval link, authorizes after approval, captures part, refunds', async () => {
    const created = await gateway.createPayment({
      ...base,
      amount: 1999,
      currency: 'USD',
      capture: false,
      source: null,
      idempotencyKey: 'pp-create',
    });
    expect(created.status).toBe('pending');
    expect(created.next_action).toMatchObject({
      type: 'redirect',
      url: expect.stringContaining('checkoutnow'),
    });
    const order = paypal.orders.get(created.reference.id)!;
    expect(order.purchase_units[0]!.amount).toEqual({ currency_code: 'USD', value: '19.99' });
    expect(paypal.server.callsTo('POST', /^\/v1\/oauth2\/token$/).length).toBeGreaterThan(0);
    paypal.approve(created.reference.id);
    const authorized = await gateway.confirmApproved(created.reference, false, 'pp-auth');
    expect(authorized).toMatchObject({ status: 'authorized', amount_authorized: 1999 });
    const captured = await gateway.capture({
      reference: authorized.reference,
      amount: 1500,
      currency: 'USD',
      idempotencyKey: 'pp-cap',
    });
    expect(captured).toMatchObject({ status: 'completed', amount_captured: 1500 });
    expect(paypal.server.calls.at(-1)!.idempotencyKey).toBe('pp-cap');
    const refund = await gateway.refund({
      reference: captured.reference,
      amount: 250,
      currency: 'USD',
      reason: null,
      refundId: 'r',
      idempotencyKey: 'pp-ref',
    });
    expect(refund.status).toBe('processed');
    const listed = await gateway.listPayments(new Date(Date.now() - 60_000), new Date(Date.now() + 60_000));
    expect(listed.map((p) => p.reference.id)).toContain(captured.reference.capture_id);
  });

  it('declines, times out, and verifies webhooks through PayPal', async () => {
    const created = await gateway.createPayment({
      ...base,
      amount: 500,
      currency: 'JPY',
      capture: true,
      source: null,
      idempotencyKey: 'pp-jpy',
    });
    expect(paypal.orders.get(created.reference.id)!.purchase_units[0]!.amount.value).toBe('500');
    paypal.approve(created.reference.id);
    paypal.declineNext = true;
    const error = await gateway
      .confirmApproved(created.reference, true, 'pp-dec')
      .catch((caught: unknown) => caught);
    expect((error as GatewayDeclined).code).toBe('INSTRUMENT_DECLINED');
    paypal.server.hangNext();
    await expect(gateway.confirmApproved(created.reference, true, 'pp-cap2')).rejects.toBeInstanceOf(
      GatewayUnknown,
    );
    await expect(gateway.confirmApproved(created.reference, true, 'pp-cap2')).resolves.toMatchObject({
      status: 'completed',
      amount_captured: 500,
    });
    const delivery = paypal.webhook('CHECKOUT.ORDER.APPROVED', {
      id: created.reference.id,
      status: 'APPROVED',
    });
    await expect(
      gateway.parseWebhook({ rawBody: delivery.body, headers: delivery.headers, url: '' }),
    ).resolves.toMatchObject({ payment: { reference: created.reference.id, status: 'approved' } });
    const forged = paypal.webhook('CHECKOUT.ORDER.APPROVED', { id: created.reference.id }, { tamper: true });
    await expect(
      gateway.parseWebhook({ rawBody: forged.body, headers: forged.headers, url: '' }),
    ).rejects.toBeInstanceOf(InvalidWebhookSignature);
  });

  it('lists every page of every 31-day window of the transaction report', async () => {
    for (const key of ['pp-page-1', 'pp-page-2']) {
      const created = await gateway.createPayment({
        ...base,
        amount: 700,
        currency: 'USD',
        capture: true,
        source: null,
        idempotencyKey: key,
      });
      paypal.approve(created.reference.id);
      await gateway.confirmApproved(created.reference, true, `${key}-capture`);
    }
    const captures = [...paypal.orders.values()].flatMap(
      (order) => order.purchase_units[0]?.payments?.captures?.map((capture) => capture.id) ?? [],
    );
    expect(captures.length).toBeGreaterThanOrEqual(3);
    paypal.reportPageSize = 1;
    paypal.reportRequests.length = 0;
    const to = new Date(Date.now() + 60_000);
    const listed = await gateway.listPayments(new Date(to.getTime() - 40 * 86_400_000), to);
    expect(listed.map((payment) => payment.reference.id).sort()).toEqual(captures.sort());
    const windows = new Set(paypal.reportRequests.map((asked) => `${asked.start}/${asked.end}`));
    expect(windows.size).toBe(2);
    expect(paypal.reportRequests.length).toBe(captures.length + 1);
    paypal.reportTwice = true;
    const again = await gateway.listPayments(new Date(to.getTime() - 40 * 86_400_000), to);
    expect(again.map((payment) => payment.reference.id).sort()).toEqual(captures.sort());
  });
});
