/**
 * The statuses of orders, payments and refunds (api-contract.md), as lists: the API's schemas and
 * the web app's filters are made from them. Without runtime dependencies, so that the web app can
 * import them (`@tessera/contracts/statuses`) without the API's schemas.
 */
export const ORDER_STATUSES = ['pending', 'paid', 'fulfilled', 'cancelled', 'refunded'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];
/** Orders that have been paid, in whole or in part: those a receipt can be sent for. */
export const RECEIPTED_ORDER_STATUSES: readonly OrderStatus[] = ['paid', 'fulfilled', 'refunded'];

export const PAYMENT_STATUSES = [
  'pending',
  'authorized',
  'completed',
  'failed',
  'voided',
  'partially_refunded',
  'refunded',
  'unknown',
] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

export const REFUND_STATUSES = ['pending', 'processed', 'failed'] as const;
export type RefundStatus = (typeof REFUND_STATUSES)[number];

/** A dispute's: `won` and `lost` are final (an inquiry closed without a chargeback counts as won). */
export const DISPUTE_STATUSES = ['needs_response', 'under_review', 'won', 'lost'] as const;
export type DisputeStatus = (typeof DISPUTE_STATUSES)[number];
