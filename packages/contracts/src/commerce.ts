/**
 * The catalog, inventory and orders API's answers and requests (api-contract.md, "Catalog and
 * inventory" and "Orders"), as the API sends them. Money is integer minor units of `currency`.
 */
import type { OrderLineData, OrderPaymentStatus } from './event-data';
import type { OrderStatus } from './statuses';
import type { EventActor } from './events';
import { isUuid } from './uuid';

/** The reason an order's history gives a move a payment made ("payment <id>"). */
export function paymentMoveReason(paymentId: string): string {
  return `payment ${paymentId}`;
}

/** The payment a history entry's reason names, or null for any other reason. */
export function paymentOfMoveReason(reason: string): string | null {
  const id = reason.startsWith('payment ') ? reason.slice('payment '.length) : '';
  return isUuid(id) ? id : null;
}

export interface CommercePage<T> {
  data: T[];
  next_cursor: string | null;
}

export interface ProductDto {
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

export interface CreateProductRequest {
  sku: string;
  name: string;
  description?: string | null;
  price: number;
  currency: string;
  active?: boolean;
}

export type UpdateProductRequest = Partial<CreateProductRequest>;

export interface StockLevelDto {
  product_id: string;
  sku: string;
  on_hand: number;
  reserved: number;
  /** on_hand - reserved, never negative. */
  available: number;
  low_stock_threshold: number;
  updated_at: string;
}

export type StockMovementKind = 'adjustment' | 'set' | 'reservation' | 'release' | 'fulfilment';

/** One entry of GET /commerce/inventory/:product_id/adjustments (the ledger), newest first. */
export interface StockMovementDto {
  id: string;
  product_id: string;
  kind: StockMovementKind;
  /** The change of on_hand (same as delta_on_hand). */
  delta: number;
  delta_on_hand: number;
  delta_reserved: number;
  on_hand_after: number;
  reserved_after: number;
  reason: string | null;
  order_id: string | null;
  actor: EventActor;
  created_at: string;
}

export interface SetStockRequest {
  on_hand?: number;
  low_stock_threshold?: number;
  reason?: string;
}

export interface AdjustStockRequest {
  delta: number;
  reason: string;
}

export interface OrderDto {
  id: string;
  number: number;
  status: OrderStatus;
  payment_status: OrderPaymentStatus;
  currency: string;
  lines: OrderLineData[];
  subtotal: number;
  total: number;
  amount_paid: number;
  amount_refunded: number;
  customer_email: string | null;
  note: string | null;
  created_at: string;
  updated_at: string;
}

export interface CreateOrderRequest {
  lines: { product_id: string; quantity: number }[];
  customer_email?: string | null;
  note?: string | null;
}

/** GET /commerce/orders/:id/history answers `{ data: OrderStatusChangeDto[] }`, oldest first. */
export interface OrderStatusChangeDto {
  id: string;
  from: OrderStatus | null;
  to: OrderStatus;
  actor: EventActor;
  reason: string | null;
  created_at: string;
}
