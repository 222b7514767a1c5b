import { uuidv7, type PaymentStatus } from '@tessera/contracts';
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/support/database';
import { serviceAvailable } from '../../../test/support/services';
import { createMemoryPGlite, type Database } from '../../platform/db/database';
import { migrate } from '../../platform/db/migrate';
import { withSystem, withTenant } from '../../platform/db/tenant';
import { paymentsRepository as repo } from './repository';
import { PAYMENT_TRANSITIONS } from './state-machine';

/** Every status, from the table that has one entry per status. */
const STATUSES = Object.keys(PAYMENT_TRANSITIONS) as PaymentStatus[];

interface Payment {
  status: PaymentStatus;
  amount: number;
  captured: number;
  refunded: number;
}

/** The rule the trigger keeps, stated again here: what a payment holds or is taking of its order. */
function committed(payment: Payment): number {
  switch (payment.status) {
    case 'pending':
    case 'unknown':
    case 'authorized':
      return payment.amount;
    case 'completed':
    case 'partially_refunded':
    case 'refunded':
      return payment.captured - payment.refunded;
    case 'failed':
    case 'voided':
      return 0;
  }
}

/** A payment's state with captured ≤ amount and refunded ≤ captured, as the table's checks demand. */
const stateArb = fc
  .record({
    status: fc.constantFrom(...STATUSES),
    amount: fc.integer({ min: 1, max: 10_000 }),
    capturedShare: fc.integer({ min: 0, max: 100 }),
    refundedShare: fc.integer({ min: 0, max: 100 }),
  })
  .map(({ status, amount, capturedShare, refundedShare }): Payment => {
    const captured = Math.floor((amount * capturedShare) / 100);
    return { status, amount, captured, refunded: Math.floor((captured * refundedShare) / 100) };
  });

const opArb = fc.oneof(
  fc.record({ kind: fc.constant('create' as const), order: fc.nat({ max: 1 }), state: stateArb }),
  fc.record({ kind: fc.constant('update' as const), pick: fc.nat(), state: stateArb }),
  fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }),
);

function balanceSuite(engine: string, open: () => Promise<{ database: Database; close(): Promise<void> }>) {
  describe(`payment order balances on ${engine}`, () => {
    let database: Database;
    let close: (() => Promise<void>) | undefined;
    const tenantId = uuidv7();

    beforeAll(async () => {
      const opened = await open();
      database = opened.database;
      close = () => opened.close();
      await withSystem(database.db, (tx) =>
        tx.insertInto('tenants').values({ id: tenantId, name: 'Balances' }).execute(),
      );
    });

    afterAll(async () => {
      await close?.();
    });

    it('equals, for every order, the sum of what its payments hold, whatever happens to them', async () => {
      let number = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { maxLength: 12 }), async (ops) => {
          const orders = [uuidv7(), uuidv7()];
          const payments = new Map<string, Payment & { order: string }>();
          await withTenant(database.db, tenantId, async (tx) => {
            for (const order of orders) {
              await sql`insert into orders (id, tenant_id, number, status, payment_status, currency, subtotal, total)
                        values (${order}, ${tenantId}, ${++number}, 'pending', 'unpaid', 'EUR', 0, 0)`.execute(
                tx,
              );
            }
            for (const op of ops) {
              const ids = [...payments.keys()];
              if (op.kind === 'create') {
                const id = uuidv7();
                const { status, amount, captured, refunded } = op.state;
                await sql`insert into payments (id, tenant_id, order_id, gateway, amount, currency, status, capture,
                                                amount_captured, amount_refunded)
                          values (${id}, ${tenantId}, ${orders[op.order]!}, 'manual', ${amount}, 'EUR', ${status},
                                  true, ${captured}, ${refunded})`.execute(tx);
                payments.set(id, { ...op.state, order: orders[op.order]! });
              } else if (ids.length > 0) {
                const id = ids[op.pick % ids.length]!;
                if (op.kind === 'update') {
                  const { status, amount, captured, refunded } = op.state;
                  await sql`update payments set status = ${status}, amount = ${amount},
                                                amount_captured = ${captured}, amount_refunded = ${refunded}
                            where id = ${id}`.execute(tx);
                  payments.set(id, { ...op.state, order: payments.get(id)!.order });
                } else {
                  await sql`delete from payments where id = ${id}`.execute(tx);
                  payments.delete(id);
                }
              }
            }
          });
          const expected = orders.map((order) =>
            [...payments.values()]
              .filter((payment) => payment.order === order)
              .reduce((sum, payment) => sum + committed(payment), 0),
          );
          const actual = await withTenant(database.db, tenantId, (tx) =>
            Promise.all(orders.map((order) => repo.committedToOrder(tx, order))),
          );
          expect(actual).toEqual(expected);
        }),
        { numRuns: 30 },
      );
    });

    it('refuses to move a payment to another order', async () => {
      const [from, to] = [uuidv7(), uuidv7()];
      const payment = uuidv7();
      await expect(
        withTenant(database.db, tenantId, async (tx) => {
          for (const [index, order] of [from, to].entries()) {
            await sql`insert into orders (id, tenant_id, number, status, payment_status, currency, subtotal, total)
                      values (${order}, ${tenantId}, ${1_000_000 + index}, 'pending', 'unpaid', 'EUR', 0, 0)`.execute(
              tx,
            );
          }
          await sql`insert into payments (id, tenant_id, order_id, gateway, amount, currency, status, capture)
                    values (${payment}, ${tenantId}, ${from}, 'manual', 100, 'EUR', 'pending', true)`.execute(
            tx,
          );
          await sql`update payments set order_id = ${to} where id = ${payment}`.execute(tx);
        }),
      ).rejects.toThrow('cannot move to another order');
    });
  });
}

describe.runIf(await serviceAvailable('postgres'))('on PostgreSQL', () => {
  balanceSuite('PostgreSQL', async () => {
    const testDatabase = await createTestDatabase({ poolSize: 2 });
    return { database: testDatabase.database, close: () => testDatabase.drop() };
  });
});

balanceSuite('PGlite', async () => {
  const database = await createMemoryPGlite();
  await migrate(database);
  return { database, close: () => database.close() };
});
