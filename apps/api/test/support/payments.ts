import { uuidv7, type PaymentEventData } from '@tessera/contracts';
import { withTenant } from '../../src/platform/db/tenant';
import { addEvents, SYSTEM_ACTOR } from '../../src/platform/events/outbox';
import type { TestApp } from './app';

/**
 * Pays an order as the payments module tells orders about money, through its event, and delivers
 * it: for tests of other modules that need a paid order without taking a payment.
 */
export async function markPaid(
  testApp: TestApp,
  tenantId: string,
  orderId: string,
  amount: number,
): Promise<PaymentEventData> {
  const data: PaymentEventData = {
    payment_id: uuidv7(),
    order_id: orderId,
    gateway: 'manual',
    status: 'completed',
    amount,
    amount_captured: amount,
    amount_refunded: 0,
    currency: 'EUR',
    failure_code: null,
    failure_message: null,
  };
  await withTenant(testApp.platform.db, tenantId, (tx) =>
    addEvents(tx, [{ type: 'commerce.payment.processed', tenantId, actor: SYSTEM_ACTOR, data }]),
  );
  await testApp.flushEvents();
  return data;
}
