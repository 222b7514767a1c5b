import type { Web } from '@tessera/contracts';

/** A payment as its list and its own page answer it: with its order's number. */
export type ListedPayment = Web.Payment & { order_number: number };

/** A refund as its list answers it: with the order its payment was for. */
export type ListedRefund = Web.Refund & { order_id: string; order_number: number };
