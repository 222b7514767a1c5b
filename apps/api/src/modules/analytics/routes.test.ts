import { uuidv7 } from '@tessera/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/support/app';
import { addMember, registerTenant, type TestTenant, type TestUser } from '../../../test/support/auth';
import { serviceAvailable } from '../../../test/support/services';
import { withSystem, withTenant } from '../../platform/db/tenant';
import { addEvents, SYSTEM_ACTOR } from '../../platform/events/outbox';

const postgresUp = await serviceAvailable('postgres');

describe.runIf(postgresUp)('analytics routes', () => {
  let testApp: TestApp;
  let shopA: TestTenant;
  let shopB: TestTenant;
  let staffA: TestUser;
  let productId: string;
  let orderId: string;

  const get = (url: string, who: { auth: Record<string, string> }) =>
    testApp.app.inject({ method: 'GET', url, headers: who.auth });

  beforeAll(async () => {
    testApp = await createTestApp();
    shopA = await registerTenant(testApp);
    shopB = await registerTenant(testApp);
    staffA = await addMember(testApp, shopA, ['staff']);

    const product = await testApp.app.inject({
      method: 'POST',
      url: '/commerce/products',
      headers: shopA.auth,
      payload: { sku: 'MUG-1', name: 'Blue mug', price: 1_250, currency: 'EUR' },
    });
    expect(product.statusCode).toBe(201);
    productId = product.json<{ id: string }>().id;
    const stock = await testApp.app.inject({
      method: 'PUT',
      url: `/commerce/inventory/${productId}`,
      headers: shopA.auth,
      payload: { on_hand: 5, low_stock_threshold: 4 },
    });
    expect(stock.statusCode).toBe(200);
    const order = await testApp.app.inject({
      method: 'POST',
      url: '/commerce/orders',
      headers: shopA.auth,
      payload: { lines: [{ product_id: productId, quantity: 2 }] },
    });
    expect(order.statusCode).toBe(201);
    orderId = order.json<{ id: string }>().id;
    await testApp.flushEvents();
    // The payment module's final event for the order: orders marks it paid, analytics counts it.
    await withTenant(testApp.platform.db, shopA.tenant.id, (tx) =>
      addEvents(tx, [
        {
          type: 'commerce.payment.processed',
          tenantId: shopA.tenant.id,
          actor: SYSTEM_ACTOR,
          data: {
            payment_id: uuidv7(),
            order_id: orderId,
            gateway: 'manual',
            status: 'completed',
            amount: 2_500,
            amount_captured: 2_500,
            amount_refunded: 0,
            currency: 'EUR',
            failure_code: null,
            failure_message: null,
          },
        },
      ]),
    );
    await testApp.flushEvents();
    await testApp.flushEvents();
  });

  afterAll(async () => {
    await testApp?.close();
  });

  it('needs a token, and read:analytics to read', async () => {
    for (const url of ['/api/analytics/dashboard', '/api/analytics/events', '/api/analytics/export']) {
      expect((await testApp.app.inject({ method: 'GET', url })).statusCode).toBe(401);
      const refused = await get(url, staffA);
      expect(refused.statusCode).toBe(403);
      expect(refused.json()).toMatchObject({ code: 'forbidden' });
    }
    expect((await get('/api/analytics/dashboard', shopA)).statusCode).toBe(200);
  });

  it('serves the dashboard from what real orders and payments raised', async () => {
    const response = await get('/api/analytics/dashboard?interval=hour', shopA);
    expect(response.statusCode).toBe(200);
    const dashboard = response.json<Record<string, unknown>>();
    expect(dashboard).toMatchObject({
      currency: 'EUR',
      time_zone: 'UTC',
      orders: 1,
      revenue: 2_500,
      average_order_value: 2_500,
      items_sold: 2,
      refunded: 0,
      top_products: [{ product_id: productId, name: 'Blue mug', quantity: 2, revenue: 2_500 }],
      payment_mix: [{ gateway: 'manual', count: 1, amount: 2_500 }],
    });
    // 5 on hand, 2 reserved by the order: 3 available, under the threshold of 4.
    expect(dashboard.low_stock).toEqual([
      expect.objectContaining({ product_id: productId, sku: 'MUG-1', available: 3, low_stock_threshold: 4 }),
    ]);
    expect((dashboard.series as unknown[]).length).toBeGreaterThanOrEqual(24 * 30);

    const other = (await get('/api/analytics/dashboard', shopB)).json<Record<string, unknown>>();
    expect(other).toMatchObject({ currency: null, orders: 0, revenue: 0, top_products: [], low_stock: [] });
  });

  it('leaves cancelled orders out of orders and the average, and names every currency sold in', async () => {
    const shop = await registerTenant(testApp);
    const post = (url: string, payload: object) =>
      testApp.app.inject({ method: 'POST', url, headers: shop.auth, payload });
    const placeOrder = async (sku: string, price: number, currency: string, quantity: number) => {
      const product = await post('/commerce/products', { sku, name: sku, price, currency });
      expect(product.statusCode, product.body).toBe(201);
      const productId = product.json<{ id: string }>().id;
      const stock = await testApp.app.inject({
        method: 'PUT',
        url: `/commerce/inventory/${productId}`,
        headers: shop.auth,
        payload: { on_hand: 10 },
      });
      expect(stock.statusCode, stock.body).toBe(200);
      const order = await post('/commerce/orders', { lines: [{ product_id: productId, quantity }] });
      expect(order.statusCode, order.body).toBe(201);
      return order.json<{ id: string }>().id;
    };
    await placeOrder('EUR-KEPT', 1_250, 'EUR', 1);
    const cancelled = await placeOrder('EUR-CANCELLED', 1_000, 'EUR', 2);
    await placeOrder('USD-KEPT', 800, 'USD', 1);
    const cancel = await post(`/commerce/orders/${cancelled}/cancel`, {});
    expect(cancel.statusCode, cancel.body).toBe(200);
    await testApp.flushEvents();
    await testApp.flushEvents();

    const figures = async (query: string) => {
      const response = await get(`/api/analytics/dashboard?${query}`, shop);
      expect(response.statusCode, response.body).toBe(200);
      return response.json<Record<string, unknown>>();
    };
    // EUR has most orders placed, the cancelled one included: it is the default currency.
    expect(await figures('interval=hour')).toMatchObject({
      currency: 'EUR',
      currencies: ['EUR', 'USD'],
      orders: 1,
      average_order_value: 1_250,
    });
    expect(await figures('currency=USD')).toMatchObject({
      currency: 'USD',
      currencies: ['EUR', 'USD'],
      orders: 1,
      average_order_value: 800,
    });
  });

  it('refuses a bad dashboard query with validation_failed', async () => {
    for (const query of [
      'interval=week',
      'currency=eur',
      'from=yesterday',
      'from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z',
      'interval=hour&from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z',
    ]) {
      const response = await get(`/api/analytics/dashboard?${query}`, shopA);
      expect(response.statusCode, query).toBe(400);
      expect(response.headers['content-type']).toContain('application/problem+json');
      expect(response.json()).toMatchObject({ code: 'validation_failed' });
    }
  });

  it('refuses a range outside the years 1970 to 9999, naming the field, rather than failing', async () => {
    for (const [query, path] of [
      // Rounds up to year 10000.
      ['currency=EUR&from=9999-12-30T00:00:00Z&to=9999-12-31T23:59:59Z', 'to'],
      ['currency=EUR&interval=hour&from=9999-12-31T00:00:00Z&to=9999-12-31T23:45:00.001Z', 'to'],
      // Year 0, which PostgreSQL does not have, and others before 1970.
      ['currency=EUR&from=0000-01-01T00:00:00Z&to=0000-01-02T00:00:00Z', 'from'],
      ['currency=EUR&to=0000-01-02T00:00:00Z', 'to'],
      ['from=1969-12-31T23:59:59Z&to=1970-01-02T00:00:00Z', 'from'],
    ]) {
      const response = await get(`/api/analytics/dashboard?${query}`, shopA);
      expect(response.statusCode, query).toBe(400);
      expect(response.headers['content-type']).toContain('application/problem+json');
      expect(response.json(), query).toMatchObject({ code: 'validation_failed', errors: [{ path }] });
    }
    const last = await get(
      '/api/analytics/dashboard?currency=EUR&interval=hour&from=9999-12-31T00:00:00Z&to=9999-12-31T23:45:00Z',
      shopA,
    );
    expect(last.statusCode, last.body).toBe(200);
    expect(last.json()).toMatchObject({ to: '9999-12-31T23:45:00.000Z', orders: 0 });
  });

  it('counts in UTC, rather than failing, for a tenant holding a zone PostgreSQL does not know', async () => {
    const shop = await registerTenant(testApp);
    // Saved before settings checked zones against PostgreSQL: Node's ICU knows it, PostgreSQL not.
    await withSystem(testApp.platform.db, (tx) =>
      tx
        .updateTable('tenants')
        .set({ time_zone: 'US/Pacific-New' })
        .where('id', '=', shop.tenant.id)
        .execute(),
    );
    for (const interval of ['hour', 'day']) {
      const response = await get(`/api/analytics/dashboard?currency=EUR&interval=${interval}`, shop);
      expect(response.statusCode, response.body).toBe(200);
      expect(response.json()).toMatchObject({ time_zone: 'UTC', currency: 'EUR', orders: 0 });
    }
  });

  it('tracks client events, alone or in a bounded batch, into the store of the caller tenant only', async () => {
    const single = await testApp.app.inject({
      method: 'POST',
      url: '/api/analytics/events',
      headers: staffA.auth,
      payload: { name: 'product_viewed', properties: { product_id: productId }, anonymous_id: 'anon-1' },
    });
    expect(single.statusCode).toBe(202);
    expect(single.json()).toMatchObject({ accepted: 1 });
    const batch = await testApp.app.inject({
      method: 'POST',
      url: '/api/analytics/events',
      headers: shopA.auth,
      payload: {
        events: [
          { name: 'cart_opened' },
          { name: 'checkout_started', occurred_at: '2026-01-01T10:00:00.000Z', properties: { step: 1 } },
        ],
      },
    });
    expect(batch.statusCode).toBe(202);
    expect(batch.json<{ event_ids: string[] }>().event_ids).toHaveLength(2);

    for (const payload of [
      { events: Array.from({ length: 101 }, () => ({ name: 'too_many' })) },
      { events: [] },
      { name: 'has spaces' },
      { name: 'ok', extra: true },
      { name: 'ok', occurred_at: new Date(Date.now() + 3_600_000).toISOString() },
      // The store has no year 0: accepted, it would fail the consumer into a dead letter.
      { name: 'ok', occurred_at: '0000-01-01T00:00:00Z' },
      { name: 'ok', occurred_at: '1969-12-31T23:59:59Z' },
      { name: 'ok', properties: { blob: 'x'.repeat(20_000) } },
    ]) {
      const refused = await testApp.app.inject({
        method: 'POST',
        url: '/api/analytics/events',
        headers: shopA.auth,
        payload,
      });
      expect(refused.statusCode, JSON.stringify(payload).slice(0, 60)).toBe(400);
      expect(refused.json()).toMatchObject({ code: 'validation_failed' });
    }

    await testApp.flushEvents();
    const listed = await get('/api/analytics/events?type=analytics.event.tracked', shopA);
    expect(listed.statusCode).toBe(200);
    const events = listed.json<{ data: { data: Record<string, unknown>; actor: { id: string } }[] }>().data;
    expect(events.map((event) => event.data.name).sort()).toEqual([
      'cart_opened',
      'checkout_started',
      'product_viewed',
    ]);
    const viewed = events.find((event) => event.data.name === 'product_viewed')!;
    expect(viewed.data).toMatchObject({
      properties: { product_id: productId },
      anonymous_id: 'anon-1',
      user_id: staffA.user.id,
    });
    expect(events.find((event) => event.data.name === 'checkout_started')!.data.occurred_at).toBe(
      '2026-01-01T10:00:00.000Z',
    );
    const otherShop = await get('/api/analytics/events?type=analytics.event.tracked', shopB);
    expect(otherShop.json<{ data: unknown[] }>().data).toEqual([]);
  });

  it("limits a tenant's tracked events per event, not per request", async () => {
    const limited = await createTestApp({ env: { RATE_LIMIT_TRACKED_EVENTS_PER_MINUTE: '150' } });
    try {
      const shop = await registerTenant(limited);
      const other = await registerTenant(limited);
      const track = (who: TestTenant, count: number) =>
        limited.app.inject({
          method: 'POST',
          url: '/api/analytics/events',
          headers: who.auth,
          payload: { events: Array.from({ length: count }, (_, i) => ({ name: `viewed_${i}` })) },
        });
      expect((await track(shop, 100)).statusCode).toBe(202);
      const refused = await track(shop, 100);
      expect(refused.statusCode).toBe(429);
      expect(refused.json()).toMatchObject({ code: 'rate_limited' });
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      // Refused whole, it spent nothing: what is left still takes a smaller batch.
      expect((await track(shop, 50)).statusCode).toBe(202);
      expect((await track(shop, 10)).statusCode).toBe(429);
      // Another tenant has its own allowance.
      expect((await track(other, 100)).statusCode).toBe(202);
    } finally {
      await limited.close();
    }
  });

  it('lists the historical store newest first with keyset pages, filtered by type and time', async () => {
    const all: { id: string; type: string; occurred_at: string }[] = [];
    let cursor: string | null = null;
    do {
      const page = await get(`/api/analytics/events?limit=2${cursor ? `&cursor=${cursor}` : ''}`, shopA);
      expect(page.statusCode).toBe(200);
      const body = page.json<{ data: typeof all; next_cursor: string | null }>();
      expect(body.data.length).toBeLessThanOrEqual(2);
      all.push(...body.data);
      cursor = body.next_cursor;
    } while (cursor);
    expect(new Set(all.map((event) => event.id)).size).toBe(all.length);
    const types = new Set(all.map((event) => event.type));
    for (const type of [
      'auth.user.created',
      'commerce.order.created',
      'commerce.order.status_changed',
      'inventory.stock.updated',
    ])
      expect(types.has(type), type).toBe(true);
    const times = all.map((event) => `${event.occurred_at} ${event.id}`);
    expect([...times].sort().reverse()).toEqual(times);

    const created = await get('/api/analytics/events?type=commerce.order.created', shopA);
    expect(created.json<{ data: { data: { order_id: string } }[] }>().data).toEqual([
      expect.objectContaining({ data: expect.objectContaining({ order_id: orderId }) }),
    ]);
    const future = await get('/api/analytics/events?from=2099-01-01T00:00:00Z', shopA);
    expect(future.json<{ data: unknown[] }>().data).toEqual([]);
    expect((await get('/api/analytics/events?cursor=not-a-cursor', shopA)).statusCode).toBe(400);
    expect((await get('/api/analytics/events?type=no.such.type', shopA)).statusCode).toBe(400);
    const otherShop = await get('/api/analytics/events?type=commerce.order.created', shopB);
    expect(otherShop.json<{ data: unknown[] }>().data).toEqual([]);
  });

  it('refuses a forged events cursor with validation_failed on cursor, whatever its position holds', async () => {
    const id = '0190a000-0000-7000-8000-000000000000';
    const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    for (const forged of [
      { occurred_at: 'garbage', id },
      { occurred_at: '2026-13-45T00:00:00.000000Z', id },
      { occurred_at: '2026-02-30T00:00:00.000000Z', id },
      { occurred_at: '2026-01-01T24:00:00.000000Z', id },
      { occurred_at: '0000-01-01T00:00:00.000000Z', id },
      { occurred_at: '2026-01-01T00:00:00.000000+01:00', id },
      { occurred_at: '2026-01-01T00:00:00.000000Z', id: 'not-a-uuid' },
      { occurred_at: 17, id },
      { id },
    ]) {
      const response = await get(`/api/analytics/events?cursor=${cursor(forged)}`, shopA);
      expect(response.statusCode, JSON.stringify(forged)).toBe(400);
      expect(response.headers['content-type']).toContain('application/problem+json');
      expect(response.json()).toMatchObject({
        code: 'validation_failed',
        errors: [{ path: 'cursor', message: 'is not valid' }],
      });
    }
    // A position of the shape the list issues is taken, even one no row holds.
    const real = await get(
      `/api/analytics/events?cursor=${cursor({ occurred_at: '2026-02-28T23:59:59.123456Z', id })}`,
      shopA,
    );
    expect(real.statusCode, real.body).toBe(200);
  });

  it("exports the caller tenant's store as NDJSON warehouse rows", async () => {
    const response = await get('/api/analytics/export', shopA);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('application/x-ndjson');
    const rows = response.body
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(rows.length).toBeGreaterThan(3);
    for (const row of rows) {
      expect(Object.keys(row).sort()).toEqual(
        [
          'actor_id',
          'actor_type',
          'data',
          'id',
          'occurred_at',
          'stored_at',
          'stream',
          'tenant_id',
          'type',
          'version',
        ].sort(),
      );
      expect(row.tenant_id).toBe(shopA.tenant.id);
    }
    const bad = await get('/api/analytics/export?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z', shopA);
    expect(bad.statusCode).toBe(400);
  });

  it("recommends from the tenant's paid orders, never another tenant's product", async () => {
    const popular = await get('/api/analytics/recommendations', shopA);
    expect(popular.statusCode).toBe(200);
    expect(popular.json()).toEqual({
      strategy: 'popular',
      items: [{ product_id: productId, sku: 'MUG-1', name: 'Blue mug', score: 1 }],
    });
    // The product itself is never recommended, so nothing is left.
    expect((await get(`/api/analytics/recommendations?product_id=${productId}`, shopA)).json()).toEqual({
      strategy: 'popular',
      items: [],
    });
    const foreign = await get(`/api/analytics/recommendations?product_id=${productId}`, shopB);
    expect(foreign.statusCode).toBe(404);
    expect((await get('/api/analytics/recommendations', shopB)).json()).toEqual({
      strategy: 'popular',
      items: [],
    });
  });
});
