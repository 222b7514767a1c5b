import type {
  EventEnvelope,
  EventType,
  Gateway,
  NotificationData,
  Permission,
  RealtimeChannel,
  TypedEvent,
} from '@tessera/contracts';
import { formatMoney as money } from '../../platform/money';

/** The event types each replayable channel carries (the dashboard pushes figures, not events). */
export const CHANNEL_EVENT_TYPES: Record<Exclude<RealtimeChannel, 'dashboard'>, readonly EventType[]> = {
  orders: ['commerce.order.created', 'commerce.order.status_changed'],
  inventory: ['inventory.stock.updated'],
  notifications: [
    'inventory.stock.updated',
    'commerce.order.status_changed',
    'refund.created',
    'payment.failed',
    'payment.disputed',
  ],
};

/** Events that change today's dashboard figures. */
export const DASHBOARD_EVENT_TYPES: readonly EventType[] = [
  'commerce.order.created',
  'commerce.order.status_changed',
  'payment.completed',
  'payment.captured',
  'refund.processed',
];

/** Every event type the realtime module reads from the stream. */
export const REALTIME_EVENT_TYPES: readonly EventType[] = [
  ...new Set([...Object.values(CHANNEL_EVENT_TYPES).flat(), ...DASHBOARD_EVENT_TYPES]),
];

/** A notice for the notifications channel, and the permission a user needs to receive it. */
export interface Notification {
  data: NotificationData;
  permission: Permission;
}

const is = <T extends EventType>(event: EventEnvelope, type: T): event is TypedEvent<T> =>
  event.type === type;

const GATEWAY_NAMES: Record<Gateway, string> = {
  stripe: 'Stripe',
  square: 'Square',
  square_terminal: 'Square',
  paypal: 'PayPal',
  manual: 'the till',
};

/**
 * The notice an event makes, if any. Notifications are per user: each goes only to the users of
 * the event's tenant who hold the permission over its subject (who could act on it).
 */
export function notificationOf(event: EventEnvelope): Notification | null {
  if (is(event, 'inventory.stock.updated')) {
    const { data } = event;
    const availableFell = data.delta_on_hand - data.delta_reserved < 0 || data.reason === 'set';
    if (!data.low_stock || !availableFell) return null;
    return {
      permission: 'read:inventory',
      data: {
        kind: 'low_stock',
        message: `${data.sku} is low on stock: ${data.available} available (threshold ${data.low_stock_threshold})`,
        product_id: data.product_id,
      },
    };
  }
  if (is(event, 'commerce.order.status_changed')) {
    return {
      permission: 'read:orders',
      data: {
        kind: 'order_status',
        message: `Order #${event.data.number} is now ${event.data.to}`,
        order_id: event.data.order_id,
      },
    };
  }
  if (is(event, 'refund.created')) {
    if (event.data.status !== 'pending') return null;
    return {
      permission: 'write:refunds',
      data: {
        kind: 'refund_pending',
        message: `A refund of ${money(event.data.amount, event.data.currency)} awaits approval`,
        refund_id: event.data.refund_id,
        payment_id: event.data.payment_id,
        order_id: event.data.order_id,
      },
    };
  }
  if (is(event, 'payment.failed')) {
    const reason = event.data.failure_message ?? event.data.failure_code ?? 'declined';
    return {
      permission: 'read:payments',
      data: {
        kind: 'payment_failed',
        message: `A payment of ${money(event.data.amount, event.data.currency)} failed: ${reason}`,
        payment_id: event.data.payment_id,
        order_id: event.data.order_id,
      },
    };
  }
  if (is(event, 'payment.disputed')) {
    const { data } = event;
    const amount = money(data.amount, data.currency);
    const gateway = GATEWAY_NAMES[data.gateway];
    // Gateways' reason codes (`product_not_received`, `NOT_RECEIVED`) in words.
    const reason = data.reason?.toLowerCase().replace(/_/g, ' ');
    const message =
      data.status === 'needs_response'
        ? `A payment of ${amount} is disputed${reason ? ` (${reason})` : ''}: answer it in ${gateway}`
        : data.status === 'won' || data.status === 'lost'
          ? `A dispute of ${amount} was ${data.status}`
          : null;
    if (!message) return null;
    return {
      permission: 'read:payments',
      data: {
        kind: 'payment_disputed',
        message,
        dispute_id: data.dispute_id,
        payment_id: data.payment_id,
        order_id: data.order_id,
      },
    };
  }
  return null;
}

/** Whether a replayable channel carries this event (notifications: when it makes a notice). */
export function carries(channel: Exclude<RealtimeChannel, 'dashboard'>, event: EventEnvelope): boolean {
  if (!CHANNEL_EVENT_TYPES[channel].includes(event.type)) return false;
  return channel !== 'notifications' || notificationOf(event) !== null;
}
