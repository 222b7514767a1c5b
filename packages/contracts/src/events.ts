/**
 * The domain event envelope and the catalogue of event types (architecture.md, "Events").
 * Every event belongs to one stream, `events:<domain>`, chosen by its type.
 */
export const EVENT_STREAMS = {
  'auth.user.created': 'auth',
  'auth.user.login': 'auth',
  'commerce.order.created': 'commerce',
  'commerce.order.status_changed': 'commerce',
  'inventory.stock.updated': 'inventory',
  'payment.created': 'payment',
  'payment.captured': 'payment',
  'payment.completed': 'payment',
  'payment.failed': 'payment',
  'refund.created': 'payment',
  'refund.processed': 'payment',
  'payment.disputed': 'payment',
  'commerce.payment.processed': 'payment',
  'analytics.event.tracked': 'analytics',
} as const;

export type EventType = keyof typeof EVENT_STREAMS;
export type EventDomain = (typeof EVENT_STREAMS)[EventType];

export const EVENT_DOMAINS: readonly EventDomain[] = [
  'auth',
  'commerce',
  'inventory',
  'payment',
  'analytics',
];

export const EVENT_TYPES = Object.keys(EVENT_STREAMS) as EventType[];

export function streamOf(type: EventType): `events:${EventDomain}` {
  return `events:${EVENT_STREAMS[type]}`;
}

export function isEventType(value: string): value is EventType {
  return Object.hasOwn(EVENT_STREAMS, value);
}

export interface EventActor {
  type: 'user' | 'system';
  id: string | null;
}

export interface EventEnvelope<T extends EventType = EventType, D = unknown> {
  /** UUID v7: unique, and ordered by time of creation. */
  id: string;
  type: T;
  tenant_id: string;
  /** ISO 8601 UTC. */
  occurred_at: string;
  /** Version of `data`'s shape for this type; raised on breaking changes. */
  version: number;
  actor: EventActor;
  data: D;
}
