import type { EventEnvelope, PaymentEventData } from '@tessera/contracts';
import { sql } from 'kysely';
import type { Modules } from '../modules';
import { withTenant, type Tx } from '../platform/db/tenant';
import { SYSTEM_ACTOR } from '../platform/events/outbox';
import type { Platform } from '../platform/platform';

const DEMO_PRODUCTS: [sku: string, name: string, price: number][] = [
  ['ESP-250', 'Espresso beans 250 g', 1290],
  ['FLT-250', 'Filter roast 250 g', 1150],
  ['DEC-250', 'Decaf 250 g', 1190],
  ['MUG-CER', 'Ceramic mug', 1800],
  ['CUP-TRV', 'Travel cup', 2400],
  ['GRD-HND', 'Hand grinder', 6900],
  ['FLT-PAP', 'Paper filters (100)', 490],
  ['KTL-GOS', 'Gooseneck kettle', 5400],
  ['SCL-DIG', 'Digital scale', 3200],
  ['TEA-GRN', 'Green tea 100 g', 890],
  ['TEA-BLK', 'Black tea 100 g', 790],
  ['CHC-BAR', 'Chocolate bar', 350],
];

/**
 * Marks the order paid as the worker would on publishing its payment (orders' payment-state
 * consumer), so that the move and its event exist to be dated back with the rest: analytics counts
 * a sale's items and products when the order became paid. The worker later finds it applied.
 */
async function applyPayment(tx: Tx, orders: Modules['services']['orders'], paymentId: string): Promise<void> {
  const events = await tx
    .selectFrom('outbox_events')
    .select('payload')
    .where('type', '=', 'commerce.payment.processed')
    .where(sql`payload -> 'data' ->> 'payment_id'`, '=', paymentId)
    .execute();
  for (const { payload } of events)
    await orders.applyPaymentEvent(
      tx,
      payload as EventEnvelope<'commerce.payment.processed', PaymentEventData>,
    );
}

export interface SeedOptions {
  email: string;
  password: string;
  days: number;
  ordersPerDay: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * A demo tenant with products, stock, and `days` of orders paid in cash, through the same services
 * as the API. Each order, its payment, its move to paid and their events are then dated back to a
 * moment of its day, before the worker publishes them, so the dashboard shows a history.
 * Deterministic by seed.
 */
export async function seedDemo(
  platform: Platform,
  modules: Modules,
  options: SeedOptions,
): Promise<{ tenantId: string; orders: number }> {
  const { auth, catalog, inventory, orders, payments } = modules.services;
  const registered = await auth.register(
    {
      email: options.email,
      password: options.password,
      name: 'Demo Owner',
      tenant_name: 'Demo Coffee Roasters',
    },
    { ip: 'cli', userAgent: 'tessera seed-demo' },
  );
  const tenantId = registered.tenant.id;
  const who = { tenantId, actor: SYSTEM_ACTOR };
  const products = await withTenant(platform.db, tenantId, async (tx) => {
    const created = [];
    for (const [sku, name, price] of DEMO_PRODUCTS) {
      const product = await catalog.create(tx, tenantId, { sku, name, price, currency: 'EUR' });
      await inventory.set(tx, who, product.id, { on_hand: 100_000, low_stock_threshold: 25 });
      created.push(product);
    }
    return created;
  });

  let seed = 42;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const total = options.days * options.ordersPerDay;
  const now = Date.now();
  let done = 0;
  for (let day = options.days - 1; day >= 0; day--) {
    for (let n = 0; n < options.ordersPerDay; n++) {
      const lineCount = 1 + Math.floor(random() * 3);
      const picked = new Set<number>();
      while (picked.size < lineCount) picked.add(Math.floor(random() * products.length));
      const lines = [...picked].map((index) => ({
        product_id: products[index]!.id,
        quantity: 1 + Math.floor(random() * 3),
      }));
      const order = await withTenant(platform.db, tenantId, (tx) => orders.create(tx, who, { lines }));
      const payment = await payments.createPayment(
        { tenantId, userId: null },
        {
          order_id: order.id,
          amount: order.total,
          currency: 'EUR',
          gateway: 'manual',
          cash_tendered: order.total,
        },
      );
      await withTenant(platform.db, tenantId, (tx) => applyPayment(tx, orders, payment.id));
      const at = new Date(now - day * 86_400_000 - Math.floor(random() * 10 * 3_600_000));
      await withTenant(platform.db, tenantId, async (tx) => {
        await sql`update orders set created_at = ${at}, updated_at = ${at} where id = ${order.id}`.execute(
          tx,
        );
        await sql`update payments set created_at = ${at}, updated_at = ${at} where id = ${payment.id}`.execute(
          tx,
        );
        await sql`update order_status_history set created_at = ${at} where order_id = ${order.id}`.execute(
          tx,
        );
        await sql`
          update outbox_events
          set created_at = ${at}, payload = jsonb_set(payload, '{occurred_at}', to_jsonb(${at.toISOString()}::text))
          where published_at is null and payload -> 'data' ->> 'order_id' = ${order.id}`.execute(tx);
      });
      options.onProgress?.(++done, total);
    }
  }
  return { tenantId, orders: total };
}
