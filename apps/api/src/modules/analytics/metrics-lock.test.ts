import { setTimeout as sleep } from 'node:timers/promises';
import { uuidv7, type EventEnvelope } from '@tessera/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { serviceAvailable } from '../../../test/support/services';
import { withTenant } from '../../platform/db/tenant';
import { SYSTEM_ACTOR } from '../../platform/events/outbox';
import { AnalyticsService } from './service';
import { insertTenant } from './testing';

function stockUpdated(tenantId: string): EventEnvelope {
  return {
    id: uuidv7(),
    type: 'inventory.stock.updated',
    tenant_id: tenantId,
    occurred_at: new Date().toISOString(),
    version: 1,
    actor: SYSTEM_ACTOR,
    data: {
      product_id: uuidv7(),
      sku: 'LOCK-1',
      on_hand: 5,
      reserved: 0,
      available: 5,
      low_stock_threshold: 0,
      reason: 'set',
      delta_on_hand: 5,
      delta_reserved: 0,
      low_stock: false,
    },
  };
}

describe.runIf(await serviceAvailable('postgres'))('analytics metrics across workers', () => {
  let testDatabase: TestDatabase;

  beforeAll(async () => {
    testDatabase = await createTestDatabase({ poolSize: 4 });
  });

  afterAll(async () => {
    await testDatabase?.drop();
  });

  // Two workers' batches of one tenant used to lock shared rollup rows in opposite orders and
  // deadlock now and then (seen in the scale-out test); one at a time per tenant, they cannot.
  it("applies one batch of a tenant at a time, while other tenants' batches go on", async () => {
    const db = testDatabase.database.db;
    const [tenant, other] = [await insertTenant(db), await insertTenant(db)];
    const service = new AnalyticsService();
    let applied!: () => void;
    const firstApplied = new Promise<void>((resolve) => (applied = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const first = withTenant(db, tenant, async (tx) => {
      await service.applyMetrics(tx, [stockUpdated(tenant)]);
      applied();
      await released;
    });
    await firstApplied;

    let secondDone = false;
    const second = withTenant(db, tenant, (tx) => service.applyMetrics(tx, [stockUpdated(tenant)])).then(
      () => {
        secondDone = true;
      },
    );
    await withTenant(db, other, (tx) => service.applyMetrics(tx, [stockUpdated(other)]));
    await sleep(300);
    expect(secondDone).toBe(false);

    release();
    await Promise.all([first, second]);
    expect(secondDone).toBe(true);
    const snapshots = await withTenant(db, tenant, (tx) =>
      tx.selectFrom('analytics_stock').select('product_id').execute(),
    );
    expect(snapshots).toHaveLength(2);
  });
});
