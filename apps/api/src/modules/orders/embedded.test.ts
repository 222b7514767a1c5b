import { uuidv7 } from '@tessera/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryPGlite, type Database } from '../../platform/db/database';
import { migrate } from '../../platform/db/migrate';
import { withSystem, withTenant } from '../../platform/db/tenant';
import { SYSTEM_ACTOR } from '../../platform/events/outbox';
import { CatalogService } from '../catalog';
import { InventoryService } from '../inventory';
import { OrdersService } from './service';

/** The embedded default (PGlite, PostgreSQL 18 in WebAssembly) runs the same SQL. */
describe('commerce on the embedded database', () => {
  let database: Database;
  const tenantId = uuidv7();
  const who = { tenantId, actor: SYSTEM_ACTOR };
  const inventory = new InventoryService();
  const catalog = new CatalogService(inventory);
  const orders = new OrdersService(catalog, inventory);
  const inTenant = <T>(work: Parameters<typeof withTenant<T>>[2]) => withTenant(database.db, tenantId, work);

  beforeAll(async () => {
    database = await createMemoryPGlite();
    await migrate(database);
    await withSystem(database.db, (tx) =>
      tx.insertInto('tenants').values({ id: tenantId, name: 'Embedded' }).execute(),
    );
  });

  afterAll(async () => {
    await database?.close();
  });

  it('reserves, refuses a short order, cancels, fulfils and archives a referenced product', async () => {
    const product = await inTenant((tx) =>
      catalog.create(tx, tenantId, { sku: 'E-1', name: 'Lamp', price: 2500, currency: 'EUR' }),
    );
    await inTenant((tx) => inventory.set(tx, who, product.id, { on_hand: 3 }));
    const order = await inTenant((tx) =>
      orders.create(tx, who, { lines: [{ product_id: product.id, quantity: 2 }] }),
    );
    expect(order).toMatchObject({ number: 1, total: 5000, lines: [{ line_total: 5000 }] });
    await expect(
      inTenant((tx) => orders.create(tx, who, { lines: [{ product_id: product.id, quantity: 2 }] })),
    ).rejects.toMatchObject({
      code: 'insufficient_stock',
    });
    await inTenant((tx) => orders.cancel(tx, who, order.id));
    expect(await inTenant((tx) => inventory.get(tx, product.id))).toMatchObject({ on_hand: 3, reserved: 0 });
    expect(await inTenant((tx) => catalog.remove(tx, product.id))).toMatchObject({
      outcome: 'archived',
      product: { active: false },
    });
    const loose = await inTenant((tx) =>
      catalog.create(tx, tenantId, { sku: 'E-2', name: 'Rug', price: 100, currency: 'JPY' }),
    );
    expect(await inTenant((tx) => catalog.remove(tx, loose.id))).toEqual({ outcome: 'deleted' });
  });
});
