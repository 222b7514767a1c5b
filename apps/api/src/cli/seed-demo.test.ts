import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../test/support/app';
import { login } from '../../test/support/auth';
import { serviceAvailable } from '../../test/support/services';
import { withTenant } from '../platform/db/tenant';
import { seedDemo } from './seed-demo';

const postgresUp = await serviceAvailable('postgres');

const HOUR_MS = 3_600_000;

describe.runIf(postgresUp)('seed-demo', () => {
  let testApp: TestApp;

  beforeAll(async () => {
    testApp = await createTestApp();
  });

  afterAll(async () => {
    await testApp?.close();
  });

  it("dates every dashboard figure of a seeded history in its order's day", async () => {
    const email = 'demo@seed.test';
    const password = 'demo shop password';
    const seededFrom = Date.now();
    const { tenantId } = await seedDemo(testApp.platform, testApp.modules, {
      email,
      password,
      days: 3,
      ordersPerDay: 4,
    });
    // The worker publishes the history afterwards: whatever its consumers derive then is dated now.
    await testApp.flushEvents();
    await testApp.flushEvents();

    // Day 0's orders are placed in the 10 hours before the seed, day 1's 24 hours before those.
    const from = new Date(seededFrom - 12 * HOUR_MS);
    const { orders, lines, payments } = await withTenant(testApp.platform.db, tenantId, async (tx) => ({
      orders: (await sql<{ total: string }>`select total from orders where created_at >= ${from}`.execute(tx))
        .rows,
      lines: (
        await sql<{ product_id: string; name: string; quantity: number; revenue: string }>`
          select l.product_id, l.name, sum(l.quantity)::int as quantity, sum(l.line_total) as revenue
          from order_lines l join orders o on o.id = l.order_id
          where o.created_at >= ${from}
          group by l.product_id, l.name`.execute(tx)
      ).rows,
      payments: (
        await sql<{ amount: string }>`
          select amount_captured as amount from payments where created_at >= ${from}`.execute(tx)
      ).rows,
    }));
    expect(orders).toHaveLength(4);
    const revenue = payments.reduce((sum, payment) => sum + Number(payment.amount), 0);

    const owner = await login(testApp, email, password);
    // Up to an hour ahead: what was dated now, rather than in its order's day, would count here.
    const to = new Date(Date.now() + HOUR_MS);
    const response = await testApp.app.inject({
      method: 'GET',
      url: `/api/analytics/dashboard?from=${from.toISOString()}&to=${to.toISOString()}&interval=hour`,
      headers: owner.auth,
    });
    expect(response.statusCode).toBe(200);
    const dashboard = response.json<{
      series: { revenue: number; orders: number }[];
      top_products: { product_id: string; name: string; quantity: number; revenue: number }[];
    }>();
    expect(dashboard).toMatchObject({
      currency: 'EUR',
      orders: 4,
      revenue,
      items_sold: lines.reduce((sum, line) => sum + line.quantity, 0),
      payment_mix: [{ gateway: 'manual', count: 4, amount: revenue }],
    });
    expect(revenue).toBe(orders.reduce((sum, order) => sum + Number(order.total), 0));
    expect([...dashboard.top_products].sort((a, b) => a.product_id.localeCompare(b.product_id))).toEqual(
      lines
        .map((line) => ({ ...line, revenue: Number(line.revenue) }))
        .sort((a, b) => a.product_id.localeCompare(b.product_id)),
    );
    const series = dashboard.series.reduce(
      (sum, point) => ({ revenue: sum.revenue + point.revenue, orders: sum.orders + point.orders }),
      { revenue: 0, orders: 0 },
    );
    expect(series).toEqual({ revenue, orders: 4 });

    // The worker, delivering the payments later, moved no order a second time.
    const moves = await withTenant(testApp.platform.db, tenantId, (tx) =>
      tx.selectFrom('order_status_history').select('to_status').where('to_status', '=', 'paid').execute(),
    );
    expect(moves).toHaveLength(12);
  }, 60_000);
});
