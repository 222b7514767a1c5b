import type { Web } from '@tessera/contracts';
import { describe, expect, it } from 'vitest';
import { captureHeld } from './payment-state';

const call = (kind: string, outcome: string) =>
  ({ kind, outcome, amount: 1000, currency: 'USD' }) as unknown as NonNullable<
    Web.Payment['transactions']
  >[number];
const payment = (status: Web.Payment['status'], transactions?: ReturnType<typeof call>[]) =>
  ({ status, ...(transactions ? { transactions } : {}) }) as Web.Payment;

describe('captureHeld', () => {
  it('is an authorized payment whose capture the gateway accepted', () => {
    expect(
      captureHeld(payment('authorized', [call('authorize', 'succeeded'), call('capture', 'succeeded')])),
    ).toBe(true);
  });

  it('is not an authorization never captured, nor one whose capture was refused, nor a completed one', () => {
    expect(captureHeld(payment('authorized', [call('authorize', 'succeeded')]))).toBe(false);
    expect(captureHeld(payment('authorized', [call('capture', 'declined')]))).toBe(false);
    expect(captureHeld(payment('completed', [call('capture', 'succeeded')]))).toBe(false);
    expect(captureHeld(payment('authorized'))).toBe(false);
  });
});
