import { uuidv7, type EventDataMap } from '@tessera/contracts';
import { describe, expect, it } from 'vitest';
import { createEmptyDatabase } from '../../../test/support/database';
import { serviceAvailable } from '../../../test/support/services';
import { createDatabase } from '../../platform/db/database';
import { migrate, readMigrations } from '../../platform/db/migrate';
import { withTenant } from '../../platform/db/tenant';
import { AnalyticsService } from './service';
import { envelopeAt } from './testing';

const postgresUp = await serviceAvailable('postgres');

const PLACED = '2026-03-06T10:07:00.000Z';
const CANCELLED = '2026-03-07T09:00:00.000Z';

describe.runIf(postgresUp)('migration 0025 (cancelled orders)', () => {
  it('takes the orders cancelled before it out of the buckets they were placed in, and only once', async () => {
    const empty = await createEmptyDatabase();
    const database = await createDatabase({ databaseUrl: empty.url, dataDir: '', poolSize: 2 });
    const { db } = database;
    try {
      const migrations = readMigrations();
      await migrate(
        database,
        migrations.filter((migration) => migration.version < '0025'),
      );
      const tenantId = uuidv7();
      await db
        .insertInto('tenants')
        .values({ id: tenantId, name: 'Before 0025', time_zone: 'UTC' })
        .execute();
      // Placed in the same bucket: one cancelled later, one kept. A third, cancelled, whose
      // created event the store no longer holds: where it was placed is unknown, so it stays.
      const [cancelled, kept, unknown] = [uuidv7(), uuidv7(), uuidv7()];
      const created = (orderId: string, total: number): EventDataMap['commerce.order.created'] => ({
        order_id: orderId,
        number: 1,
        status: 'pending',
        payment_status: 'unpaid',
        currency: 'EUR',
        subtotal: total,
        total,
        customer_email: null,
        lines: [],
      });
      const cancellation = (
        orderId: string,
        total: number,
      ): EventDataMap['commerce.order.status_changed'] => ({
        order_id: orderId,
        number: 1,
        from: 'pending',
        to: 'cancelled',
        payment_status: 'unpaid',
        total,
        currency: 'EUR',
      });
      const stored = [
        envelopeAt(tenantId, 'commerce.order.created', new Date(PLACED), created(cancelled, 1_500)),
        envelopeAt(tenantId, 'commerce.order.created', new Date(PLACED), created(kept, 2_500)),
        envelopeAt(
          tenantId,
          'commerce.order.status_changed',
          new Date(CANCELLED),
          cancellation(cancelled, 1_500),
        ),
        envelopeAt(
          tenantId,
          'commerce.order.status_changed',
          new Date(CANCELLED),
          cancellation(unknown, 700),
        ),
      ];
      await db
        .insertInto('analytics_events')
        .values(
          stored.map((event) => ({
            tenant_id: tenantId,
            occurred_at: event.occurred_at,
            id: event.id,
            type: event.type,
            stream: 'events:commerce',
            version: 1,
            actor_type: 'system',
            actor_id: null,
            data: JSON.stringify(event.data),
          })),
        )
        .execute();
      await db
        .insertInto('analytics_orders')
        .values(
          [
            [cancelled, 1_500],
            [kept, 2_500],
            [unknown, 700],
          ].map(([orderId, total]) => ({
            tenant_id: tenantId,
            order_id: orderId as string,
            currency: 'EUR',
            total: total as number,
            lines: '[]',
            created_seen: true,
          })),
        )
        .execute();
      await db
        .insertInto('analytics_sales_buckets')
        .values([
          {
            tenant_id: tenantId,
            currency: 'EUR',
            bucket: '2026-03-06T10:00:00Z',
            orders: 2,
            order_value: 4_000,
          },
          {
            tenant_id: tenantId,
            currency: 'EUR',
            bucket: '2026-03-06T11:00:00Z',
            orders: 1,
            order_value: 700,
          },
        ])
        .execute();

      await migrate(database, migrations);

      const buckets = () =>
        db
          .selectFrom('analytics_sales_buckets')
          .select(['bucket', 'orders', 'order_value'])
          .orderBy('bucket')
          .execute();
      const expected = [
        { bucket: new Date('2026-03-06T10:00:00Z'), orders: 1, order_value: 2_500 },
        { bucket: new Date('2026-03-06T11:00:00Z'), orders: 1, order_value: 700 },
      ];
      expect(await buckets()).toEqual(expected);
      const orders = await db
        .selectFrom('analytics_orders')
        .select(['order_id', 'placed_at', 'cancelled_at'])
        .execute();
      expect(new Map(orders.map((row) => [row.order_id, [row.placed_at, row.cancelled_at]]))).toEqual(
        new Map([
          [cancelled, [new Date(PLACED), new Date(CANCELLED)]],
          [kept, [new Date(PLACED), null]],
          [unknown, [null, null]],
        ]),
      );
      // The metrics consumer, meeting the stored cancellation again, takes nothing more out.
      await withTenant(db, tenantId, (tx) => new AnalyticsService().applyMetrics(tx, [stored[2]!]));
      expect(await buckets()).toEqual(expected);
    } finally {
      await database.close();
      await empty.drop();
    }
  });
});
