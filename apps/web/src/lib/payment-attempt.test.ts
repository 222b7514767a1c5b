import type { Web } from '@tessera/contracts';
import { PAYMENT_STATUSES } from '@tessera/contracts/statuses';
import { describe, expect, it } from 'vitest';
import { IdempotencyKeys } from './idempotency';
import {
  MethodNotSavedError,
  PaymentAttempt,
  paymentErrorMessage,
  paymentOutcome,
  type NewPaymentMethod,
  type PaymentCalls,
  type PaymentRequest,
} from './payment-attempt';
import { ApiError } from './problem';

const visa: NewPaymentMethod = { gateway: 'stripe', type: 'card', gateway_token: 'tok_visa' };
const stripe = { currency: 'USD', gateway: 'stripe' } as const;

const request: PaymentRequest = {
  order_id: 'order-1',
  amount: 1999,
  currency: 'USD',
  gateway: 'stripe',
  capture: true,
};

function payment(status: Web.PaymentStatus): Web.Payment {
  return { id: 'pay-1', status, amount: 1999, currency: 'USD', failure_message: null } as Web.Payment;
}

/**
 * A stand-in API that fingerprints bodies per key as the real one does: the same key with another
 * body is refused with 422, and a payment is charged once per key. `dropAfterCharge` loses the
 * answer of the next payment call after charging.
 */
function fakeApi() {
  const state = {
    methods: 0,
    charges: 0,
    byKey: new Map<string, string>(),
    sent: [] as { body: PaymentRequest; key: string }[],
    dropAfterCharge: false,
    dropMethodSave: false,
    saveKeys: [] as string[],
    saved: [] as NewPaymentMethod[],
  };
  const calls: PaymentCalls = {
    async saveMethod(method, key) {
      state.methods += 1;
      state.saveKeys.push(key);
      state.saved.push(method);
      if (state.dropMethodSave) {
        state.dropMethodSave = false;
        throw new ApiError(0, { title: 'Network error' });
      }
      return { id: `pm-${state.methods}`, gateway: method.gateway, type: method.type } as Web.PaymentMethod;
    },
    async pay(body, key) {
      state.sent.push({ body, key });
      const text = JSON.stringify(body);
      const known = state.byKey.get(key);
      if (known !== undefined && known !== text)
        throw new ApiError(422, { code: 'idempotency_conflict', title: 'Conflict' });
      if (known === undefined) {
        state.byKey.set(key, text);
        state.charges += 1;
      }
      if (state.dropAfterCharge) {
        state.dropAfterCharge = false;
        throw new ApiError(0, { title: 'Network error' });
      }
      return payment('completed');
    },
  };
  return { state, calls };
}

function counter() {
  let n = 0;
  return () => `key-${++n}`;
}

