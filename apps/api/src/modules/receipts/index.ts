import type { TypedEvent } from '@tessera/contracts';
import type { Consumer } from '../../platform/events/bus';
import type { Mailer } from '../../platform/mail';
import type { Platform } from '../../platform/platform';
import type { ModuleInstance } from '../index';
import type { OrdersService } from '../orders';
import type { TenantService } from '../tenants';
import { receiptRoutes } from './routes';
import { ReceiptsService } from './service';

export { ReceiptsService } from './service';

/** An order that becomes paid mails its receipt to the customer it names. */
export function receiptOnPaymentConsumer(receipts: ReceiptsService): Consumer {
  return {
    name: 'receipts.order-paid',
    types: ['commerce.order.status_changed'],
    accepts: (event) => (event as TypedEvent<'commerce.order.status_changed'>).data.to === 'paid',
    async handle(event, tx) {
      const { data } = event as TypedEvent<'commerce.order.status_changed'>;
      await receipts.sendOnPayment(tx, event.tenant_id, data.order_id);
    },
  };
}

/** Receipts: mailed when an order is paid, and again on request. */
export function createReceiptsModule(
  platform: Platform,
  deps: { orders: OrdersService; tenants: TenantService; mailer: Mailer },
): ModuleInstance {
  const service = new ReceiptsService(platform.db, deps.orders, deps.tenants, deps.mailer, platform.logger);
  return {
    name: 'receipts',
    routes: receiptRoutes(service),
    consumers: [receiptOnPaymentConsumer(service)],
  };
}
