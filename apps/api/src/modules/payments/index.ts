import type { TypedEvent } from '@tessera/contracts';
import type { Consumer } from '../../platform/events/bus';
import { idempotency } from '../../platform/http/idempotency';
import type { Platform } from '../../platform/platform';
import type { ModuleInstance } from '../index';
import type { OrdersService } from '../orders';
import { paymentsRoutes } from './routes';
import { DisputesService } from './disputes';
import { paymentsRepository } from './repository';
import { PaymentsService } from './service';

export { PaymentsService, type Caller } from './service';
export type { Payment, PaymentDetail, Refund, PaymentMethod } from './schemas';

/**
 * A cancelled order gives back what it holds: its pending payments and open authorizations are
 * voided, and what it was paid anyway is refunded.
 */
export function cancelledOrderConsumer(payments: PaymentsService): Consumer {
  return {
    name: 'payments.order-cancelled',
    types: ['commerce.order.status_changed'],
    accepts: (event) => (event as TypedEvent<'commerce.order.status_changed'>).data.to === 'cancelled',
    async handle(event, tx) {
      const { data } = event as TypedEvent<'commerce.order.status_changed'>;
      await payments.releaseCancelledOrder(tx, event.tenant_id, data.order_id);
    },
  };
}

/**
 * The reconciler as a background job: settles unknown gateway outcomes, voids what cancelled orders
 * still hold, and polls payments pending at their gateway whose webhook is late, every `intervalMs`.
 * Returns the function that stops it, which waits for a pass in flight: the pass calls gateways,
 * and what they answer must still be recorded before the pools close. `PaymentsService.settleUnknown`
 * is the same work on demand.
 */
export function startPaymentsReconciler(
  platform: Platform,
  payments: PaymentsService,
  intervalMs = 30_000,
): () => Promise<void> {
  let running: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (running) return;
    running = Promise.all([payments.settleUnknown(), payments.voidAbandoned(), payments.pollPending()])
      .then(([settled, voided, polled]) => {
        if (settled) platform.logger.info({ settled }, 'payments reconciler settled unknown outcomes');
        if (polled)
          platform.logger.info(
            { polled },
            'payments reconciler moved pending payments and refunds by polling',
          );
        if (voided)
          platform.logger.info({ voided }, 'payments reconciler voided payments of cancelled orders');
      })
      .catch((error: unknown) => platform.logger.error({ err: error }, 'payments reconciler failed'))
      .finally(() => {
        running = null;
      });
  }, intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}

/** Payments: methods, payments and refunds across Stripe, Square, PayPal and cash; webhooks; reconciliation. */
export function createPaymentsModule(
  platform: Platform,
  deps: { orders: OrdersService },
): { module: ModuleInstance; service: PaymentsService } {
  const disputes = new DisputesService(platform.db, platform.logger);
  const service = new PaymentsService(
    platform.db,
    platform.config,
    platform.secrets,
    deps.orders,
    platform.logger,
    disputes,
  );
  // A cancel is refused while the order's payments hold captured money: refunds give it back.
  deps.orders.holdsMoney((tx, orderId) => paymentsRepository.capturedNotRefunded(tx, orderId));
  return {
    module: {
      name: 'payments',
      routes: paymentsRoutes(service, disputes, idempotency(platform.db)),
      consumers: [cancelledOrderConsumer(service)],
      startJobs: () => startPaymentsReconciler(platform, service),
    },
    service,
  };
}
