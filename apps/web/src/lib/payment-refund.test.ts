import { describe, expect, it } from 'vitest';
import { paymentOfTender, paymentTender, refundHandling, refundState } from './payment-refund';

describe('a refund is told as its money goes back', () => {
  it('hands cash and checks back at the desk', () => {
    const cash = paymentTender('manual', null);
    expect(paymentOfTender(cash)).toBe('the cash payment');
    expect(refundHandling(cash, '$12.50')).toBe(
      'Give the customer $12.50 in cash. Approving records the refund; no money moves by itself.',
    );
    expect(paymentTender('manual', 'cash')).toEqual(cash);
    const check = paymentTender('manual', 'check');
    expect(paymentOfTender(check)).toBe('the check payment');
    expect(refundHandling(check, '$12.50')).toMatch(
      /^This was paid by check: give the customer \$12\.50 back/,
    );
    // A method that could not be read: cash or check, it is handed back all the same.
    const unknown = paymentTender('manual', undefined);
    expect(paymentOfTender(unknown)).toBe('the cash or check payment');
    expect(refundHandling(unknown, '$1.00')).toMatch(/^Give the customer \$1\.00 back in cash or by check\./);
  });

  it('names the gateway that returns the money, as the merchant knows it', () => {
    expect(paymentOfTender(paymentTender('stripe', 'card'))).toBe('the Stripe payment');
    expect(paymentOfTender(paymentTender('square_terminal', null))).toBe('the Square payment');
    expect(refundHandling(paymentTender('paypal', 'paypal'), '$3.00')).toBe(
      'Once sent, PayPal returns $3.00 to the customer: it cannot be called back.',
    );
  });
});

describe("a refund's state", () => {
  it('tells a declined request from a refund the payment provider refused', () => {
    expect(refundState({ status: 'failed', failure_code: 'declined' })).toBe('declined');
    expect(refundState({ status: 'failed', failure_code: 'expired_or_canceled_card' })).toBe('failed');
    expect(refundState({ status: 'failed', failure_code: null })).toBe('failed');
    expect(refundState({ status: 'pending', failure_code: null })).toBe('pending');
    expect(refundState({ status: 'processed', failure_code: null })).toBe('processed');
  });
});
