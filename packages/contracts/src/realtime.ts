/**
 * The WebSocket protocol of `GET /ws` (api-contract.md, "GraphQL, WebSocket, operations").
 * Every message is one JSON object with a `type`.
 */
import type { EventType } from './events';
import type { Permission } from './permissions';

export const REALTIME_CHANNELS = ['orders', 'inventory', 'notifications', 'dashboard'] as const;
export type RealtimeChannel = (typeof REALTIME_CHANNELS)[number];

/** The permission a channel needs; null: any authenticated user (notifications are filtered per user). */
export const CHANNEL_PERMISSIONS: Record<RealtimeChannel, Permission | null> = {
  orders: 'read:orders',
  inventory: 'read:inventory',
  notifications: null,
  dashboard: 'read:analytics',
};

export function isRealtimeChannel(value: unknown): value is RealtimeChannel {
  return typeof value === 'string' && (REALTIME_CHANNELS as readonly string[]).includes(value);
}

// Client → server.
export interface AuthMessage {
  type: 'auth';
  /** An access token; sent again on an open socket it replaces the old one (before it expires). */
  token: string;
}
export interface SubscribeMessage {
  type: 'subscribe';
  channel: RealtimeChannel;
  /** The id of the last event the client saw: what followed it is replayed before live events. */
  last_event_id?: string;
}
export interface UnsubscribeMessage {
  type: 'unsubscribe';
  channel: RealtimeChannel;
}
export interface ClientPingMessage {
  type: 'ping';
}
export type ClientMessage = AuthMessage | SubscribeMessage | UnsubscribeMessage | ClientPingMessage;

// Server → client.
export interface ReadyMessage {
  type: 'ready';
  user_id: string;
  tenant_id: string;
}
export interface SubscribedMessage {
  type: 'subscribed';
  channel: RealtimeChannel;
  /** How many missed events were replayed before this message (0 without last_event_id). */
  replayed: number;
}
export interface UnsubscribedMessage {
  type: 'unsubscribed';
  channel: RealtimeChannel;
}
export interface RealtimeEventMessage<D = unknown> {
  type: 'event';
  channel: RealtimeChannel;
  /** The domain event's id (UUID v7); pass the last one seen as `last_event_id` to resume. */
  id: string;
  event_type: EventType;
  data: D;
  occurred_at: string;
}
export interface PongMessage {
  type: 'pong';
}

/**
 * Stable error codes on the socket:
 * - `unauthenticated`: no valid token (the socket is then closed with 4401);
 * - `forbidden`: the channel needs a permission the caller lacks (the socket stays open);
 * - `invalid_message`: not JSON, or not a known message;
 * - `replay_gap`: `last_event_id` is unknown or older than the replay window: nothing was replayed,
 *   live events follow; the client should refetch the channel's data over HTTP;
 * - `slow_consumer`: the client read too slowly and is disconnected (4408).
 */
export type RealtimeErrorCode =
  'unauthenticated' | 'forbidden' | 'invalid_message' | 'replay_gap' | 'slow_consumer';
export interface RealtimeErrorMessage {
  type: 'error';
  code: RealtimeErrorCode;
  message: string;
  channel?: RealtimeChannel;
}
export type ServerMessage =
  | ReadyMessage
  | SubscribedMessage
  | UnsubscribedMessage
  | RealtimeEventMessage
  | RealtimeErrorMessage
  | PongMessage;

/** Close codes the server uses (4000–4999 are the application's). */
export const REALTIME_CLOSE = {
  unauthenticated: 4401,
  sessionRevoked: 4403,
  slowConsumer: 4408,
  shuttingDown: 1001,
  /** The client sent more messages than a socket may (a policy violation). */
  tooManyMessages: 1008,
} as const;

/** `data` of a notifications-channel event: one notice for the user, and its subject. */
export interface NotificationData {
  kind: 'low_stock' | 'order_status' | 'refund_pending' | 'payment_failed' | 'payment_disputed';
  message: string;
  order_id?: string;
  product_id?: string;
  payment_id?: string;
  refund_id?: string;
  dispute_id?: string;
}

/**
 * `data` of a dashboard-channel event: today's figures after the event (the tenant's local day),
 * revenue per currency as captured money; the analytics TodayMetrics, which carries more fields.
 */
export interface DashboardData {
  date: string;
  orders: number;
  revenue: { currency: string; amount: number }[];
}
