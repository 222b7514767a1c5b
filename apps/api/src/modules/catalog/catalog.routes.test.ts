import { uuidv7 } from '@tessera/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/support/app';
import { addMember, registerTenant, type TestTenant, type TestUser } from '../../../test/support/auth';
import { serviceAvailable } from '../../../test/support/services';

const postgresUp = await serviceAvailable('postgres');

describe.runIf(postgresUp)('catalog routes', () => {
  let testApp: TestApp;
  let admin: TestTenant;
  let shopper: TestUser;
  let stranger: TestTenant;

  const call = (
    who: { auth: Record<string, string> },
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    payload?: unknown,
  ) =>
    testApp.app.inject({
      method,
      url,
      headers: who.auth,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });

  const create = (body: Record<string, unknown>, who: { auth: Record<string, string> } = admin) =>
    call(who, 'POST', '/commerce/products', body);

  beforeAll(async () => {
    testApp = await createTestApp();
    admin = await registerTenant(testApp);
    shopper = await addMember(testApp, admin, ['user']);
    stranger = await registerTenant(testApp);
  });

  afterAll(async () => {
    await testApp?.close();
  });

  it('creates a product with its stock level and reads it back', async () => {
    const created = await create({
      sku: 'MUG-1',
      name: 'Blue mug',
      description: 'Holds tea',
      price: 1299,
      currency: 'EUR',
    });
    expect(created.statusCode).toBe(201);
    const product = created.json();
    expect(product).toEqual({
      id: expect.any(String),
      sku: 'MUG-1',
      name: 'Blue mug',
      description: 'Holds tea',
      price: 1299,
      currency: 'EUR',
      active: true,
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    expect((await call(admin, 'GET', `/commerce/products/${product.id}`)).json()).toEqual(product);
    expect((await call(admin, 'GET', `/commerce/inventory/${product.id}`)).json()).toMatchObject({
      product_id: product.id,
      sku: 'MUG-1',
      on_hand: 0,
      reserved: 0,
      available: 0,
    });
    // A user-role member may read the catalog.
    expect((await call(shopper, 'GET', `/commerce/products/${product.id}`)).statusCode).toBe(200);
  });

  it('keeps SKUs unique per tenant (409 sku_taken), not across tenants', async () => {
    expect((await create({ sku: 'DUP', name: 'One', price: 100, currency: 'EUR' })).statusCode).toBe(201);
    const again = await create({ sku: 'DUP', name: 'Two', price: 100, currency: 'EUR' });
    expect(again.statusCode).toBe(409);
    expect(again.headers['content-type']).toContain('application/problem+json');
    expect(again.json()).toMatchObject({ code: 'sku_taken', status: 409 });
    expect(
      (await create({ sku: 'DUP', name: 'Theirs', price: 100, currency: 'EUR' }, stranger)).statusCode,
    ).toBe(201);
    const other = (await create({ sku: 'DUP-2', name: 'Other', price: 100, currency: 'EUR' })).json();
    const renamed = await call(admin, 'PATCH', `/commerce/products/${other.id}`, { sku: 'DUP' });
    expect(renamed.json()).toMatchObject({ code: 'sku_taken' });
  });

  it('validates money: integer minor units and ISO 4217 currencies', async () => {
    for (const body of [
      { sku: 'X1', name: 'x', price: 12.5, currency: 'EUR' },
      { sku: 'X2', name: 'x', price: -1, currency: 'EUR' },
      { sku: 'X3', name: 'x', price: 100, currency: 'eur' },
      { sku: 'X4', name: 'x', price: 100, currency: 'ABC' },
      { sku: 'X5', name: 'x', price: 100, currency: 'XAU' },
      { sku: ' X6', name: 'x', price: 100, currency: 'EUR' },
      { sku: 'X7', name: 'x', price: 100, currency: 'EUR', colour: 'red' },
      { sku: 'X8', price: 100, currency: 'EUR' },
    ]) {
      const answer = await create(body);
      expect(answer.statusCode, JSON.stringify(body)).toBe(400);
      expect(answer.json()).toMatchObject({
        code: 'validation_failed',
        errors: [expect.objectContaining({ path: expect.any(String) })],
      });
    }
    expect(
      (await create({ sku: 'YEN', name: 'Tea bowl', price: 4500, currency: 'JPY' })).json(),
    ).toMatchObject({ price: 4500, currency: 'JPY' });
    expect((await create({ sku: 'KWD', name: 'Lamp', price: 12_345, currency: 'KWD' })).statusCode).toBe(201);
  });

  it('changes a product; a currency change needs the price in the new currency', async () => {
    const product = (await create({ sku: 'CHG', name: 'Chair', price: 5000, currency: 'EUR' })).json();
    const patched = await call(admin, 'PATCH', `/commerce/products/${product.id}`, {
      name: 'Armchair',
      description: null,
    });
    expect(patched.json()).toMatchObject({ name: 'Armchair', description: null, price: 5000, sku: 'CHG' });
    expect(
      (await call(admin, 'PATCH', `/commerce/products/${product.id}`, { currency: 'JPY' })).json(),
    ).toMatchObject({
      code: 'validation_failed',
      errors: [{ path: 'price' }],
    });
    expect(
      (
        await call(admin, 'PATCH', `/commerce/products/${product.id}`, { currency: 'JPY', price: 7000 })
      ).json(),
    ).toMatchObject({
      currency: 'JPY',
      price: 7000,
    });
    expect((await call(admin, 'PATCH', `/commerce/products/${product.id}`, {})).statusCode).toBe(400);
  });

  it('searches by name or SKU, filters by active, and pages with a cursor', async () => {
    const tenant = await registerTenant(testApp);
    for (const [sku, name, active] of [
      ['TEA-1', 'Green tea', true],
      ['TEA-2', 'Black tea', false],
      ['COF-1', 'Coffee beans', true],
      ['COF-2', 'Teaspoon set', true],
      ['50%-OFF', 'Sale bin', true],
    ] as const) {
      expect((await create({ sku, name, price: 100, currency: 'EUR', active }, tenant)).statusCode).toBe(201);
    }
    const skus = async (query: string): Promise<string[]> =>
      (await call(tenant, 'GET', `/commerce/products${query}`))
        .json<{ data: { sku: string }[] }>()
        .data.map((p: { sku: string }) => p.sku);
    expect(await skus('?q=tea')).toEqual(['COF-2', 'TEA-1', 'TEA-2']);
    expect(await skus('?q=cof')).toEqual(['COF-1', 'COF-2']);
    expect(await skus('?q=tea&active=false')).toEqual(['TEA-2']);
    expect(await skus('?q=50%25')).toEqual(['50%-OFF']);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { data: { sku: string }[]; next_cursor: string | null } = (
        await call(tenant, 'GET', `/commerce/products?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
      ).json();
      expect(page.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.data.map((p) => p.sku));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual(['50%-OFF', 'COF-1', 'COF-2', 'TEA-1', 'TEA-2']);
    expect((await call(tenant, 'GET', '/commerce/products?limit=500')).statusCode).toBe(400);
  });

  it('lists the products asked for by id, and refuses a malformed id', async () => {
    const tenant = await registerTenant(testApp);
    const ids: string[] = [];
    for (const sku of ['ID-1', 'ID-2', 'ID-3']) {
      ids.push(
        (await create({ sku, name: sku, price: 100, currency: 'EUR' }, tenant)).json<{ id: string }>().id,
      );
    }
    const foreign = (
      await create({ sku: 'ID-X', name: 'Elsewhere', price: 100, currency: 'EUR' }, stranger)
    ).json<{
      id: string;
    }>().id;
    const listed = (
      await call(tenant, 'GET', `/commerce/products?id=${ids[2]}&id=${foreign}&id=${ids[0]}`)
    ).json<{ data: { sku: string }[]; next_cursor: string | null }>();
    // Another tenant's product is simply not there.
    expect(listed).toMatchObject({ data: [{ sku: 'ID-1' }, { sku: 'ID-3' }], next_cursor: null });
    const malformed = await call(tenant, 'GET', '/commerce/products?id=not-a-uuid');
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toMatchObject({ code: 'validation_failed' });
  });

  it('deletes an unreferenced product (204) and archives a product an order references', async () => {
    const loose = (await create({ sku: 'DEL-1', name: 'Gone', price: 100, currency: 'EUR' })).json();
    expect((await call(admin, 'DELETE', `/commerce/products/${loose.id}`)).statusCode).toBe(204);
    expect((await call(admin, 'GET', `/commerce/products/${loose.id}`)).statusCode).toBe(404);
    expect((await call(admin, 'GET', `/commerce/inventory/${loose.id}`)).statusCode).toBe(404);

    const sold = (await create({ sku: 'DEL-2', name: 'Sold', price: 100, currency: 'EUR' })).json();
    await call(admin, 'PUT', `/commerce/inventory/${sold.id}`, { on_hand: 3 });
    expect(
      (await call(admin, 'POST', '/commerce/orders', { lines: [{ product_id: sold.id, quantity: 1 }] }))
        .statusCode,
    ).toBe(201);
    const archived = await call(admin, 'DELETE', `/commerce/products/${sold.id}`);
    expect(archived.statusCode).toBe(200);
    expect(archived.json()).toMatchObject({ id: sold.id, active: false });
    expect((await call(admin, 'GET', `/commerce/products/${sold.id}`)).json()).toMatchObject({
      active: false,
    });
  });

  it('checks permissions: a user-role member cannot write products (403)', async () => {
    const refused = await create({ sku: 'NOPE', name: 'Nope', price: 100, currency: 'EUR' }, shopper);
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ code: 'forbidden' });
    const product = (await create({ sku: 'PERM', name: 'Perm', price: 100, currency: 'EUR' })).json();
    expect((await call(shopper, 'PATCH', `/commerce/products/${product.id}`, { name: 'x' })).statusCode).toBe(
      403,
    );
    expect((await call(shopper, 'DELETE', `/commerce/products/${product.id}`)).statusCode).toBe(403);
    expect((await testApp.app.inject({ method: 'GET', url: '/commerce/products' })).statusCode).toBe(401);
  });

  it("answers 404 for another tenant's product, and for unknown ids", async () => {
    const theirs = (
      await create({ sku: 'SECRET', name: 'Theirs', price: 100, currency: 'EUR' }, stranger)
    ).json();
    for (const [method, url] of [
      ['GET', `/commerce/products/${theirs.id}`],
      ['PATCH', `/commerce/products/${theirs.id}`],
      ['DELETE', `/commerce/products/${theirs.id}`],
      ['GET', `/commerce/products/${uuidv7()}`],
    ] as const) {
      const answer = await call(admin, method, url, method === 'PATCH' ? { name: 'mine now' } : undefined);
      expect(answer.statusCode, `${method} ${url}`).toBe(404);
      expect(answer.json()).toMatchObject({ code: 'not_found' });
    }
    expect((await call(admin, 'GET', '/commerce/products?q=SECRET')).json().data).toEqual([]);
    expect((await call(stranger, 'GET', `/commerce/products/${theirs.id}`)).json()).toMatchObject({
      name: 'Theirs',
    });
    expect((await call(admin, 'GET', '/commerce/products/not-a-uuid')).statusCode).toBe(400);
  });
});
