import { EVENT_TYPES, type EventType } from '@tessera/contracts';
import type { Consumer } from '../../platform/events/bus';
import type { AnalyticsService } from './service';

/** The event types that move the dashboard's rollups, the recommendations and the stock snapshot. */
export const METRIC_EVENT_TYPES: readonly EventType[] = [
  'commerce.order.created',
  'commerce.order.status_changed',
  'inventory.stock.updated',
  'payment.created',
  'payment.captured',
  'payment.completed',
  'payment.failed',
  'commerce.payment.processed',
  'refund.processed',
];

/**
 * Two consumer groups, so that each keeps its own pace and failures: the historical store takes
 * every event type of every stream; the metrics consumer only those that move a figure.
 */
export function analyticsConsumers(service: AnalyticsService): Consumer[] {
  return [
    {
      name: 'analytics-store',
      types: EVENT_TYPES,
      handle: (event, tx) => service.storeEvents(tx, [event]),
      handleBatch: (events, tx) => service.storeEvents(tx, events),
    },
    {
      name: 'analytics-metrics',
      types: METRIC_EVENT_TYPES,
      handle: (event, tx) => service.applyMetrics(tx, [event]),
      handleBatch: (events, tx) => service.applyMetrics(tx, events),
    },
  ];
}
