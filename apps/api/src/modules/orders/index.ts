import type { EventEnvelope, PaymentEventData } from '@tessera/contracts';
import type { Consumer } from '../../platform/events/bus';
import { idempotency } from '../../platform/http/idempotency';
import type { Platform } from '../../platform/platform';
import type { CatalogService } from '../catalog';
import type { InventoryService } from '../inventory';
import type { ModuleInstance } from '../index';
import { ordersRoutes } from './routes';
import { OrdersService } from './service';

export { OrdersService, paymentStatusOf, type HeldMoney, type OrderForPayment } from './service';
export type { Order, StatusChange } from './schemas';

/** Keeps each order's money and status in step with its payments. */
export function paymentStateConsumer(orders: OrdersService): Consumer {
  return {
    name: 'orders.payment-state',
    types: ['commerce.payment.processed'],
    handle: (event, tx) =>
      orders.applyPaymentEvent(tx, event as EventEnvelope<'commerce.payment.processed', PaymentEventData>),
  };
}

/** Orders: placing them (with stock reservation), their status machine and history, their payment state. */
export function createOrdersModule(
  platform: Platform,
  deps: { catalog: CatalogService; inventory: InventoryService },
): { module: ModuleInstance; service: OrdersService } {
  const service = new OrdersService(deps.catalog, deps.inventory);
  return {
    module: {
      name: 'orders',
      routes: ordersRoutes(platform.db, service, idempotency(platform.db)),
      consumers: [paymentStateConsumer(service)],
    },
    service,
  };
}
