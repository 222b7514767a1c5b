/**
 * The API's answers as the web app reads them (api-contract.md). Exported from the index as the
 * `Web` namespace (`import type { Web } from '@tessera/contracts'`) so these names never clash with
 * the DTO types the API modules declare.
 */
import type {
  Invitation,
  InvitationPreview,
  LoginAnswer,
  Me,
  Membership,
  SessionInfo,
  Tenant,
  TenantSummary,
  TenantUser,
  TokenAnswer as AuthTokenAnswer,
} from './auth';
import type { FieldError } from './problem';
import type { Gateway, OrderLineData, OrderPaymentStatus } from './event-data';
import type { DisputeStatus, OrderStatus, PaymentStatus, RefundStatus } from './statuses';
import type {
  DisputeDto,
  PaymentDetailDto,
  PaymentDto,
  PaymentMethodDto,
  PaymentTransactionDto,
  ReconciliationItemDto,
  ReconciliationResult,
  ReconciliationRunDto,
  RefundDto,
} from './payments';

export type {
  FieldError,
  Invitation,
  InvitationPreview,
  LoginAnswer,
  Me,
  Membership,
  Tenant,
  TenantUser,
  Gateway,
  OrderPaymentStatus,
  OrderStatus,
  PaymentStatus,
  RefundStatus,
  DisputeStatus,
};

/** Payments as the payments API answers them; the detail carries its gateway transactions. */
export type Payment = PaymentDto & Partial<Pick<PaymentDetailDto, 'transactions'>>;
export type PaymentTransaction = PaymentTransactionDto;
export type PaymentMethod = PaymentMethodDto;
export type Refund = RefundDto;
export type Dispute = DisputeDto;
export type { ReconciliationResult };
export type ReconciliationItem = ReconciliationItemDto;
export type ReconciliationRun = ReconciliationRunDto;

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

/** A token answer; registering also names the tenant it created or joined. */
export type TokenAnswer = AuthTokenAnswer & { tenant?: TenantSummary };
export type Session = SessionInfo;

export interface Product {
  id: string;
  sku: string;
  name: string;
  description: string | null;
  price: number;
  currency: string;
  active: boolean;
  created_at: string;
  updated_at: string;
}

export interface StockLevel {
  product_id: string;
  sku: string;
  on_hand: number;
  reserved: number;
  available: number;
  low_stock_threshold: number;
  updated_at: string;
}

/** A line of the stock ledger: every change of on hand or reserved, with its cause. */
export interface StockAdjustment {
  id: string;
  product_id: string;
  kind: 'adjustment' | 'set' | 'reservation' | 'release' | 'fulfilment';
  delta: number;
  delta_on_hand: number;
  delta_reserved: number;
  on_hand_after: number;
  reserved_after: number;
  reason: string | null;
  order_id: string | null;
  actor: { type: 'user' | 'system'; id: string | null };
  created_at: string;
}

export type OrderLine = OrderLineData;

export interface Order {
  id: string;
  number: number;
  status: OrderStatus;
  payment_status: OrderPaymentStatus;
  currency: string;
  lines: OrderLine[];
  subtotal: number;
  total: number;
  amount_paid: number;
  amount_refunded: number;
  customer_email: string | null;
  note?: string | null;
  created_at: string;
  updated_at: string;
}

export interface OrderHistoryEntry {
  id: string;
  from: OrderStatus | null;
  to: OrderStatus;
  actor: { type: 'user' | 'system'; id: string | null };
  reason: string | null;
  created_at: string;
}

export interface Dashboard {
  /** The currency of every amount; null before the first sale. */
  currency: string | null;
  /** Every currency with sales in the range, alphabetically. */
  currencies: string[];
  time_zone: string;
  revenue: number;
  orders: number;
  average_order_value: number;
  items_sold: number;
  refunded: number;
  series: { bucket: string; revenue: number; orders: number }[];
  top_products: { product_id: string; name: string | null; quantity: number; revenue: number }[];
  payment_mix: { gateway: string; count: number; amount: number }[];
  low_stock: StockLevel[];
}

export type RealtimeChannel = 'orders' | 'inventory' | 'notifications' | 'dashboard';

export type WsClientMessage =
  | { type: 'auth'; token: string }
  | { type: 'subscribe'; channel: RealtimeChannel; last_event_id?: string }
  | { type: 'unsubscribe'; channel: RealtimeChannel }
  | { type: 'ping' };

export type WsServerMessage =
  | {
      type: 'event';
      channel: RealtimeChannel;
      id: string;
      event_type: string;
      data: Record<string, unknown>;
      occurred_at: string;
    }
  | { type: 'error'; code: string; message: string; channel?: RealtimeChannel }
  | { type: string; [key: string]: unknown };
