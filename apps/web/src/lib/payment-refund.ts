import type { Web } from '@tessera/contracts';
import { gatewayName } from './payment-gateways';

/**
 * How a payment's money was taken, which says how a refund of it goes back: cash and checks are
 * handed back at the desk (`by_hand` when which of them is not known), a gateway returns the
 * money itself.
 */
export type PaymentTender =
  { kind: 'cash' } | { kind: 'check' } | { kind: 'by_hand' } | { kind: 'gateway'; name: string };

/**
 * A payment's tender, from its gateway and its method's type: a manual payment without a method
 * (`null`) is cash, since only checks are recorded with one; `undefined` when the method could
 * not be read.
 */
export function paymentTender(
  gateway: string,
  methodType: Web.PaymentMethod['type'] | null | undefined,
): PaymentTender {
  if (gateway !== 'manual') return { kind: 'gateway', name: gatewayName(gateway) };
  if (methodType === undefined) return { kind: 'by_hand' };
  return methodType === 'check' ? { kind: 'check' } : { kind: 'cash' };
}

/** The payment as the approver knows it: "the cash payment", "the Stripe payment". */
export function paymentOfTender(tender: PaymentTender): string {
  switch (tender.kind) {
    case 'gateway':
      return `the ${tender.name} payment`;
    case 'by_hand':
      return 'the cash or check payment';
    case 'cash':
    case 'check':
      return `the ${tender.kind} payment`;
  }
}

/** What approving the refund of `amount` (formatted) does, and what the approver must do. */
export function refundHandling(tender: PaymentTender, amount: string): string {
  switch (tender.kind) {
    case 'cash':
      return `Give the customer ${amount} in cash. Approving records the refund; no money moves by itself.`;
    case 'check':
      return (
        `This was paid by check: give the customer ${amount} back in cash or by check. Approving ` +
        'records the refund; no money moves by itself.'
      );
    case 'by_hand':
      return (
        `Give the customer ${amount} back in cash or by check. Approving records the refund; no ` +
        'money moves by itself.'
      );
    case 'gateway':
      return `Once sent, ${tender.name} returns ${amount} to the customer: it cannot be called back.`;
  }
}

/** A refund as the people who ask for and approve refunds speak of it: one declined is "declined". */
export type RefundState = Web.Refund['status'] | 'declined';

/**
 * A refund's state: a request an approver declined is failed with failure_code `declined` (it was
 * never sent, and nothing was paid back), told apart from one the payment provider refused.
 */
export function refundState(refund: Pick<Web.Refund, 'status' | 'failure_code'>): RefundState {
  return refund.status === 'failed' && refund.failure_code === 'declined' ? 'declined' : refund.status;
}
