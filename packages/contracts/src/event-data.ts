/**
 * The `data` of each domain event type. Producers and consumers (analytics, realtime, orders'
 * payment listener) agree on these shapes; a breaking change raises the envelope's `version`.
 * Money is integer minor units with its ISO 4217 currency.
 */
import type { EventEnvelope, EventType } from './events';
import type { DisputeStatus, OrderStatus, PaymentStatus, RefundStatus } from './statuses';

export interface OrderLineData {
  product_id: string;
  sku: string;
  name: string;
  quantity: number;
  unit_price: number;
  line_total: number;
}

export type OrderPaymentStatus =
  'unpaid' | 'authorized' | 'partially_paid' | 'paid' | 'partially_refunded' | 'refunded';
export type Gateway = 'stripe' | 'square' | 'square_terminal' | 'paypal' | 'manual';

export interface EventDataMap {
  'auth.user.created': { user_id: string; email: string; name: string; roles: string[] };
  'auth.user.login': { user_id: string; session_id: string };
  'commerce.order.created': {
    order_id: string;
    number: number;
    status: OrderStatus;
    payment_status: OrderPaymentStatus;
    currency: string;
    subtotal: number;
    total: number;
    customer_email: string | null;
    lines: OrderLineData[];
  };
  'commerce.order.status_changed': {
    order_id: string;
    number: number;
    from: OrderStatus;
    to: OrderStatus;
    payment_status: OrderPaymentStatus;
    total: number;
    currency: string;
  };
  'inventory.stock.updated': {
    product_id: string;
    sku: string;
    on_hand: number;
    reserved: number;
    available: number;
    low_stock_threshold: number;
    /** What moved: an adjustment, a set, a reservation, its release, or a fulfilment. */
    reason: 'adjustment' | 'set' | 'reservation' | 'release' | 'fulfilment';
    delta_on_hand: number;
    delta_reserved: number;
    low_stock: boolean;
  };
  'payment.created': PaymentEventData;
  'payment.captured': PaymentEventData;
  'payment.completed': PaymentEventData;
  'payment.failed': PaymentEventData;
  'refund.created': RefundEventData;
  'refund.processed': RefundEventData;
  /** A dispute opened, or its status moved. */
  'payment.disputed': DisputeEventData;
  'commerce.payment.processed': PaymentEventData;
  'analytics.event.tracked': {
    name: string;
    properties: Record<string, unknown>;
    anonymous_id: string | null;
    user_id: string | null;
    occurred_at: string;
  };
}

export interface PaymentEventData {
  payment_id: string;
  order_id: string;
  gateway: Gateway;
  status: PaymentStatus;
  amount: number;
  amount_captured: number;
  amount_refunded: number;
  currency: string;
  failure_code: string | null;
  failure_message: string | null;
}

export interface RefundEventData {
  refund_id: string;
  payment_id: string;
  order_id: string;
  gateway: Gateway;
  status: RefundStatus;
  amount: number;
  currency: string;
  reason: string | null;
}

export interface DisputeEventData {
  dispute_id: string;
  payment_id: string;
  order_id: string;
  gateway: Gateway;
  status: DisputeStatus;
  amount: number;
  currency: string;
  reason: string | null;
  evidence_due_by: string | null;
}

export type EventData<T extends EventType> = EventDataMap[T];
export type TypedEvent<T extends EventType> = EventEnvelope<T, EventDataMap[T]>;
