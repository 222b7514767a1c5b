/**
 * Analytics DTOs (api-contract.md, "Analytics"): what /api/analytics answers. Money is integer
 * minor units of `currency`; times are ISO 8601 UTC strings.
 */
import type { EventType } from './events';

/** One event for POST /api/analytics/events (alone, or in `{ events: [...] }`). */
export interface TrackEventInput {
  /** What happened, e.g. `product_viewed`: letters, digits, `_ . : -`. */
  name: string;
  properties?: Record<string, unknown>;
  /** When it happened on the client; defaults to the time it was received. */
  occurred_at?: string;
  anonymous_id?: string;
}

export interface TrackEventsAccepted {
  accepted: number;
  event_ids: string[];
}

export type DashboardInterval = 'hour' | 'day';

export interface DashboardSeriesPoint {
  /** Start of the tenant's local hour or day, as an instant. */
  bucket: string;
  revenue: number;
  orders: number;
}

export interface DashboardTopProduct {
  product_id: string;
  name: string | null;
  quantity: number;
  revenue: number;
}

export interface DashboardPaymentMix {
  gateway: string;
  count: number;
  amount: number;
}

export interface DashboardStockLevel {
  product_id: string;
  sku: string;
  on_hand: number;
  reserved: number;
  available: number;
  low_stock_threshold: number;
  updated_at: string;
}

export interface Dashboard {
  /** The currency of every amount; null when the tenant has no sales yet. */
  currency: string | null;
  /** Every currency with sales in the range, alphabetically: the others can be asked for by `currency`. */
  currencies: string[];
  time_zone: string;
  interval: DashboardInterval;
  /** The range, widened to whole 15-minute buckets: [from, to). */
  from: string;
  to: string;
  /** Money captured in the range. */
  revenue: number;
  /** Orders placed in the range. */
  orders: number;
  /** Value of the orders placed in the range / their number, rounded. */
  average_order_value: number;
  /** Units in orders that became paid in the range. */
  items_sold: number;
  /** Refunds processed in the range. */
  refunded: number;
  series: DashboardSeriesPoint[];
  top_products: DashboardTopProduct[];
  payment_mix: DashboardPaymentMix[];
  low_stock: DashboardStockLevel[];
}

/**
 * Today's figures for the realtime dashboard channel: the tenant's current local day, from the
 * dashboard's rollups (a superset of the channel's DashboardData). Revenue is money captured.
 */
export interface TodayMetrics {
  /** The local date, YYYY-MM-DD in `time_zone`. */
  date: string;
  time_zone: string;
  from: string;
  to: string;
  /** Orders placed today, all currencies. */
  orders: number;
  revenue: { currency: string; amount: number }[];
  refunded: { currency: string; amount: number }[];
}

export type RecommendationStrategy = 'frequently_bought_together' | 'popular';

export interface Recommendation {
  product_id: string;
  sku: string | null;
  name: string | null;
  score: number;
}

export interface Recommendations {
  strategy: RecommendationStrategy;
  items: Recommendation[];
}

/** A row of the historical store, as GET /api/analytics/events lists it. */
export interface StoredEventDto {
  id: string;
  type: EventType;
  stream: string;
  occurred_at: string;
  version: number;
  actor: { type: 'user' | 'system'; id: string | null };
  data: unknown;
  stored_at: string;
}

/** A line of GET /api/analytics/export (NDJSON): the warehouse row, flat. */
export interface WarehouseEventRow {
  id: string;
  tenant_id: string;
  type: string;
  stream: string;
  occurred_at: string;
  version: number;
  actor_type: string;
  actor_id: string | null;
  data: unknown;
  stored_at: string;
}
