import { uuidv7 } from '@tessera/contracts';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { serviceAvailable } from '../../../test/support/services';
import { PLAN_EACH_TIME } from './pg-client';
import { withSystem, withTenant } from './tenant';

const postgresUp = await serviceAvailable('postgres');

describe.runIf(postgresUp)('the tuned PostgreSQL client', () => {
  let testDatabase: TestDatabase;
  const tenantId = uuidv7();

  beforeAll(async () => {
    // One connection: every statement below runs on the same one.
    testDatabase = await createTestDatabase({ poolSize: 1 });
    await withSystem(testDatabase.database.db, (tx) =>
      tx.insertInto('tenants').values({ id: tenantId, name: 'Tuned' }).execute(),
    );
  });

  afterAll(async () => {
    await testDatabase?.drop();
  });

  it('prepares a statement once it runs often, and it keeps answering correctly', async () => {
    const db = testDatabase.database.db;
    const probe = (n: number) =>
      sql<{ n: number }>`select ${n}::int + 1 as n /* prepared-probe */`.execute(db);
    for (let n = 0; n < 5; n++) expect((await probe(n)).rows).toEqual([{ n: n + 1 }]);
    const prepared = await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(
      db,
    );
    expect(prepared.rows.filter((row) => row.statement.includes('prepared-probe'))).toHaveLength(1);
  });

  it('never prepares a statement marked to be planned each time', async () => {
    const db = testDatabase.database.db;
    for (let n = 0; n < 5; n++) {
      const { rows } = await sql<{
        n: number;
      }>`${sql.raw(PLAN_EACH_TIME)} select ${n}::int + 1 as n /* planned-probe */`.execute(db);
      expect(rows).toEqual([{ n: n + 1 }]);
    }
    const prepared = await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(
      db,
    );
    expect(prepared.rows.filter((row) => row.statement.includes('planned-probe'))).toEqual([]);
  });

  it('opens a tenant transaction with its BEGIN and settings in one round trip, and still isolates it', async () => {
    const db = testDatabase.database.db;
    const inside = await withTenant(db, tenantId, async (tx) => {
      const { rows } = await sql<{ tenant: string; role: string; in_transaction: boolean }>`
        select current_setting('app.tenant_id') as tenant, current_user as role,
               now() = statement_timestamp() as in_transaction`.execute(tx);
      return rows[0]!;
    });
    expect(inside).toEqual({ tenant: tenantId, role: 'tessera_app', in_transaction: false });
    // The settings were local to that transaction.
    const after = await sql<{
      tenant: string | null;
    }>`select current_setting('app.tenant_id', true) as tenant`.execute(db);
    expect(after.rows[0]!.tenant ?? '').toBe('');
  });

  it('rolls back what a failed transaction wrote, and runs an empty one without error', async () => {
    const db = testDatabase.database.db;
    await expect(
      withTenant(db, tenantId, async (tx) => {
        await tx.updateTable('tenants').set({ name: 'Renamed' }).execute();
        throw new Error('rule broken');
      }),
    ).rejects.toThrow('rule broken');
    await withSystem(db, () => undefined);
    const { rows } = await sql<{ name: string }>`select name from tenants where id = ${tenantId}`.execute(db);
    expect(rows).toEqual([{ name: 'Tuned' }]);
  });

  it('refuses a tenant id that is not a UUID', async () => {
    await expect(withTenant(testDatabase.database.db, "x'; drop table tenants; --", () => 1)).rejects.toThrow(
      'not a tenant id',
    );
  });
});
