import { describe, expect, it } from 'vitest';
import { paymentMoveReason, paymentOfMoveReason } from './commerce';
import { uuidv7 } from './uuid';

describe('the reason of an order move a payment made', () => {
  it('names the payment, and gives it back', () => {
    const id = uuidv7();
    expect(paymentOfMoveReason(paymentMoveReason(id))).toBe(id);
  });

  it('names no payment for any other reason', () => {
    expect(paymentOfMoveReason('customer changed their mind')).toBeNull();
    expect(paymentOfMoveReason('payment pending')).toBeNull();
    expect(paymentOfMoveReason(`refund ${uuidv7()}`)).toBeNull();
  });
});
