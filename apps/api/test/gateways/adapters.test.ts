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
import type { IdempotencyStore } from './fake-server';
import { FakePayPal } from './paypal-server';
import { FakeSquare, SQUARE_DECLINED_NONCE, SQUARE_MAIN_LOCATION } from './square-server';
import { FakeStripe, parseStripeForm } from './stripe-server';

const base = { paymentId: 'pay_1', orderId: 'ord_1' };

/**
 * Sends one request twice at once while the gateway takes its time over the first (its key is in
 * use meanwhile), then once more when both have ended.
 */
async function sentTwiceAtOnce<T>(store: IdempotencyStore, send: () => Promise<T>) {
  store.slowNext(200);
  const settled = await Promise.allSettled([send(), send()]);
  return {
    answers: settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : [])),
    errors: settled.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : [])),
    after: await send(),
  };
}

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
    await expect(gateway.retrieveRefund(refund.reference)).resolves.toMatchObject({
      reference: refund.reference,
      status: 'processed',
    });
    await expect(gateway.retrieveRefund('re_unknown')).resolves.toBeNull();
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

  it("reports a request Stripe refuses with 409 while its key's first request runs as unknown, not declined", async () => {
    const charged = await gateway.createPayment({
      ...base,
      amount: 2000,
      currency: 'EUR',
      capture: true,
      source: 'pm_card_visa',
      idempotencyKey: 'k-busy-charge',
    });
    const request = {
      reference: charged.reference,
      amount: 700,
      currency: 'EUR',
      reason: null,
      refundId: 'r-busy',
      idempotencyKey: 'k-busy-refund',
    };
    const { answers, errors, after } = await sentTwiceAtOnce(stripe.idempotency, () =>
      gateway.refund(request),
    );
    expect(answers).toMatchObject([{ status: 'processed' }]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(GatewayUnknown);
    expect(after.reference).toBe(answers[0]!.reference);
    expect(
      [...stripe.refunds.values()].filter((r) => r.payment_intent === charged.reference.id),
    ).toHaveLength(1);
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

  it("reads our payment id in an intent's webhook, and lists a payment's refunds, ours and those made at Stripe", async () => {
    const charged = await gateway.createPayment({
      ...base,
      amount: 3000,
      currency: 'EUR',
      capture: true,
      source: 'pm_card_visa',
      idempotencyKey: 'k-refunds',
    });
    const delivery = stripe.webhook('payment_intent.succeeded', stripe.intents.get(charged.reference.id));
    const event = await gateway.parseWebhook({ rawBody: delivery.body, headers: delivery.headers, url: '' });
    expect(event.payment).toMatchObject({ reference: charged.reference.id, our_payment_id: base.paymentId });
    const ours = await gateway.refund({
      reference: charged.reference,
      amount: 1000,
      currency: 'EUR',
      reason: null,
      refundId: 'our-refund',
      idempotencyKey: 'k-refunds-1',
    });
    // One made in Stripe's dashboard carries no id of ours.
    const dashboard = await fetch(`${stripe.server.baseUrl}/v1/refunds`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${stripe.secretKey}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ payment_intent: charged.reference.id, amount: '500' }),
    });
    const madeThere = (await dashboard.json()) as { id: string };
    const refunds = await gateway.listRefunds(charged.reference);
    expect(refunds).toHaveLength(2);
    expect(refunds).toEqual(
      expect.arrayContaining([
        {
          reference: ours.reference,
          status: 'processed',
          failure_code: null,
          payment_reference: charged.reference.id,
          amount: 1000,
          currency: 'EUR',
          our_refund_id: 'our-refund',
          description: 'Refunded in Stripe',
        },
        {
          reference: madeThere.id,
          status: 'processed',
          failure_code: null,
          payment_reference: charged.reference.id,
          amount: 500,
          currency: 'EUR',
          our_refund_id: null,
          description: 'Refunded in Stripe',
        },
      ]),
    );
    await expect(gateway.listRefunds({ id: 'pi_without_refunds' })).resolves.toEqual([]);
  });

  it("sends amounts in Stripe's units and reads them back in ISO minor units (ISK, UGX, MGA, KWD, JPY)", async () => {
    const sent = (path: RegExp) => parseStripeForm(stripe.server.callsTo('POST', path).at(-1)!.body);
    const create = (amount: number, currency: string, capture: boolean, key: string) =>
      gateway.createPayment({
        ...base,
        amount,
        currency,
        capture,
        source: 'pm_card_visa',
        idempotencyKey: key,
      });
    // ISK: no decimals in ISO 4217 (nor in fact), two at Stripe for backwards compatibility.
    const held = await create(1234, 'ISK', false, 'k-isk');
    expect(sent(/^\/v1\/payment_intents$/)).toMatchObject({ amount: '123400', currency: 'isk' });
    expect(held).toMatchObject({
      status: 'authorized',
      amount: 1234,
      currency: 'ISK',
      amount_authorized: 1234,
    });
    const captured = await gateway.capture({
      reference: held.reference,
      amount: 1000,
      currency: 'ISK',
      idempotencyKey: 'k-isk-cap',
    });
    expect(sent(/\/capture$/)).toMatchObject({ amount_to_capture: '100000' });
    expect(captured).toMatchObject({ status: 'completed', amount: 1234, amount_captured: 1000 });
    const refund = await gateway.refund({
      reference: held.reference,
      amount: 250,
      currency: 'ISK',
      reason: null,
      refundId: 'r-isk',
      idempotencyKey: 'k-isk-ref',
    });
    expect(refund.status).toBe('processed');
    expect(sent(/^\/v1\/refunds$/)).toMatchObject({ amount: '25000' });
    const delivery = stripe.webhook('payment_intent.succeeded', stripe.intents.get(held.reference.id));
    const event = await gateway.parseWebhook({ rawBody: delivery.body, headers: delivery.headers, url: '' });
    expect(event.payment).toMatchObject({ status: 'completed', amount_captured: 1000 });
    const listed = await gateway.listPayments(new Date(Date.now() - 60_000), new Date(Date.now() + 60_000));
    expect(listed.find((found) => found.reference.id === held.reference.id)).toMatchObject({
      amount: 1234,
      amount_captured: 1000,
    });
    // UGX: the same special case.
    await expect(create(5000, 'UGX', true, 'k-ugx')).resolves.toMatchObject({ amount_captured: 5000 });
    expect(sent(/^\/v1\/payment_intents$/)).toMatchObject({ amount: '500000' });
    // MGA: two decimals in ISO 4217, zero-decimal at Stripe.
    await expect(create(150000, 'MGA', true, 'k-mga')).resolves.toMatchObject({
      amount: 150000,
      amount_captured: 150000,
    });
    expect(sent(/^\/v1\/payment_intents$/)).toMatchObject({ amount: '1500' });
    // Three decimals at both, the last one 0 at Stripe; zero-decimal at both: as they are.
    await expect(create(5120, 'KWD', true, 'k-kwd')).resolves.toMatchObject({ amount_captured: 5120 });
    expect(sent(/^\/v1\/payment_intents$/)).toMatchObject({ amount: '5120' });
    await expect(create(500, 'JPY', true, 'k-jpy')).resolves.toMatchObject({ amount_captured: 500 });
    expect(sent(/^\/v1\/payment_intents$/)).toMatchObject({ amount: '500' });
  });

  it('refuses, before calling Stripe, an amount its units cannot express, rather than round it', async () => {
    const before = stripe.server.calls.length;
    for (const [amount, currency] of [
      [150050, 'MGA'], // 1500.50 ariary: Stripe takes whole ariary
      [5124, 'KWD'], // 5.124 dinar: Stripe needs the last digit to be 0
    ] as const) {
      const error = await gateway
        .createPayment({
          ...base,
          amount,
          currency,
          capture: true,
          source: 'pm_card_visa',
          idempotencyKey: `k-odd-${currency}`,
        })
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(GatewayDeclined);
      expect(error).toMatchObject({ code: 'unsupported_amount_precision' });
      expect((error as Error).message).toContain(currency);
    }
    const held = [...stripe.intents.values()].find((intent) => intent.currency === 'isk')!;
    await expect(
      gateway.capture({
        reference: { id: held.id },
        amount: 1,
        currency: 'MGA',
        idempotencyKey: 'k-odd-cap',
      }),
    ).rejects.toMatchObject({ code: 'unsupported_amount_precision' });
    expect(stripe.server.calls.length).toBe(before);
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
    // Square often answers PENDING and completes the refund later: its state is read back.
    square.refunds.get(refund.reference)!.status = 'PENDING';
    await expect(gateway.retrieveRefund(refund.reference)).resolves.toMatchObject({ status: 'pending' });
    square.refunds.get(refund.reference)!.status = 'FAILED';
    await expect(gateway.retrieveRefund(refund.reference)).resolves.toMatchObject({
      status: 'failed',
      failure_code: 'FAILED',
    });
    await expect(gateway.retrieveRefund('rf_unknown')).resolves.toBeNull();
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

  it('times out as unknown, then cancels by idempotency key and answers what became of it', async () => {
    const unanswered = async (paymentId: string, capture: boolean) => {
      square.server.hangNext();
      await expect(
        gateway.createPayment({
          ...base,
          paymentId,
          amount: 300,
          currency: 'USD',
          capture,
          source: 'cnon:ok',
          idempotencyKey: `key-${paymentId}`,
        }),
      ).rejects.toBeInstanceOf(GatewayUnknown);
    };
    const firstAttempt = new Date();
    await unanswered('pay-held', false);
    await unanswered('pay-charged', true);
    await expect(
      gateway.cancelByIdempotencyKey('key-pay-held', 'pay-held', firstAttempt),
    ).resolves.toMatchObject({
      status: 'voided',
    });
    const held = [...square.payments.values()].find((p) => p.idempotency_key === 'key-pay-held');
    expect(held?.status).toBe('CANCELED');
    // A completed payment cannot be cancelled: it is answered as Square has it.
    await expect(
      gateway.cancelByIdempotencyKey('key-pay-charged', 'pay-charged', firstAttempt),
    ).resolves.toMatchObject({ status: 'completed', amount_captured: 300 });
    // Square never had it.
    await expect(
      gateway.cancelByIdempotencyKey('key-pay-lost', 'pay-lost', firstAttempt),
    ).resolves.toBeNull();
  });

  it("reports a request Square refuses with 409 while its key's first request runs as unknown, not declined", async () => {
    const charged = await gateway.createPayment({
      ...base,
      amount: 2000,
      currency: 'USD',
      capture: true,
      source: 'cnon:card-nonce-ok',
      idempotencyKey: 'sq-busy-charge',
    });
    const request = {
      reference: charged.reference,
      amount: 700,
      currency: 'USD',
      reason: null,
      refundId: 'r-busy',
      idempotencyKey: 'sq-busy-refund',
    };
    const { answers, errors, after } = await sentTwiceAtOnce(square.idempotency, () =>
      gateway.refund(request),
    );
    expect(answers).toMatchObject([{ status: 'processed' }]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(GatewayUnknown);
    expect(after.reference).toBe(answers[0]!.reference);
    expect(square.payments.get(charged.reference.id)?.refunded_money?.amount).toBe(700);
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

  it("reads our payment id in payment and checkout notifications, and lists a payment's refunds from it", async () => {
    const charged = await gateway.createPayment({
      ...base,
      amount: 3000,
      currency: 'USD',
      capture: true,
      source: 'cnon:card-nonce-ok',
      idempotencyKey: 'sq-refunds',
    });
    const payment = square.payments.get(charged.reference.id)!;
    const paid = square.webhook('payment.updated', 'payment', payment, notificationUrl);
    await expect(
      gateway.parseWebhook({ rawBody: paid.body, headers: paid.headers, url: notificationUrl }),
    ).resolves.toMatchObject({ payment: { reference: payment.id, our_payment_id: base.paymentId } });
    const checkout = await terminal.createPayment({
      ...base,
      amount: 800,
      currency: 'USD',
      capture: true,
      source: null,
      idempotencyKey: 'sq-refunds-term',
    });
    const completed = square.webhook(
      'terminal.checkout.updated',
      'checkout',
      square.completeCheckout(checkout.reference.id),
      notificationUrl,
    );
    await expect(
      terminal.parseWebhook({ rawBody: completed.body, headers: completed.headers, url: notificationUrl }),
    ).resolves.toMatchObject({
      payment: { reference: checkout.reference.id, our_payment_id: base.paymentId },
    });

    const ours = await gateway.refund({
      reference: charged.reference,
      amount: 1000,
      currency: 'USD',
      reason: null,
      refundId: 'r',
      idempotencyKey: 'sq-refunds-1',
    });
    const dashboard = await fetch(`${square.server.baseUrl}/v2/refunds`, {
      method: 'POST',
      headers: { authorization: `Bearer ${square.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        idempotency_key: 'sq-refunds-dashboard',
        payment_id: charged.reference.id,
        amount_money: { amount: 500, currency: 'USD' },
      }),
    });
    const madeThere = ((await dashboard.json()) as { refund: { id: string } }).refund;
    // Square's refunds carry nothing of ours: both read alike.
    const refund = (reference: string, amount: number) => ({
      reference,
      status: 'processed',
      failure_code: null,
      payment_reference: charged.reference.id,
      amount,
      currency: 'USD',
      our_refund_id: null,
      description: 'Refunded in Square',
    });
    await expect(gateway.listRefunds(charged.reference)).resolves.toEqual([
      refund(ours.reference, 1000),
      refund(madeThere.id, 500),
    ]);
  });

  it("lists the period's payments of the configured location, every page of them", async () => {
    const from = new Date();
    for (const [index, key] of ['sq-list-1', 'sq-list-2', 'sq-list-3'].entries()) {
      await gateway.createPayment({
        ...base,
        amount: 100 + index,
        currency: 'USD',
        capture: true,
        source: 'cnon:ok',
        idempotencyKey: key,
      });
    }
    const to = new Date(Date.now() + 1000);
    const money = { amount: 999, currency: 'USD' };
    const elsewhere = [
      square.addPayment(money, SQUARE_MAIN_LOCATION, new Date(from.getTime() + 1)), // the main location
      square.addPayment(money, 'LOCATION', new Date(from.getTime() - 60_000)), // before the period
      square.addPayment(money, 'LOCATION', to), // at its end, which is not in it
    ].map((payment) => payment.id);
    const expected = [...square.payments.values()]
      .filter((payment) => payment.location_id === 'LOCATION')
      .filter((payment) => Date.parse(payment.created_at) >= from.getTime())
      .filter((payment) => Date.parse(payment.created_at) < to.getTime())
      .map((payment) => payment.id);
    expect(expected).toHaveLength(3);
    square.listPageSize = 2;
    square.listRequests.length = 0;
    const listed = await gateway.listPayments(from, to);
    const ids = listed.map((payment) => payment.reference.id);
    expect(ids.sort()).toEqual(expected.sort());
    for (const id of elsewhere) expect(ids).not.toContain(id);
    expect(listed.find((payment) => payment.amount === 101)).toMatchObject({
      status: 'completed',
      amount_captured: 101,
    });
    // Two pages, the second asked for with the first's cursor, both of the configured location.
    expect(square.listRequests).toHaveLength(2);
    expect(square.listRequests.map((query) => query.get('location_id'))).toEqual(['LOCATION', 'LOCATION']);
    expect(square.listRequests[0]!.get('begin_time')).toBe(from.toISOString());
    expect(square.listRequests[0]!.get('end_time')).toBe(to.toISOString());
    expect(square.listRequests[1]!.get('cursor')).toBeTruthy();
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
    await expect(gateway.retrieveRefund(refund.reference)).resolves.toMatchObject({
      reference: refund.reference,
      status: 'processed',
    });
    await expect(gateway.retrieveRefund('REFUNKNOWN')).resolves.toBeNull();
    await expect(gateway.retrieve({ id: 'ORDERUNKNOWN' })).resolves.toBeNull();
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

  it("reads our payment id in order and capture webhooks, and lists a payment's refunds from its order", async () => {
    const created = await gateway.createPayment({
      ...base,
      amount: 2000,
      currency: 'USD',
      capture: true,
      source: null,
      idempotencyKey: 'pp-ours',
    });
    const parse = async (type: string, resource: unknown) => {
      const delivery = paypal.webhook(type, resource);
      return gateway.parseWebhook({ rawBody: delivery.body, headers: delivery.headers, url: '' });
    };
    const order = paypal.approve(created.reference.id);
    await expect(parse('CHECKOUT.ORDER.APPROVED', order)).resolves.toMatchObject({
      payment: { reference: created.reference.id, status: 'approved', our_payment_id: base.paymentId },
    });
    const confirmed = await gateway.confirmApproved(created.reference, true, 'pp-ours-capture');
    const capture = order.purchase_units[0]!.payments!.captures![0]!;
    await expect(parse('PAYMENT.CAPTURE.COMPLETED', capture)).resolves.toMatchObject({
      payment: { reference: created.reference.id, status: 'completed', our_payment_id: base.paymentId },
    });
    const ours = await gateway.refund({
      reference: confirmed.reference,
      amount: 700,
      currency: 'USD',
      reason: null,
      refundId: 'our-refund',
      idempotencyKey: 'pp-ours-refund',
    });
    await expect(gateway.listRefunds(confirmed.reference)).resolves.toEqual([
      {
        reference: ours.reference,
        status: 'processed',
        failure_code: null,
        payment_reference: capture.id,
        amount: 700,
        currency: 'USD',
        our_refund_id: 'our-refund',
        description: 'Refunded in PayPal',
      },
    ]);
  });

  it("reports a request PayPal refuses with 409 while its request id's first request runs as unknown, not declined", async () => {
    const created = await gateway.createPayment({
      ...base,
      amount: 2000,
      currency: 'USD',
      capture: true,
      source: null,
      idempotencyKey: 'pp-busy-create',
    });
    paypal.approve(created.reference.id);
    const captured = await gateway.confirmApproved(created.reference, true, 'pp-busy-capture');
    const request = {
      reference: captured.reference,
      amount: 700,
      currency: 'USD',
      reason: null,
      refundId: 'r-busy',
      idempotencyKey: 'pp-busy-refund',
    };
    const { answers, errors, after } = await sentTwiceAtOnce(paypal.idempotency, () =>
      gateway.refund(request),
    );
    expect(answers).toMatchObject([{ status: 'processed' }]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(GatewayUnknown);
    expect(after.reference).toBe(answers[0]!.reference);
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
    // A page of one row each: captures and refunds are rows; the first window is empty but asked once.
    const refunds = [...paypal.orders.values()].flatMap(
      (order) => order.purchase_units[0]?.payments?.refunds ?? [],
    );
    expect(paypal.reportRequests.length).toBe(captures.length + refunds.length + 1);
    paypal.reportTwice = true;
    const again = await gateway.listPayments(new Date(to.getTime() - 40 * 86_400_000), to);
    expect(again.map((payment) => payment.reference.id).sort()).toEqual(captures.sort());
  });

  /** An order the buyer approved and we authorized or captured: its id, and the order as PayPal has it. */
  const approvedOrder = async (amount: number, currency: string, capture: boolean, key: string) => {
    const created = await gateway.createPayment({
      ...base,
      amount,
      currency,
      capture,
      source: null,
      idempotencyKey: key,
    });
    paypal.approve(created.reference.id);
    const confirmed = await gateway.confirmApproved(created.reference, capture, `${key}-confirm`);
    return { created, confirmed, order: () => paypal.orders.get(created.reference.id)! };
  };

  it('sends HUF and TWD in whole units, refuses a fraction of one, and reads them back in ISO minor units', async () => {
    const { created, confirmed, order } = await approvedOrder(150000, 'HUF', false, 'pp-huf');
    expect(order().purchase_units[0]!.amount).toEqual({ currency_code: 'HUF', value: '1500' });
    expect(created).toMatchObject({ amount: 150000, currency: 'HUF' });
    expect(confirmed).toMatchObject({ status: 'authorized', amount_authorized: 150000 });
    const captured = await gateway.capture({
      reference: confirmed.reference,
      amount: 100000,
      currency: 'HUF',
      idempotencyKey: 'pp-huf-cap',
    });
    expect(JSON.parse(paypal.server.calls.at(-1)!.body)).toMatchObject({
      amount: { currency_code: 'HUF', value: '1000' },
    });
    expect(captured).toMatchObject({ status: 'completed', amount_captured: 100000 });
    const refund = await gateway.refund({
      reference: captured.reference,
      amount: 25000,
      currency: 'HUF',
      reason: null,
      refundId: 'r-huf',
      idempotencyKey: 'pp-huf-ref',
    });
    expect(refund.status).toBe('processed');
    expect(JSON.parse(paypal.server.calls.at(-1)!.body)).toMatchObject({
      amount: { currency_code: 'HUF', value: '250' },
    });
    await expect(gateway.retrieve(created.reference)).resolves.toMatchObject({
      amount: 150000,
      amount_captured: 100000,
      amount_refunded: 25000,
    });
    const twd = await gateway.createPayment({
      ...base,
      amount: 99900,
      currency: 'TWD',
      capture: true,
      source: null,
      idempotencyKey: 'pp-twd',
    });
    expect(paypal.orders.get(twd.reference.id)!.purchase_units[0]!.amount.value).toBe('999');
    // 1500.50 forint, 999.50 dollars: PayPal takes no fraction of either, and we round no money.
    const calls = paypal.server.calls.length;
    for (const [amount, currency] of [
      [150050, 'HUF'],
      [99950, 'TWD'],
    ] as const) {
      const error = await gateway
        .createPayment({
          ...base,
          amount,
          currency,
          capture: true,
          source: null,
          idempotencyKey: `pp-odd-${currency}`,
        })
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(GatewayDeclined);
      expect(error).toMatchObject({ code: 'unsupported_amount_precision' });
    }
    await expect(
      gateway.refund({
        reference: captured.reference,
        amount: 50,
        currency: 'HUF',
        reason: null,
        refundId: 'r-huf-odd',
        idempotencyKey: 'pp-huf-ref-odd',
      }),
    ).rejects.toMatchObject({ code: 'unsupported_amount_precision' });
    expect(paypal.server.calls.length).toBe(calls);
  });

  it('starts the report at the whole second of `from`, as PayPal stamps transactions', async () => {
    paypal.reportPageSize = 500;
    paypal.reportTwice = false;
    const { order } = await approvedOrder(700, 'USD', true, 'pp-second');
    const capture = order().purchase_units[0]!.payments!.captures![0]!;
    const stamped = Date.parse(capture.create_time);
    expect(stamped % 1000).toBe(0);
    // `from` falls within the second the capture is stamped with: the capture may be of the period.
    const listed = await gateway.listPayments(new Date(stamped + 500), new Date(stamped + 60_000));
    expect(listed.map((payment) => payment.reference.id)).toContain(capture.id);
    expect(paypal.reportRequests.at(-1)!.start).toBe(new Date(stamped).toISOString());
  });

  it("counts a capture's refunds to date, made after the period too, and lists no refund as a payment", async () => {
    paypal.reportPageSize = 500;
    paypal.reportTwice = false;
    const { confirmed, order } = await approvedOrder(5000, 'USD', true, 'pp-refunded-later');
    const capture = order().purchase_units[0]!.payments!.captures![0]!;
    // Captured an hour ago, in the period reconciled; refunded now, after it.
    const capturedAt = Date.now() - 3_600_000;
    capture.create_time = new Date(Math.floor(capturedAt / 1000) * 1000).toISOString();
    for (const [amount, key] of [
      [1500, 'pp-later-1'],
      [500, 'pp-later-2'],
    ] as const) {
      await gateway.refund({
        reference: confirmed.reference,
        amount,
        currency: 'USD',
        reason: null,
        refundId: key,
        idempotencyKey: key,
      });
    }
    const listed = await gateway.listPayments(new Date(capturedAt - 60_000), new Date(capturedAt + 60_000));
    expect(listed.filter((payment) => payment.reference.id === capture.id)).toMatchObject([
      { status: 'partially_refunded', amount_captured: 5000, amount_refunded: 2000 },
    ]);
    const refunds = order().purchase_units[0]!.payments!.refunds!.map((refund) => refund.id);
    expect(listed.filter((payment) => refunds.includes(payment.reference.id))).toEqual([]);
  });

  it('keeps a PENDING capture pending until PayPal settles it, then completes it', async () => {
    const { created, confirmed } = await approvedOrder(2500, 'USD', false, 'pp-pending');
    paypal.nextCapture = { status: 'PENDING', reason: 'PENDING_REVIEW' };
    const pending = await gateway.capture({
      reference: confirmed.reference,
      amount: 2500,
      currency: 'USD',
      idempotencyKey: 'pp-pending-cap',
    });
    const captureId = pending.reference.capture_id!;
    expect(captureId).toBeTruthy();
    // Not money yet, and nothing the customer can do about a review.
    expect(pending).toMatchObject({
      status: 'pending',
      amount_captured: 0,
      next_action: null,
      failure_code: null,
      failure_message: null,
    });
    // The order as PayPal shows it: pending too, with no approval link to send the buyer back to.
    await expect(gateway.retrieve(created.reference)).resolves.toMatchObject({
      status: 'pending',
      amount_captured: 0,
      next_action: null,
      reference: { capture_id: captureId },
    });
    await expect(
      gateway.refund({
        reference: pending.reference,
        amount: 100,
        currency: 'USD',
        reason: null,
        refundId: 'r-pending',
        idempotencyKey: 'pp-pending-ref',
      }),
    ).rejects.toMatchObject({ code: 'PENDING_CAPTURE' });
    const capture = () => ({
      ...paypal.orders.get(created.reference.id)!.purchase_units[0]!.payments!.captures![0]!,
    });
    const parse = async (type: string, resource: unknown) => {
      const delivery = paypal.webhook(type, resource, { resourceType: 'capture' });
      return gateway.parseWebhook({ rawBody: delivery.body, headers: delivery.headers, url: '' });
    };
    await expect(parse('PAYMENT.CAPTURE.PENDING', capture())).resolves.toMatchObject({
      payment: {
        reference: created.reference.id,
        status: 'pending',
        amount_captured: null,
        failure_code: null,
        details: { capture_id: captureId },
      },
    });
    paypal.settleCapture(captureId, 'COMPLETED');
    await expect(gateway.retrieve(created.reference)).resolves.toMatchObject({
      status: 'completed',
      amount_captured: 2500,
      reference: { capture_id: captureId },
    });
    await expect(parse('PAYMENT.CAPTURE.COMPLETED', capture())).resolves.toMatchObject({
      payment: {
        reference: created.reference.id,
        status: 'completed',
        amount_captured: 2500,
        details: { capture_id: captureId },
      },
    });
  });

  it('waits on the payer for a capture awaiting funding, and fails it when PayPal denies it', async () => {
    paypal.nextCapture = { status: 'PENDING', reason: 'TRANSACTION_APPROVED_AWAITING_FUNDING' };
    const { created, confirmed } = await approvedOrder(1800, 'USD', true, 'pp-funding');
    expect(confirmed).toMatchObject({
      status: 'pending',
      amount_captured: 0,
      next_action: { type: 'customer_action', detail: 'TRANSACTION_APPROVED_AWAITING_FUNDING' },
    });
    const captureId = confirmed.reference.capture_id!;
    const denied = paypal.settleCapture(captureId, 'DECLINED');
    await expect(gateway.retrieve(created.reference)).resolves.toMatchObject({
      status: 'failed',
      amount_captured: 0,
      failure_code: 'DECLINED',
      next_action: null,
    });
    for (const [type, code] of [
      ['PAYMENT.CAPTURE.DENIED', 'CAPTURE_DENIED'],
      ['PAYMENT.CAPTURE.DECLINED', 'CAPTURE_DECLINED'],
    ] as const) {
      const delivery = paypal.webhook(
        type,
        { ...denied, status_details: { reason: 'DECLINED_BY_RISK_FRAUD_FILTERS' } },
        { resourceType: 'capture' },
      );
      const event = await gateway.parseWebhook({
        rawBody: delivery.body,
        headers: delivery.headers,
        url: '',
      });
      expect(event.payment).toMatchObject({
        reference: created.reference.id,
        status: 'failed',
        amount_captured: null,
        failure_code: code,
        failure_message: expect.stringContaining('DECLINED_BY_RISK_FRAUD_FILTERS'),
      });
    }
  });

  it('reads a refunded capture as refunded, and maps refund and reversal webhooks to their refunds', async () => {
    const { created, confirmed } = await approvedOrder(1000, 'USD', true, 'pp-refunded');
    expect(confirmed).toMatchObject({ status: 'completed', amount_captured: 1000 });
    const refund = (amount: number, key: string) =>
      gateway.refund({
        reference: confirmed.reference,
        amount,
        currency: 'USD',
        reason: null,
        refundId: key,
        idempotencyKey: key,
      });
    const first = await refund(400, 'pp-refunded-1');
    // PayPal now shows the capture PARTIALLY_REFUNDED: still the money captured, part of it returned.
    await expect(gateway.retrieve(created.reference)).resolves.toMatchObject({
      status: 'partially_refunded',
      amount_captured: 1000,
      amount_refunded: 400,
      reference: { capture_id: confirmed.reference.capture_id },
    });
    await refund(600, 'pp-refunded-2');
    await expect(gateway.retrieve(created.reference)).resolves.toMatchObject({
      status: 'refunded',
      amount_refunded: 1000,
    });
    // The refund as PayPal answered it: its links, and our refund id as its invoice id.
    const refundResource = { ...(first.raw as object), status: 'COMPLETED' };
    for (const [type, description] of [
      ['PAYMENT.CAPTURE.REFUNDED', 'Refunded in PayPal'],
      ['PAYMENT.CAPTURE.REVERSED', 'Reversed by PayPal (a dispute or chargeback)'],
    ] as const) {
      const delivery = paypal.webhook(type, refundResource, { resourceType: 'refund' });
      const event = await gateway.parseWebhook({
        rawBody: delivery.body,
        headers: delivery.headers,
        url: '',
      });
      // Ours carries our refund id; the capture is named only by the `up` link.
      expect(event.refund).toEqual({
        reference: first.reference,
        status: 'processed',
        failure_code: null,
        payment_reference: confirmed.reference.capture_id,
        amount: 400,
        currency: 'USD',
        our_refund_id: 'pp-refunded-1',
        description,
      });
      expect(event.payment).toBeUndefined();
    }
    const failed = paypal.webhook(
      'PAYMENT.CAPTURE.REFUNDED',
      { ...refundResource, status: 'FAILED' },
      {
        resourceType: 'refund',
      },
    );
    await expect(
      gateway.parseWebhook({ rawBody: failed.body, headers: failed.headers, url: '' }),
    ).resolves.toMatchObject({ refund: { status: 'failed', failure_code: 'FAILED' } });
  });
});
