import { uuidv7 } from '@tessera/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/support/app';
import { registerTenant, type TestTenant } from '../../../test/support/auth';
import { serviceAvailable } from '../../../test/support/services';
import { emitDated, type DatedEvent } from './testing';

const postgresUp = await serviceAvailable('postgres');

interface Product {
  id: string;
  sku: string;
  name: string;
}

describe.runIf(postgresUp)('recommendations', () => {
  let testApp: TestApp;
  let shop: TestTenant;
  let otherShop: TestTenant;
  const products: Record<string, Product> = {};
  let foreign: Record<string, Product> = {};

  const createProducts = async (who: TestTenant, letters: string[]) => {
    const made: Record<string, Product> = {};
    for (const letter of letters) {
      const response = await testApp.app.inject({
        method: 'POST',
        url: '/commerce/products',
        headers: who.auth,
        payload: { sku: `SKU-${letter}`, name: `Product ${letter}`, price: 1_000, currency: 'EUR' },
      });
      expect(response.statusCode).toBe(201);
      made[letter] = response.json<Product>();
    }
    return made;
  };

  let minute = 0;
  /** An order of the given products; paid unless told otherwise. */
  const order = (items: Product[], paid = true): DatedEvent[] => {
    const orderId = uuidv7();
    const at = () => new Date(Date.parse('2026-05-01T00:00:00Z') + minute++ * 60_000);
    const lines = items.map((product) => ({
      product_id: product.id,
      sku: product.sku,
      name: product.name,
      quantity: 1,
      unit_price: 1_000,
      line_total: 1_000,
    }));
    const total = lines.length * 1_000;
    const events: DatedEvent[] = [
      {
        type: 'commerce.order.created',
        at: at(),
        data: {
          order_id: orderId,
          number: minute,
          status: 'pending',
          payment_status: 'unpaid',
          currency: 'EUR',
          subtotal: total,
          total,
          customer_email: null,
          lines,
        },
      },
    ];
    if (paid)
      events.push({
        type: 'commerce.order.status_changed',
        at: at(),
        data: {
          order_id: orderId,
          number: minute,
          from: 'pending',
          to: 'paid',
          payment_status: 'paid',
          total,
          currency: 'EUR',
        },
      });
    return events;
  };
  const times = (n: number, events: () => DatedEvent[]) => Array.from({ length: n }, events).flat();

  const recommend = async (who: TestTenant, query: string) => {
    const response = await testApp.app.inject({
      method: 'GET',
      url: `/api/analytics/recommendations?${query}`,
      headers: who.auth,
    });
    expect(response.statusCode).toBe(200);
    return response.json<{
      strategy: string;
      items: { product_id: string; name: string; score: number }[];
    }>();
  };

  beforeAll(async () => {
    testApp = await createTestApp();
    shop = await registerTenant(testApp);
    otherShop = await registerTenant(testApp);
    Object.assign(products, await createProducts(shop, ['A', 'B', 'C', 'D', 'E', 'F', 'G']));
    foreign = await createProducts(otherShop, ['X', 'Y']);
    const { A, B, C, D, E, F } = products;
    await emitDated(testApp.platform.db, shop.tenant.id, [
      ...times(4, () => order([A!, B!])),
      // E is the best seller, bought with A as often as B is: it must not win on volume.
      ...times(4, () => order([A!, E!])),
      ...times(30, () => order([E!])),
      // C is bought with A most, but is archived below.
      ...times(5, () => order([A!, C!])),
      // Placed, never paid: no co-occurrence.
      ...times(6, () => order([A!, D!], false)),
      ...order([F!, B!]),
    ]);
    await emitDated(
      testApp.platform.db,
      otherShop.tenant.id,
      times(10, () => order([foreign.X!, foreign.Y!])),
    );
    await testApp.flushEvents();
    const archived = await testApp.app.inject({
      method: 'PATCH',
      url: `/commerce/products/${C!.id}`,
      headers: shop.auth,
      payload: { active: false },
    });
    expect(archived.statusCode).toBe(200);
  });

  afterAll(async () => {
    await testApp?.close();
  });

  it('ranks what is bought together by cosine, so that a best seller does not drown the rest', async () => {
    const { A, B, E } = products;
    const answer = await recommend(shop, `product_id=${A!.id}`);
    expect(answer.strategy).toBe('frequently_bought_together');
    expect(answer.items.map((item) => item.name)).toEqual(['Product B', 'Product E']);
    // A is in 13 paid orders, B in 5, E in 34; together 4 times each.
    expect(answer.items[0]).toEqual({ product_id: B!.id, sku: 'SKU-B', name: 'Product B', score: 0.496139 });
    expect(answer.items[1]!.product_id).toBe(E!.id);
    expect(answer.items[1]!.score).toBeCloseTo(4 / Math.sqrt(13 * 34), 6);
    expect((await recommend(shop, `product_id=${A!.id}&limit=1`)).items.map((item) => item.name)).toEqual([
      'Product B',
    ]);
  });

  it('never recommends an inactive product, an unpaid pairing or the product itself', async () => {
    const { A, B, C, D } = products;
    const forA = await recommend(shop, `product_id=${A!.id}&limit=50`);
    const ids = forA.items.map((item) => item.product_id);
    expect(ids).not.toContain(C!.id);
    expect(ids).not.toContain(D!.id);
    expect(ids).not.toContain(A!.id);
    const forB = await recommend(shop, `product_id=${B!.id}`);
    expect(forB.items.map((item) => item.name)).toEqual(['Product A', 'Product F']);
  });

  it("falls back to the tenant's best sellers", async () => {
    const { G, E } = products;
    for (const query of [`product_id=${G!.id}`, '']) {
      const answer = await recommend(shop, query);
      expect(answer.strategy).toBe('popular');
      // Paid orders: E 34, A 13, B 5, F 1; C is archived, D and G were never paid for.
      expect(answer.items.map((item) => item.name)).toEqual([
        'Product E',
        'Product A',
        'Product B',
        'Product F',
      ]);
      expect(answer.items[0]).toMatchObject({ product_id: E!.id, score: 1 });
    }
    const popularWithoutE = await recommend(shop, `product_id=${E!.id}`);
    expect(popularWithoutE.strategy).toBe('frequently_bought_together');
    expect(popularWithoutE.items.map((item) => item.name)).toEqual(['Product A']);
  });

  it('leaves the product itself out whatever the case of its id', async () => {
    // A tenant of its own: its best sellers would change the other tests' lists.
    const store = await registerTenant(testApp);
    const { A0, A1, B0 } = await createProducts(store, ['A0', 'A1', 'B0']);
    await emitDated(testApp.platform.db, store.tenant.id, [
      ...times(3, () => order([A0!, A1!])),
      ...order([B0!]),
    ]);
    await testApp.flushEvents();
    const archived = await testApp.app.inject({
      method: 'PATCH',
      url: `/commerce/products/${A1!.id}`,
      headers: store.auth,
      payload: { active: false },
    });
    expect(archived.statusCode).toBe(200);
    // A0's only partner is archived: the best sellers, of which A0 is one, are the fallback.
    for (const id of [A0!.id, A0!.id.toUpperCase()]) {
      const answer = await recommend(store, `product_id=${id}`);
      expect(answer.strategy).toBe('popular');
      expect(answer.items.map((item) => item.name)).toEqual(['Product B0']);
    }
  });

  it("never shows another tenant's products or pairs", async () => {
    const answer = await recommend(otherShop, `product_id=${foreign.X!.id}`);
    expect(answer).toMatchObject({
      strategy: 'frequently_bought_together',
      items: [{ product_id: foreign.Y!.id }],
    });
    const mine = new Set(Object.values(products).map((product) => product.id));
    for (const item of (await recommend(otherShop, '')).items) expect(mine.has(item.product_id)).toBe(false);
    const foreignProduct = await testApp.app.inject({
      method: 'GET',
      url: `/api/analytics/recommendations?product_id=${products.A!.id}`,
      headers: otherShop.auth,
    });
    expect(foreignProduct.statusCode).toBe(404);
    expect(foreignProduct.json()).toMatchObject({ code: 'not_found' });
  });
});
