import type { PaymentStatus, RefundStatus } from '@tessera/contracts';
import { AppError } from '../../platform/errors';

/**
 * The one table of legal payment moves (api-contract.md, "Payments"). `unknown` is where a timed-out
 * gateway call leaves a payment; the reconciler moves it on once the gateway has answered.
 * Staying in the same status (a partial refund after another) is not a move and always allowed.
 */
export const PAYMENT_TRANSITIONS: Record<PaymentStatus, readonly PaymentStatus[]> = {
  pending: ['authorized', 'completed', 'failed', 'voided', 'unknown'],
  unknown: ['pending', 'authorized', 'completed', 'failed', 'voided'],
  authorized: ['completed', 'voided', 'failed', 'unknown'],
  completed: ['partially_refunded', 'refunded'],
  partially_refunded: ['refunded'],
  failed: [],
  voided: [],
  refunded: [],
};

export const REFUND_TRANSITIONS: Record<RefundStatus, readonly RefundStatus[]> = {
  pending: ['processed', 'failed'],
  processed: [],
  failed: [],
};

export function canMovePayment(from: PaymentStatus, to: PaymentStatus): boolean {
  return from === to || PAYMENT_TRANSITIONS[from].includes(to);
}

export function assertPaymentMove(from: PaymentStatus, to: PaymentStatus, action = `move to ${to}`): void {
  if (!canMovePayment(from, to)) {
    throw new AppError('invalid_state_transition', `A ${from} payment cannot ${action}`, {
      extensions: { from, to },
    });
  }
}

export function assertRefundMove(from: RefundStatus, to: RefundStatus): void {
  if (from !== to && !REFUND_TRANSITIONS[from].includes(to)) {
    throw new AppError('invalid_state_transition', `A ${from} refund cannot move to ${to}`, {
      extensions: { from, to },
    });
  }
}

/** A payment's status after refunds: partially or fully refunded, by the captured amount. */
export function statusAfterRefunds(amountCaptured: number, amountRefunded: number): PaymentStatus {
  return amountRefunded >= amountCaptured ? 'refunded' : 'partially_refunded';
}
