import { uuidv7 } from '@tessera/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryPGlite, type Database } from '../../platform/db/database';
import { migrate } from '../../platform/db/migrate';
import { tenantReader } from '../../platform/db/tenant';
import { applyOnce } from '../../platform/events/delivery';
import { analyticsConsumers } from './consumers';
import { AnalyticsService } from './service';
import { envelopeAt, insertTenant } from './testing';

/** The embedded default: the same store, rollups and export on PGlite. */
describe('analytics on PGlite', () => {
  let database: Database;
  const service = new AnalyticsService();

  beforeAll(async () => {
    database = await createMemoryPGlite();
    await migrate(database);
  });

  afterAll(async () => {
    await database?.close();
  });

  it('stores events once in month partitions, rolls them up and exports them', async () => {
    const tenantId = await insertTenant(database.db, 'Asia/Kolkata');
    const productId = uuidv7();
    const orderId = uuidv7();
    const events = [
      envelopeAt(tenantId, 'commerce.order.created', new Date('2026-04-30T23:50:00.000Z'), {
        order_id: orderId,
        number: 1,
        status: 'pending',
        payment_status: 'unpaid',
        currency: 'INR',
        subtotal: 90_000,
        total: 90_000,
        customer_email: null,
        lines: [
          {
            product_id: productId,
            sku: 'TEA',
            name: 'Tea',
            quantity: 3,
            unit_price: 30_000,
            line_total: 90_000,
          },
        ],
      }),
      envelopeAt(tenantId, 'commerce.payment.processed', new Date('2026-05-01T00:10:00.000Z'), {
        payment_id: uuidv7(),
        order_id: orderId,
        gateway: 'manual',
        status: 'completed',
        amount: 90_000,
        amount_captured: 90_000,
        amount_refunded: 0,
        currency: 'INR',
        failure_code: null,
        failure_message: null,
      }),
      envelopeAt(tenantId, 'commerce.order.status_changed', new Date('2026-05-01T00:11:00.000Z'), {
        order_id: orderId,
        number: 1,
        from: 'pending',
        to: 'paid',
        payment_status: 'paid',
        total: 90_000,
        currency: 'INR',
      }),
    ];
    for (const consumer of analyticsConsumers(service))
      for (const event of [...events, ...events]) await applyOnce(database.db, consumer, event);

    const dashboard = await service.dashboard(tenantReader(database.db, tenantId), {
      from: '2026-04-30T00:00:00Z',
      to: '2026-05-02T00:00:00Z',
      interval: 'day',
    });
    expect(dashboard).toMatchObject({
      currency: 'INR',
      time_zone: 'Asia/Kolkata',
      orders: 1,
      revenue: 90_000,
      items_sold: 3,
      top_products: [{ product_id: productId, name: 'Tea', quantity: 3, revenue: 90_000 }],
    });
    // All three fall on 1 May in India (UTC+5:30).
    expect(dashboard.series.filter((point) => point.orders > 0 || point.revenue > 0)).toEqual([
      { bucket: '2026-04-30T18:30:00.000Z', orders: 1, revenue: 90_000 },
    ]);

    const lines: string[] = [];
    for await (const chunk of service.exportLines(database.db, tenantId, {})) lines.push(chunk);
    const rows = lines
      .join('')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { id: string });
    expect(rows.map((row) => row.id)).toEqual(events.map((event) => event.id));
  });
});