describe('a payment attempt charges once, however often it is retried', () => {
  it('saves a new card once and retries the very same body under the same key', async () => {
    const { state, calls } = fakeApi();
    const attempt = new PaymentAttempt(new IdempotencyKeys(counter()));
    state.dropAfterCharge = true;
    await expect(attempt.submit({ request, newMethod: visa }, calls)).rejects.toThrow();
    expect(attempt.unsure).toBe(true);
    const paid = await attempt.submit({ request, newMethod: { ...visa } }, calls);
    expect(paid.status).toBe('completed');
    expect(state.methods).toBe(1);
    expect(state.charges).toBe(1);
    expect(state.sent).toHaveLength(2);
    expect(state.sent[0]).toEqual(state.sent[1]);
    expect(state.sent[0]!.body).toEqual({ ...request, payment_method_id: 'pm-1' });
    expect(attempt.unsure).toBe(false);
  });

  it('binds the key to the body sent, payment method id included', async () => {
    const { state, calls } = fakeApi();
    const attempt = new PaymentAttempt(new IdempotencyKeys(counter()));
    await attempt.submit({ request, newMethod: visa }, calls);
    const [sent] = state.sent;
    expect(state.byKey.get(sent!.key)).toBe(JSON.stringify({ ...request, payment_method_id: 'pm-1' }));
  });

  it('saves the card again only when saving it failed', async () => {
    const { state, calls } = fakeApi();
    const attempt = new PaymentAttempt(new IdempotencyKeys(counter()));
    state.dropMethodSave = true;
    const failed = attempt.submit({ request, newMethod: visa }, calls);
    await expect(failed).rejects.toBeInstanceOf(MethodNotSavedError);
    await expect(failed).rejects.toMatchObject({ status: 0 });
    expect(paymentErrorMessage(await failed.catch((error: unknown) => error), stripe)).toMatch(
      /^Nothing was charged/,
    );
    expect(state.charges).toBe(0);
    expect(attempt.unsure).toBe(false);
    await attempt.submit({ request, newMethod: visa }, calls);
    expect(state.methods).toBe(2);
    expect(state.charges).toBe(1);
    // Under the same key: had the first save been stored and its answer lost, the API replays it.
    expect(state.saveKeys).toHaveLength(2);
    expect(state.saveKeys[1]).toBe(state.saveKeys[0]);
  });

  it('never answers a conflict with a new key: it stops sending', async () => {
    const { state, calls } = fakeApi();
    const attempt = new PaymentAttempt(new IdempotencyKeys(() => 'the-key'));
    // The API already holds this key for another body.
    state.byKey.set('the-key', JSON.stringify({ ...request, amount: 1 }));
    await expect(attempt.submit({ request }, calls)).rejects.toMatchObject({ code: 'idempotency_conflict' });
    expect(attempt.conflict).toBe(true);
    await expect(attempt.submit({ request }, calls)).rejects.toMatchObject({ code: 'idempotency_conflict' });
    await expect(attempt.submit({ request: { ...request, amount: 5 } }, calls)).rejects.toMatchObject({
      code: 'idempotency_conflict',
    });
    expect(state.sent).toHaveLength(1);
    expect(state.charges).toBe(0);
  });

  it('uses a saved card as it is, without saving anything', async () => {
    const { state, calls } = fakeApi();
    const attempt = new PaymentAttempt(new IdempotencyKeys(counter()));
    await attempt.submit({ request: { ...request, payment_method_id: 'pm-saved' }, newMethod: visa }, calls);
    expect(state.methods).toBe(0);
    expect(state.sent[0]!.body.payment_method_id).toBe('pm-saved');
  });

  it('records a check as a method of its own once, with its number, and pays with it', async () => {
    const { state, calls } = fakeApi();
    const attempt = new PaymentAttempt(new IdempotencyKeys(counter()));
    const check = {
      request: { ...request, gateway: 'manual' as const },
      newMethod: {
        gateway: 'manual' as const,
        type: 'check' as const,
        label: 'Check 1234',
      },
    };
    state.dropAfterCharge = true;
    await expect(attempt.submit(check, calls)).rejects.toThrow();
    await attempt.submit(check, calls);
    expect(state.saved).toEqual([{ gateway: 'manual', type: 'check', label: 'Check 1234' }]);
    expect(state.charges).toBe(1);
    expect(state.sent[1]!.body).toEqual({ ...check.request, payment_method_id: 'pm-1' });
    state.dropMethodSave = true;
    const unsaved = await new PaymentAttempt().submit(check, calls).catch((error: unknown) => error);
    expect(paymentErrorMessage(unsaved, { currency: 'USD', gateway: 'manual' })).toMatch(
      /^Nothing was recorded: the check could not be saved\./,
    );
  });

  it('says what a failed attempt means', () => {
    expect(paymentErrorMessage(new ApiError(0, { title: 'Network error' }), stripe)).toMatch(
      /may or may not have been taken/,
    );
    expect(paymentErrorMessage(new ApiError(502, { code: 'gateway_error', detail: 'down' }), stripe)).toMatch(
      /may have been taken/,
    );
    expect(paymentErrorMessage(new ApiError(422, { code: 'idempotency_conflict' }), stripe)).toMatch(
      /may already have been taken.*Check the order's payments/,
    );
    expect(
      paymentErrorMessage(new ApiError(409, { code: 'invalid_state_transition', detail: 'Paid' }), stripe),
    ).toBe('Paid');
  });

  it('tells a refusal in the words of the desk: money, gateways by name, what to do', () => {
    const overpaid = new ApiError(409, {
      code: 'amount_exceeds_balance',
      detail: 'At most 7350 of the order is left to pay',
      unpaid: 7350,
    });
    expect(paymentErrorMessage(overpaid, stripe)).toBe('At most $73.50 is left to pay on this order.');
    const notSet = new ApiError(409, {
      code: 'gateway_not_configured',
      detail: 'square_terminal is not configured for this tenant',
    });
    expect(paymentErrorMessage(notSet, { currency: 'USD', gateway: 'square_terminal' })).toBe(
      'Square is not set up for this business yet. Ask an administrator to connect it in Settings.',
    );
    const unsaved = new MethodNotSavedError(
      new ApiError(409, {
        code: 'gateway_not_configured',
        detail: 'stripe is not configured for this tenant',
      }),
      'card',
    );
    expect(paymentErrorMessage(unsaved, stripe)).toBe(
      'Nothing was charged: the card token could not be saved. Stripe is not set up for this business ' +
        'yet. Ask an administrator to connect it in Settings.',
    );
  });
});

describe('a payment outcome is told as the API gave it', () => {
  it('has words for every status, and never calls an unknown outcome received', () => {
    for (const status of PAYMENT_STATUSES) expect(paymentOutcome(payment(status)).text).not.toBe('');
    const unknown = paymentOutcome(payment('unknown'));
    expect(unknown.text).toBe(
      'Outcome not known yet: the gateway did not answer. We are checking with it; do not charge again.',
    );
    expect(unknown.text).not.toMatch(/received/i);
    expect(unknown.tone).toBe('warning');
    expect(paymentOutcome(payment('completed')).text).toBe('Payment received');
    expect(paymentOutcome(payment('authorized')).text).toBe('Payment authorized');
    expect(paymentOutcome(payment('pending')).text).toBe('Payment started');
    expect(paymentOutcome({ status: 'failed', failure_message: 'Card declined' }).text).toBe(
      'The payment failed: Card declined',
    );
    for (const status of ['failed', 'voided', 'unknown'] as const)
      expect(paymentOutcome(payment(status)).showAmount).toBe(false);
  });
});
